"""Report requests as data: validation names the bad part and lists what exists."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.analytics import rules


def test_unknown_dimension_lists_the_dimensions_that_exist():
    with pytest.raises(rules.ReportError) as caught:
        rules.parse_report({"dimensions": ["month", "colour"]})

    assert caught.value.field == "dimensions[1]"
    assert caught.value.message == (
        "unknown dimension 'colour'; the dimensions are: year, quarter, month, week, day, "
        "country, region, city, category, channel, department, store, employee, currency, segment"
    )


def test_unknown_filter_and_measure_name_their_path():
    with pytest.raises(rules.ReportError) as caught:
        rules.parse_report({"filters": {"colour": ["red"]}})
    assert caught.value.field == "filters.colour"

    with pytest.raises(rules.ReportError) as caught:
        rules.parse_report({"measures": ["revenue", "profit"]})
    assert caught.value.field == "measures[1]"
    assert caught.value.message.startswith("unknown measure 'profit'; the measures are: revenue,")


def test_order_level_measures_do_not_exist_per_category():
    with pytest.raises(rules.ReportError) as caught:
        rules.parse_report({"dimensions": ["category"], "measures": ["revenue", "discounts"]})

    assert caught.value.field == "measures[1]"
    assert "by category the measures are: revenue, orders, customers, aov, margin" in str(
        caught.value
    )


def test_time_filters_become_a_period_and_keep_the_narrowest():
    report = rules.parse_report(
        {
            "dimensions": ["day"],
            "filters": {"year": ["2025"], "month": ["2025-02"]},
            "from": "2025-02-10",
        }
    )

    assert (report.date_from, report.date_to) == (dt.date(2025, 2, 10), dt.date(2025, 2, 28))
    assert report.time_filters == (("year", "2025"), ("month", "2025-02"))


@pytest.mark.parametrize(
    "level, value, expected",
    [
        ("year", "2024", (dt.date(2024, 1, 1), dt.date(2024, 12, 31))),
        ("quarter", "2024-Q1", (dt.date(2024, 1, 1), dt.date(2024, 3, 31))),
        ("month", "2024-02", (dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
        ("week", "2024-12-30", (dt.date(2024, 12, 30), dt.date(2025, 1, 5))),
        ("day", "2024-03-05", (dt.date(2024, 3, 5), dt.date(2024, 3, 5))),
    ],
)
def test_time_range_of_each_level(level, value, expected):
    assert rules.time_range(level, value, "p") == expected


def test_a_week_is_named_by_its_monday_and_bad_values_say_what_is_expected():
    with pytest.raises(rules.ReportError, match="named by its Monday"):
        rules.time_range("week", "2024-12-31", "filters.week[0]")
    with pytest.raises(rules.ReportError, match=r"'2024-13' is not a month \(like 2025-03\)"):
        rules.parse_report({"filters": {"month": ["2024-13"]}})


def test_period_labels():
    assert [rules.period_label(level, dt.date(2025, 4, 1)) for level in rules.TIME_LEVELS] == [
        "2025",
        "2025-Q2",
        "2025-04",
        "2025-04-01",
        "2025-04-01",
    ]


def test_the_smallest_cube_that_keeps_every_level_answers():
    def cube(data):
        found = rules.choose_cube(rules.parse_report(data))
        return found.name if found else None

    assert cube({"dimensions": ["month", "channel"]}) == "sales_day"
    assert cube({"dimensions": ["region"]}) == "sales_region"
    assert cube({"dimensions": ["city"], "filters": {"employee": ["HZ01"]}}) == "sales_full"
    assert cube({"dimensions": ["category", "quarter"]}) == "items_month"
    # Day-level periods need a day cube; none keeps cities, so the facts answer.
    assert cube({"dimensions": ["city"], "from": "2025-01-15"}) is None
    assert cube({"dimensions": ["day"], "filters": {"region": ["浙江省"]}}) is None
    assert cube({"dimensions": ["segment"]}) is None


def test_drill_filters_on_the_row_and_groups_by_the_next_level():
    report = rules.parse_report({"dimensions": ["country", "year"], "measures": ["revenue"]})

    assert rules.drill(report, "country", "CN") == {
        "dimensions": ["region", "year"],
        "measures": ["revenue"],
        "filters": {"country": ["CN"]},
        "sort": "",
        "limit": rules.DEFAULT_LIMIT,
    }
    assert rules.drill(report, "year", "2025")["dimensions"] == ["country", "quarter"]
    assert rules.drill(rules.parse_report({"dimensions": ["city"]}), "city", "杭州市") is None


def test_contact_costs_read_the_value_settings_and_refuse_nonsense():
    per_channel, default = rules.contact_costs(
        {"contact_costs": {"phone": "8.5", "email": "-1", "sms": "x"}, "default_contact_cost": 2}
    )

    assert per_channel == {"phone": Decimal("8.5"), "email": Decimal(0), "sms": Decimal(0)}
    assert default == Decimal(2)


def test_member_status_by_last_seen():
    now = dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
    days = [None, 0, 29, 30, 89, 90]
    seen = [None if d is None else now - dt.timedelta(days=d) for d in days]

    assert [rules.member_status(s, now) for s in seen] == [
        "never",
        "active",
        "active",
        "recent",
        "recent",
        "lapsed",
    ]
