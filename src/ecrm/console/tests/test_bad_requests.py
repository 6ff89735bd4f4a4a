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
