"""A deterministic shop big enough to fit the customer-value models: 40 buyers with 1-4
orders each at varied gaps and amounts, plus one customer who never ordered."""

from __future__ import annotations

import datetime as dt

from ecrm.customers.tests import factories as f
from ecrm.figures import api as figures

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章"


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days, hours=1)


def plan(k: int) -> list[tuple[float, str]]:
    """(days ago, total) of customer k's orders, oldest first."""
    orders = 1 + (k * 7) % 4
    last = 2 + (k * 37) % 300
    gap = 12 + (k * 13) % 50
    return [
        (last + gap * (orders - 1 - j), f"{60 + (k * 29) % 240 + 15 * j}.00") for j in range(orders)
    ]


def buyers(count: int = 40) -> dict[str, int]:
    ids = {}
    for k in range(count):
        pk = f.customer(f"{SURNAMES[k]}{k}").pk
        for j, (days, total) in enumerate(plan(k)):
            f.order(pk, f"V-{k}-{j}", total=total, placed_at=ago(days))
        ids[f"c{k}"] = pk
    ids["never"] = f.customer("宁静").pk
    figures.recompute_all()
    return ids
