"""Loyalty test helpers: a programme, customers and orders written through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ecrm.core import audit
from ecrm.customers import api as customers
from ecrm.loyalty import services
from ecrm.orders import api as orders

ACTOR = audit.Actor("test")
SETTINGS = {
    "join": "first_order",
    "earn_on": "paid",
    "point_value": "0.01",
    "expiry_days": 365,
    "tier_metric": "spend",
    "tier_window_days": 365,
    "tier_grace_days": 30,
    "festivals": [{"code": "double11", "name": "双十一", "days": ["11-11"]}],
}
TIERS = [
    {"code": "member", "name": "普通会员", "threshold": 0},
    {"code": "silver", "name": "银卡", "threshold": 1000, "multiplier": "1.5"},
    {"code": "gold", "name": "金卡", "threshold": 5000, "multiplier": 2},
]
BASE = (
    "消费积分",
    "",
    {
        "version": 1,
        "event": "order_completed",
        "award": {"type": "per_amount", "points": 1, "per": 1},
    },
)


def programme(rule_list=(BASE,), settings=None, tiers=None, enabled=True):
    return services.install_programme(
        actor=ACTOR,
        settings={**SETTINGS, **(settings or {})},
        tiers=tiers or TIERS,
        rule_list=list(rule_list),
        enabled=enabled,
    )


def customer(name="张伟", birthday=None):
    profile = {"name": name}
    if birthday:
        profile["birthday"] = birthday
    return customers.create_customer(profile=profile)


def order(customer_id, external_id, total, *, at, status="paid", sku="SKU-1", currency="CNY"):
    line = orders.LineInput(sku=sku, name="商品", quantity=Decimal(1), unit_price=Decimal(total))
    saved, _ = orders.record_order(
        orders.OrderInput(
            external_id=external_id, placed_at=at, currency=currency, lines=(line,), status=status
        ),
        customer_id=customer_id,
    )
    return saved


def day(y, m, d, h=12):
    return dt.datetime(y, m, d, h, tzinfo=dt.UTC)
