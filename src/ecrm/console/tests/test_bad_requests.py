"""Requests the console cannot use are a 400 page in its language, never a 500."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_parameter_is_a_400_page_in_the_consoles_language(agent_client):
    """PostgreSQL's driver refuses NUL in text: a search for ``%00`` answered 500 there."""
    chinese = agent_client.get("/customers/?q=%00")
    english = agent_client.get("/products/?q=a%00", HTTP_ACCEPT_LANGUAGE="en")

    assert chinese.status_code == 400
    assert "q:含有 NUL 字符" in chinese.content.decode()
    assert english.status_code == 400
    assert "q: contains a NUL character" in english.content.decode()


def test_the_error_pages_share_one_layout(agent_client, signed_in):
    """404, 403 and 400 pages: the code, the heading in the console's language, the way back."""
    from ecrm.staff.models import Role

    missing = agent_client.get("/customers/999999/").content.decode()
    refused = signed_in(Role.ANALYST).get("/imports/").content.decode()
    for page, code, heading in (
        (missing, "404", "此页面不存在"),
        (refused, "403", "您没有执行此操作的权限"),
    ):
        assert f'<div class="code">{code}</div>' in page
        assert heading in page
        assert "返回仪表盘" in page


@pytest.mark.parametrize(
    "path",
    [
        "/customers/?q=%C2%B2",
        "/customers/?q=%23%C2%B2",
        "/customers/?after=%C2%B2",
        "/orders/?customer=%C2%B2",
        "/loyalty/members/?q=%C2%B2",
        "/loyalty/members/?q=99999999999999999999999",
        "/promotions/referrals/?before=%C2%B2",
    ],
)
def test_numbers_int_refuses_or_no_key_holds_match_nothing(admin_client_, path):
    """``"²".isdigit()`` is true and ``int("²")`` fails; 10**22 overflows SQLite's driver.
    Typed into a search box or a link's parameter, each answered 500."""
    assert admin_client_.get(path).status_code == 200


def test_a_customer_search_for_a_number_no_key_holds_finds_nobody(admin_client_):
    from ecrm.customers import queries

    assert queries.search_customers("#99999999999999999999999").items == []
    assert queries.search_customers("\u00b2").items == []


@pytest.mark.parametrize(
    ("path", "status", "shown"),
    [
        (
            "/analytics/staff/?to=9999-12-31",
            400,
            "to: must be a date from 1900-01-01 to 2999-12-31",
        ),
        (
            "/analytics/staff/?from=2026-02-01&to=2026-01-01",
            400,
            "to: the period ends before it starts",
        ),
        ("/analytics/report/?to=9999-12-31", 400, "must be a date from 1900-01-01 to 2999-12-31"),
        # The loyalty page shows its default period under the message.
        ("/loyalty/analytics/?end=0001-01-01", 200, "must be a date from 1900-01-01 to 2999-12-31"),
    ],
)
def test_report_dates_outside_the_calendar_are_named_on_the_page(
    admin_client_, path, status, shown
):
    """The day after 9999-12-31 and 90 days before 0001-01-01 do not exist: both were 500s."""
    response = admin_client_.get(path, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == status
    assert shown in response.content.decode()
