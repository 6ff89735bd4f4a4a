"""``compute_profit``: each customer's value and cost, and the settings that price it."""

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecrm.catalog import api as catalog
from ecrm.contacts import api as contacts
from ecrm.core.audit import SYSTEM
from ecrm.customers.tests import factories as f
from ecrm.orders import api as orders
from ecrm.value import api, rules
from ecrm.value.models import CustomerProfit, ProfitRun

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
CHANNELS = {"phone", "email", "sms", "chat", "wechat", "fax", "web", "visit"}


def line(sku, quantity, price, kind="product"):
    return orders.LineInput(
        sku=sku, name=sku, quantity=Decimal(quantity), unit_price=Decimal(price), kind=kind
    )


def place(customer_id, number, *lines, discount="0", status="paid", days=10):
    order = orders.OrderInput(
        external_id=number,
        placed_at=NOW - days * DAY,
        currency="CNY",
        status=status,
        discount=Decimal(discount),
        lines=lines,
    )
    return orders.record_order(order, customer_id=customer_id)[0]


def talk(customer_id, channel, times=1):
    for _ in range(times):
        contacts.log_contact(
            customer_id=customer_id,
            channel=channel,
            direction="in",
            summary="问订单",
            actor=SYSTEM,
            occurred_at=NOW - DAY,
        )


def shop() -> dict[str, int]:
    """Product P1 costs 60 (sold at 100); P2 has no cost.

    A: 2 x P1 less a 20 discount, 1 x P2 at 50; sends one P1 back (refund 100); two
       phone calls and an e-mail. B: only a cancelled order and a chat. C: 1 x P1 and a
       postage fee of 10.
    """
    catalog.upsert_products(
        [
            catalog.ProductInput(sku="P1", name="保温杯", price=Decimal(100), cost=Decimal(60)),
            catalog.ProductInput(sku="P2", name="帆布袋", price=Decimal(50)),
        ]
    )
    a, b, c = (f.customer(n).pk for n in ("安娜", "白露", "陈晨"))
    place(a, "A-1", line("P1", 2, "100"), discount="20")
    place(a, "A-2", line("P2", 1, "50"))
    orders.record_return(
        orders.ReturnInput(
            external_id="R-1",
            returned_at=NOW - 5 * DAY,
            currency="CNY",
            order_external_id="A-1",
            lines=(line("P1", 1, "100"),),
        ),
        customer_id=a,
    )
    talk(a, "phone", 2)
    talk(a, "email")
    place(b, "B-1", line("P1", 5, "100"), status="cancelled")
    talk(b, "chat")
    place(c, "C-1", line("P1", 1, "100"), line("POST", 1, "10", kind="fee"))
    return {"a": a, "b": b, "c": c}


def stored(pk):
    row = CustomerProfit.objects.get(customer_id=pk)
    return {
        k: getattr(row, k)
        for k in (
            "orders",
            "revenue",
            "product_cost",
            "estimated_cost_revenue",
            "margin",
            "discounts",
            "points_redeemed",
            "refunds",
            "returned_cost",
            "contacts",
            "service_cost",
            "profit",
        )
    }


def d(value: str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.0001"))


def test_profit_of_each_customer():
    """Unknown cost at the shop's own ratio on known lines: (2x60 + 60) / (200 + 100) = 0.6.
    A: margin 250 - (120 + 0.6 x 50) = 100; profit 100 - 20 - (100 - 60) - (2 x 8 + 1) = 23.
    B: the cancelled order counts for nothing; a chat costs 4. C: the fee is not revenue."""
    ids = shop()
    run = api.compute_profit(now=NOW)
    assert run.applied_cost_ratio == 0.6
    assert stored(ids["a"]) == {
        "orders": 2,
        "revenue": d("250"),
        "product_cost": d("150"),
        "estimated_cost_revenue": d("50"),
        "margin": d("100"),
        "discounts": d("20"),
        "points_redeemed": d("0"),
        "refunds": d("100"),
        "returned_cost": d("60"),
        "contacts": 3,
        "service_cost": d("17"),
        "profit": d("23"),
    }
    assert stored(ids["b"])["profit"] == d("-4")
    assert (stored(ids["b"])["orders"], stored(ids["b"])["revenue"]) == (0, d("0"))
    assert stored(ids["c"])["revenue"] == d("100")
    assert stored(ids["c"])["profit"] == d("40")
    assert run.customers == 3
    assert run.totals["profit"] == 59.0
    assert run.totals["unprofitable"] == 1
    assert run.points_source == "loyalty"


def test_settings_price_contacts_and_unknown_costs():
    """Phone at 10, unknown costs at 40 %: A's product cost 120 + 20, profit 110 - 20 - 40
    - (2 x 10 + 1) = 29."""
    ids = shop()
    run = api.compute_profit(
        now=NOW, settings={"contact_costs": {"phone": 10}, "unknown_cost_ratio": 0.4}
    )
    assert stored(ids["a"])["profit"] == d("29")
    assert run.settings["contact_costs"]["phone"] == 10.0
    # The nightly run repeats the latest settings.
    again = api.compute_profit(now=NOW)
    assert (again.settings, stored(ids["a"])["profit"]) == (run.settings, d("29"))


def test_bad_settings_name_the_field():
    with pytest.raises(rules.SettingsError, match=r"\$.contact_costs.pigeon: unknown channel"):
        rules.parse_profit_settings({"contact_costs": {"pigeon": 1}}, CHANNELS)
    with pytest.raises(rules.SettingsError, match=r"\$.unknown_cost_ratio: must be at most 1"):
        rules.parse_profit_settings({"unknown_cost_ratio": 1.5}, CHANNELS)
    with pytest.raises(rules.SettingsError, match=r"\$.contact_costs.phone: must be a number"):
        rules.parse_profit_settings({"contact_costs": {"phone": "8"}}, CHANNELS)
    with pytest.raises(rules.SettingsError, match=r"\$.colour: unknown setting"):
        rules.parse_profit_settings({"colour": 1}, CHANNELS)
    assert ProfitRun.objects.count() == 0


def test_profit_command_takes_costs_and_refuses_bad_ones(tmp_path):
    ids = shop()
    out = StringIO()
    call_command("value", "profit", "--contact-cost", "phone=10", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["customers"], report["settings"]["contact_costs"]["phone"]) == (3, 10.0)
    assert stored(ids["a"])["service_cost"] == d("21")
    with pytest.raises(CommandError, match="--contact-cost 'phone': expected CHANNEL=COST"):
        call_command("value", "profit", "--contact-cost", "phone")
    bad = tmp_path / "costs.json"
    bad.write_text('{"contact_costs": {"phone": -1}}')
    with pytest.raises(CommandError, match=r"costs.json: \$.contact_costs.phone: must be 0"):
        call_command("value", "profit", "--settings", str(bad))
    bad.write_text('{"contact_costs": ')
    with pytest.raises(CommandError, match="costs.json: line 1: Expecting value"):
        call_command("value", "profit", "--settings", str(bad))
