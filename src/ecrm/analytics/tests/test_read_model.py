"""The read model on a small shop: exact report figures, and the per-customer refresh
leaves the same cells as a full rebuild."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from ecrm.analytics import queries, rules, services
from ecrm.analytics.models import (
    Activity,
    ActivityCell,
    Cell,
    CustomerCell,
    Fact,
    ItemFact,
    Snapshot,
)
from ecrm.analytics.tests import factories as shop
from ecrm.core.audit import SYSTEM
from ecrm.customers import api as customers
from ecrm.orders import api as orders

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Labels such as "(none)" and "All" are translated; these tests read the English ones."""
    with translation.override("en"):
        yield


@pytest.fixture
def data(staff_factory):
    agent = staff_factory("agent", "service_agent")
    people = shop.shop(agent)
    services.rebuild()
    return people


def report(**request):
    return queries.run_report(rules.parse_report(request))


def table(result):
    return [(row.labels, row.values) for row in result.rows]


def test_revenue_orders_customers_by_month_in_shop_days(data):
    result = report(
        dimensions=["month"],
        measures=["revenue", "orders", "customers", "new_customers", "discounts", "returns"],
    )

    assert table(result) == [
        (
            ("2025-01",),
            {
                "revenue": Decimal("190.00"),
                "orders": 1,
                "customers": 1,
                "new_customers": 1,
                "discounts": Decimal("20.00"),
                "returns": Decimal("0.00"),
            },
        ),
        (
            ("2025-02",),
            {
                "revenue": Decimal("130.00"),
                "orders": 3,
                "customers": 2,
                "new_customers": 1,
                "discounts": Decimal("0.00"),
                "returns": Decimal("40.00"),
            },
        ),
    ]
    assert result.totals == {
        "revenue": Decimal("320.00"),
        "orders": 4,
        "customers": 2,
        "new_customers": 2,
        "discounts": Decimal("20.00"),
        "returns": Decimal("40.00"),
    }
    assert (result.source, result.currency) == ("sales_day", "CNY")


def test_margin_leaves_out_lines_without_cost_and_says_how_much(data):
    result = report(measures=["margin", "cost", "cost_coverage", "margin_rate", "aov"])

    assert result.totals == {
        "margin": Decimal("160.00"),
        "cost": Decimal("140.00"),
        "cost_coverage": 300 / 330,
        "margin_rate": 160 / 300,
        "aov": Decimal("80.00"),
    }


def test_categories_roll_up_to_their_parent_and_drill_into_children(data):
    top = report(dimensions=["category"], measures=["revenue", "orders", "customers", "margin"])

    assert table(top) == [
        (
            ("食品",),
            {
                "revenue": Decimal("200.00"),
                "orders": 3,
                "customers": 2,
                "margin": Decimal("120.00"),
            },
        ),
        (
            ("家居",),
            {"revenue": Decimal("130.00"), "orders": 2, "customers": 1, "margin": Decimal("40.00")},
        ),
    ]
    # An order touching two categories counts once in the total.
    assert top.totals["orders"] == 4
    assert top.totals["revenue"] == Decimal("330.00")

    with translation.override("en"):
        down = queries.run_report(rules.parse_report(top.rows[1].drill["category"]))
    assert table(down) == [
        (
            ("杯子",),
            {"revenue": Decimal("130.00"), "orders": 2, "customers": 1, "margin": Decimal("40.00")},
        ),
    ]
    assert [label for label, _ in down.breadcrumbs] == ["All", "Product category: 家居"]


def test_returns_by_category_follow_their_lines(data):
    result = report(dimensions=["category"], measures=["returns"], filters={"month": ["2025-02"]})

    assert table(result) == [
        (("食品",), {"returns": Decimal("40.00")}),
        (("家居",), {"returns": Decimal("0.00")}),
    ]


def test_region_drills_to_city_and_counts_contacts_at_the_customers_place(data):
    result = report(
        dimensions=["region"],
        measures=["revenue", "orders", "contacts", "service_cost"],
        sort="region",
    )

    assert table(result) == [
        (
            ("(none)",),
            {
                "revenue": Decimal("50.00"),
                "orders": 1,
                "contacts": 0,
                "service_cost": Decimal("0.00"),
            },
        ),
        (
            ("广东省",),
            {
                "revenue": Decimal("50.00"),
                "orders": 1,
                "contacts": 0,
                "service_cost": Decimal("0.00"),
            },
        ),
        (
            ("浙江省",),
            {
                "revenue": Decimal("220.00"),
                "orders": 2,
                "contacts": 1,
                "service_cost": Decimal("8.00"),
            },
        ),
    ]
    city = queries.run_report(rules.parse_report(result.rows[2].drill["region"]))
    assert table(city)[0][0] == ("杭州市",)
    assert city.totals["revenue"] == Decimal("220.00")


def test_day_level_periods_read_the_facts(data):
    result = report(
        dimensions=["employee"],
        measures=["orders", "revenue"],
        **{"from": "2025-02-02", "to": "2025-02-28"},
    )

    assert result.source == "facts"
    assert table(result) == [
        (("(none)",), {"orders": 1, "revenue": Decimal("50.00")}),
        (("HZ01",), {"orders": 1, "revenue": Decimal("30.00")}),
        (("agent",), {"orders": 0, "revenue": Decimal("0.00")}),  # a contact, no order
    ]


def test_funnel_repeat_buyers_and_cohorts(data):
    february = queries.funnel("m", dt.date(2025, 2, 1))

    assert [(s["key"], s["customers"]) for s in february["stages"]] == [
        ("visitors", 3),
        ("viewers", 1),
        ("carters", 0),
        ("buyers", 2),
        ("repeat_buyers", 1),
    ]
    series = queries.activity_series("m")
    assert [
        (r["label"], r["buyers"], r["new_buyers"], r["repeat_buyers"], r["repeat_rate"])
        for r in series
    ] == [("2025-01", 1, 1, 0, 0.0), ("2025-02", 2, 1, 1, 0.5)]
    assert queries.activity_series("y")[0]["buyers"] == 2
    assert queries.cohorts()["rows"] == [
        {"cohort": "2025-01", "size": 1, "counts": [1, 1], "rates": [1.0, 1.0]},
        {"cohort": "2025-02", "size": 1, "counts": [1], "rates": [1.0]},
    ]


def test_members_snapshot(data):
    members = queries.members()

    assert (members["members"], members["anonymous"]) == (2, 1)
    assert members["by_region"] == [(("CN", "广东省"), 1), (("CN", "浙江省"), 1)]


def _state():
    def rows(model, fields):
        return sorted(tuple(str(v) for v in row) for row in model.objects.values_list(*fields))

    cell_fields = [f.name for f in Cell._meta.fields if f.name != "id"]
    return {
        "cells": rows(Cell, cell_fields),
        "activity": rows(
            Activity, ["customer_id", "grain", "period", "cohort", "flags", "orders", "revenue"]
        ),
        "activity_cells": rows(
            ActivityCell, [f.name for f in ActivityCell._meta.fields if f.name != "id"]
        ),
        "facts": rows(Fact, ["kind", "source_id", "customer_id", "day", "revenue", "returned"]),
        "items": rows(ItemFact, ["kind", "source_id", "customer_id", "category_id", "line_sales"]),
        "customer_cells": rows(
            CustomerCell, [f.name for f in CustomerCell._meta.fields if f.name != "id"]
        ),
    }


def test_refreshing_changed_customers_equals_a_full_rebuild(data):
    a, b = data["a"], data["b"]
    # Each of these calls flows.orders_changed, which marks the customers it touched.
    shop.order(
        b.pk,
        "o6",
        shop.at("2025-03-02"),
        [("CUP-1", 2, 100)],
        channel="app",
        country="CN",
        region="广东省",
        city="深圳市",
    )
    orders.set_order_status("o1", "cancelled", actor=SYSTEM)
    orders.record_return(
        orders.ReturnInput(
            external_id="r2",
            returned_at=shop.at("2025-03-05"),
            currency="CNY",
            order_external_id="o6",
            amount=Decimal(100),
        ),
        customer_id=None,
    )
    customers.merge_customers(b.pk, a.pk, actor=SYSTEM)
    # Each of those calls marked its customers; the worker's job refreshes them.
    assert services.refresh_pending() == 2
    assert services.refresh_pending() == 0
    incremental = _state()

    services.rebuild()

    assert incremental == _state()
    assert report(measures=["customers", "orders"]).totals == {"customers": 1, "orders": 4}


def test_guest_orders_are_refreshed_as_a_group(data):
    shop.order(None, "o7", shop.at("2025-03-01"), [("TEA-1", 1, 50)], channel="web")
    assert services.refresh_pending() == 1  # the guest orders, as one group
    incremental = _state()

    services.rebuild()

    assert incremental == _state()


def test_catch_up_adds_browsing_and_contacts_like_a_rebuild(data, staff_factory):
    from ecrm.contacts import api as contacts
    from ecrm.core.audit import Actor

    c = data["c"]
    shop.event(c.pk, "Product Viewed", shop.at("2025-03-03"))
    contacts.log_contact(
        customer_id=data["b"].pk,
        channel="email",
        direction="out",
        summary="回访",
        actor=Actor("test"),
        occurred_at=shop.at("2025-03-04"),
    )
    assert queries.funnel("m", dt.date(2025, 3, 1))["stages"][1]["customers"] == 0

    done = services.catch_up()

    assert done["customers"] == 2
    assert queries.funnel("m", dt.date(2025, 3, 1))["stages"][1]["customers"] == 1
    caught_up = _state()
    services.rebuild()
    assert caught_up == _state()


# Reports whose distinct customers the customer cells answer, each row being one cell.
CELL_SHAPES = [
    {"dimensions": ["region"]},
    {"dimensions": ["city"], "filters": {"region": ["浙江省"]}},
    {"dimensions": ["city"]},
    {"dimensions": ["channel", "month"], "filters": {"year": ["2025"]}},
    {"dimensions": ["quarter", "channel"]},
    {"dimensions": ["store"], "filters": {"month": ["2025-02"]}},
    {"dimensions": ["category"]},
    {"dimensions": ["category", "month"], "filters": {"category": ["1"]}},
    {"dimensions": ["country"], "filters": {"month": ["2025-01"]}},
    {"dimensions": ["region"], "filters": {"region": ["浙江省"]}},
    {"dimensions": ["channel"], "filters": {"quarter": ["2025-Q1"]}},
]
# Reports counted on the facts: two dimensions no path keeps together, a row made of
# several cells (HZ01 sold in two stores), several values of a filter, a week, a segment
# of days.
FACT_SHAPES = [
    {"dimensions": ["region", "channel"]},
    {"dimensions": ["employee"]},
    {"filters": {"channel": ["app", "web"]}},
    {"dimensions": ["week"], "filters": {"month": ["2025-02"]}},
    {"dimensions": ["region"], "from": "2025-01-15", "to": "2025-02-14"},
]


def _customers(request):
    result = report(measures=["customers", "orders"], **request)
    return [(r.keys, r.values["customers"]) for r in result.rows], result.totals["customers"]


def test_distinct_customers_from_the_cells_equal_counting_the_facts(data, monkeypatch):
    from ecrm.analytics import queries as analytics_queries

    a, b = data["a"], data["b"]
    # A buys in a second region and channel; HZ01 sells in a second store.
    shop.order(a.pk, "o8", shop.at("2025-02-21"), [("CUP-1", 1, 100)], channel="web",
               country="CN", region="广东省", city="深圳市", store="深圳南山店",
               department="零售门店部", employee="HZ01")  # fmt: skip
    shop.order(b.pk, "o9", shop.at("2025-03-01"), [("TEA-1", 3, 50)], channel="app",
               country="CN", region="广东省", city="广州市")  # fmt: skip
    services.refresh_pending()
    for request in CELL_SHAPES + FACT_SHAPES:
        request.setdefault("filters", {})
        if request["filters"].get("category") == ["1"]:
            request["filters"]["category"] = [str(data["a"].pk and _category_id("食品"))]

    def no_facts(*args, **kwargs):
        raise AssertionError(f"counted on the facts: {args[0].report}")

    with monkeypatch.context() as patch:
        patch.setattr(analytics_queries, "_customers_on_facts", no_facts)
        from_cells = [_customers(r) for r in CELL_SHAPES]
    mixed = [_customers(r) for r in FACT_SHAPES]
    Snapshot.objects.filter(part="customers").delete()  # as before any rebuild wrote cells
    assert from_cells == [_customers(r) for r in CELL_SHAPES]
    assert mixed == [_customers(r) for r in FACT_SHAPES]
    assert from_cells[0] == ([(("广东省",), 2), (("浙江省",), 1), (("",), 0)], 2)
    assert from_cells[2][1] == 2 and sorted(from_cells[2][0]) == [
        (("",), 0),
        (("广州市",), 1),
        (("杭州市",), 1),
        (("深圳市",), 2),
    ]
    assert mixed[1][0][:2] == [(("",), 2), (("HZ01",), 1)]


def _category_id(name):
    from ecrm.catalog.models import Category

    return Category.objects.get(name=name, parent=None).pk


def test_refreshing_the_new_owner_of_a_moved_order_refreshes_the_old_one_too(data):
    from ecrm.orders.models import Order

    # A corrected import re-points B's order at A; only A is refreshed.
    Order.objects.filter(external_id="o3").update(customer_id=data["a"].pk)

    services.refresh_customers([data["a"].pk])

    incremental = _state()
    services.rebuild()
    assert incremental == _state()
    assert _customers({"dimensions": ["region"], "filters": {}})[1] == 1
