"""The analytics pages, exports and JSON API on the small shop."""

import csv
import io
import json
import zipfile

import pytest
from django.test import Client

from ecrm.analytics import services
from ecrm.analytics.tests import factories as shop
from ecrm.staff.models import Role

pytestmark = pytest.mark.django_db

PAGES = [
    "/analytics/",
    "/analytics/funnel/",
    "/analytics/retention/",
    "/analytics/report/",
    "/analytics/staff/?from=",
]


@pytest.fixture
def analyst(staff_factory):
    agent = staff_factory("agent", Role.SERVICE_AGENT)
    shop.shop(agent)
    services.rebuild()
    client = Client()
    client.force_login(staff_factory("ana", Role.ANALYST))
    return client


def test_every_page_renders_with_its_charts_for_an_analyst(analyst):
    for page in PAGES:
        response = analyst.get(page)
        assert response.status_code == 200, page
        assert b'class="chart"' in response.content, page


def test_a_service_agent_may_not_open_the_reports(staff_factory):
    client = Client()
    client.force_login(staff_factory("agent2", Role.SERVICE_AGENT))

    assert [client.get(page).status_code for page in PAGES] == [403] * len(PAGES)


def test_report_rows_link_to_their_drill_down_and_back(analyst):
    response = analyst.get("/analytics/report/?dims=region&measures=revenue,orders")
    html = response.content.decode()

    assert (
        'href="?dims=city&amp;measures=revenue%2Corders&amp;f.region=%E6%B5%99%E6%B1%9F%E7%9C%81"'
        in html
    )

    drilled = analyst.get(
        "/analytics/report/?dims=city&measures=revenue,orders&f.region=浙江省"
    ).content.decode()
    assert "杭州市" in drilled
    assert 'href="?dims=region&amp;measures=revenue%2Corders"' in drilled  # the "All" crumb


def test_report_with_an_unknown_dimension_says_which_exist(analyst):
    response = analyst.get("/analytics/report/?dims=colour", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "unknown dimension &#x27;colour&#x27;; the dimensions are: year, quarter" in (
        response.content.decode()
    )


def test_a_refused_report_is_explained_in_the_pages_language(analyst):
    wrong = "/analytics/report/?dims=month&from=2025-03-01&to=2025-02-01"

    english = analyst.get(wrong, HTTP_ACCEPT_LANGUAGE="en")
    chinese = analyst.get(wrong, HTTP_ACCEPT_LANGUAGE="zh-hans")
    bad_month = analyst.get(
        "/analytics/report/?dims=day&f.month=2025-13", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert english.status_code == chinese.status_code == bad_month.status_code == 400
    assert '<div class="callout" role="alert">the period ends before it starts</div>' in (
        english.content.decode()
    )
    assert (
        '<div class="callout" role="alert">结束日期早于开始日期</div>' in chinese.content.decode()
    )
    assert "&#x27;2025-13&#x27; 不是月份（例如 2025-03）" in bad_month.content.decode()


def test_report_exports_csv_with_totals(analyst):
    response = analyst.get("/analytics/report/?dims=month&measures=revenue,orders&export=csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1:] == [
        ["2025-01", "190.00", "1"],
        ["2025-02", "130.00", "3"],
        [rows[3][0], "320.00", "4"],
    ]


def test_cohorts_export_as_xlsx(analyst):
    response = analyst.get("/analytics/retention/?export=xlsx")

    assert response["Content-Disposition"].startswith('attachment; filename="retention-cohorts-')
    book = zipfile.ZipFile(io.BytesIO(response.content))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="B2" s="2"><v>1</v></c>' in sheet or "<v>1</v>" in sheet
    strings = book.read("xl/sharedStrings.xml").decode()
    assert "2025-01" in strings and "2025-02" in strings


def test_api_report_and_its_errors(analyst):
    ok = analyst.post(
        "/api/analytics/report",
        json.dumps(
            {"dimensions": ["channel"], "measures": ["revenue", "orders"], "sort": "channel"}
        ),
        content_type="application/json",
    )
    assert ok.status_code == 200
    body = ok.json()
    assert [(r["keys"], r["values"]) for r in body["rows"]] == [
        (["app"], {"revenue": 190.0, "orders": 1}),
        (["phone"], {"revenue": 0.0, "orders": 0}),
        (["store"], {"revenue": 30.0, "orders": 1}),
        (["web"], {"revenue": 100.0, "orders": 2}),
    ]
    assert body["totals"] == {"revenue": 320.0, "orders": 4}

    bad = analyst.post(
        "/api/analytics/report",
        json.dumps({"dimensions": ["colour"]}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "dimensions[0]"
    assert bad.json()["error"].startswith(
        "dimensions[0]: unknown dimension 'colour'; the dimensions are: year, quarter, month"
    )


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (
            {"date_from": "2025-03-01", "date_to": "2025-02-01"},
            {"error": "date_to: the period ends before it starts", "field": "date_to"},
        ),
        (
            {"date_from": "9999-01-01"},
            {
                "error": "date_from: must be a date from 1900-01-01 to 2999-12-31",
                "field": "date_from",
            },
        ),
    ],
)
def test_api_report_names_the_period_as_its_body_does(analyst, period, expected):
    """The rules call the period from/to (the console's query string); the API body says
    date_from/date_to, and its errors named fields the body does not have."""
    response = analyst.post(
        "/api/analytics/report",
        json.dumps({"dimensions": ["month"], **period}),
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (400, expected)


def test_api_cohorts_and_activity(analyst):
    cohorts = analyst.get("/api/analytics/cohorts").json()
    activity = analyst.get("/api/analytics/activity?grain=y").json()

    assert [(c["cohort"], c["size"], c["rates"]) for c in cohorts] == [
        ("2025-01", 1, [1.0, 1.0]),
        ("2025-02", 1, [1.0]),
    ]
    assert [(a["label"], a["buyers"], a["repeat_buyers"]) for a in activity] == [("2025", 2, 1)]


def test_staff_kpis_count_members_each_employee_recruited(analyst):
    from ecrm.core.audit import SYSTEM
    from ecrm.customers.models import Customer
    from ecrm.loyalty import api as loyalty

    a = Customer.objects.get(name="张伟")
    loyalty.join(a.pk, actor=SYSTEM, recruited_by="HZ01", at=shop.at("2025-02-03"))

    response = analyst.get("/analytics/staff/?from=2025-01-01&to=2025-12-31&export=csv")

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1:] == [
        ["HZ01", "1", "30.00", "0", "1", "0", "0.00"],
        ["agent", "0", "0.00", "0", "0", "1", "8.00"],
    ]
