"""The set-based path and the per-customer path give the same ledger on mixed data."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import transaction

from ecrm.catalog import api as catalog
from ecrm.core import clock
from ecrm.loyalty import bulk, services
from ecrm.loyalty.models import Membership, PointsDebit, PointsEntry, Programme, TierChange
from ecrm.loyalty.tests.factories import ACTOR, SETTINGS, TIERS, customer, programme
from ecrm.orders import api as orders

pytestmark = pytest.mark.django_db(transaction=False)
NOW = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)
ORDER = "order_completed"
RULES = [
    (
        "基础",
        "",
        {"version": 1, "event": ORDER, "award": {"type": "per_amount", "points": 1, "per": 1}},
    ),
    (
        "美元",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"currencies": ["USD"]},
            "award": {"type": "per_amount", "points": 7, "per": 1},
            "group": "base2",
            "priority": 3,
        },
    ),
    (
        "双十一",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"festivals": ["double11"]},
            "award": {"type": "multiplier", "factor": 2},
            "priority": 50,
            "group": "festival",
        },
    ),
    (
        "周末",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"weekdays": [6, 7]},
            "award": {"type": "multiplier", "factor": "1.5"},
            "priority": 40,
            "group": "festival",
            "cap": {"points": 300, "period": "month"},
        },
    ),
    (
        "生日月",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"birthday_month": True},
            "award": {"type": "fixed", "points": 88},
            "cap": {"points": 100, "period": "year"},
        },
    ),
    (
        "首单",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"nth_order": {"n": 1, "period": "ever"}},
            "award": {"type": "fixed", "points": 200},
            "priority": 20,
        },
    ),
    (
        "月第二单",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"nth_order": {"n": 2, "period": "month"}},
            "award": {"type": "fixed", "points": 30},
        },
    ),
    (
        "大单",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"amount": {"min": 500, "max": 5000}},
            "award": {"type": "fixed", "points": 100},
            "exclusive": True,
            "priority": 5,
        },
    ),
    (
        "母婴",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"categories": ["母婴"]},
            "award": {"type": "per_amount", "points": 2, "per": 10, "basis": "matching_lines"},
            "priority": 10,
        },
    ),
    (
        "品牌",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"brands": ["华为"], "tiers": ["gold"]},
            "award": {"type": "fixed", "points": 55},
            "priority": 8,
        },
    ),
    (
        "模范",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"special": True},
            "award": {"type": "multiplier", "factor": "1.2"},
            "priority": 1,
        },
    ),
    (
        "老会员",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"tenure_years": {"min": 1}},
            "award": {"type": "fixed", "points": 11},
        },
    ),
    (
        "春季",
        "",
        {
            "version": 1,
            "event": ORDER,
            "when": {"date_range": {"from": "2025-03-01", "to": "2025-05-31"}},
            "award": {"type": "fixed", "points": 7},
            "cap": {"points": 20, "period": "week"},
        },
    ),
]
SKUS = [("P-1", "母婴/纸尿裤", "帮宝适"), ("P-2", "数码/手机", "华为"), ("P-3", "图书", "中信")]


def _load(rng: random.Random) -> list[int]:
    catalog.upsert_products(
        [catalog.ProductInput(sku=s, name=s, category=c, brand=b) for s, c, b in SKUS]
    )
    ids = []
    n = 0
    for i in range(40):
        birthday = dt.date(1990, rng.randint(1, 12), 5) if i % 2 else None
        c = customer(f"客户{i}", birthday=birthday.isoformat() if birthday else None)
        ids.append(c.pk)
        at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=rng.randint(0, 400))
        for _k in range(rng.randint(1, 9)):
            n += 1
            at += dt.timedelta(hours=rng.choice([1, 5, 30, 200, 700]), seconds=rng.randint(0, 59))
            if rng.random() < 0.15:
                at = at.replace(month=11, day=11) if at.month < 11 else at
            lines = tuple(
                orders.LineInput(
                    sku=s,
                    name=s,
                    quantity=Decimal(1),
                    unit_price=Decimal(rng.randint(5, 900)) + Decimal("0.35"),
                )
                for s, _c, _b in rng.sample(SKUS, rng.randint(1, 3))
            )
            status = rng.choice(["paid", "paid", "delivered", "shipped", "placed", "cancelled"])
            currency = "USD" if rng.random() < 0.1 else "CNY"
            orders.record_order(
                orders.OrderInput(
                    external_id=f"SO-{n}",
                    placed_at=at,
                    currency=currency,
                    lines=lines,
                    status=status,
                ),
                customer_id=c.pk,
            )
            if status == "delivered" and rng.random() < 0.5:
                orders.record_return(
                    orders.ReturnInput(
                        external_id=f"R-{n}",
                        returned_at=at,
                        currency=currency,
                        order_external_id=f"SO-{n}",
                        amount=Decimal(rng.randint(1, 200)),
                    ),
                    customer_id=c.pk,
                )
        if i % 3 == 0:  # members from before, some with a higher tier, some special
            services.join(c.pk, actor=ACTOR, at=dt.datetime(2023, 6, 1, tzinfo=dt.UTC))
            Membership.objects.filter(pk=c.pk).update(
                tier=rng.choice(["member", "silver", "gold"]), special=bool(i % 2)
            )
    return ids


def _ledger():
    lots = dict(PointsEntry.objects.filter(points__gt=0).values_list("pk", "source_ref"))
    entries = sorted(
        (
            e.customer_id,
            e.kind,
            e.points,
            e.source,
            lots.get(int(e.source_ref), "") if e.kind == "expire" else e.source_ref,
            e.reason,
            e.detail,
            e.created_at,
            e.expires_at and e.expires_at.replace(microsecond=0),
        )
        for e in PointsEntry.objects.all()
    )
    debits = sorted((lots[d.lot_id], d.points) for d in PointsDebit.objects.all())
    members = sorted(
        Membership.objects.values_list(
            "customer_id",
            "number",
            "joined_at",
            "channel",
            "tier",
            "special",
            "points",
            "below_since",
        )
    )
    changes = sorted(TierChange.objects.values_list("customer_id", "from_tier", "to_tier"))
    return entries, debits, members, changes


def test_bulk_and_per_customer_award_the_same(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    programme(
        rule_list=RULES,
        settings={**SETTINGS, "expiry_days": 200, "starts_on": "2025-01-10"},
        tiers=TIERS,
        enabled=False,
    )
    ids = _load(random.Random(7))
    Programme.objects.update(enabled=True)
    with transaction.atomic():
        services.reconcile_customers(ids, now=NOW)
        services.expire_points(NOW)
        one_by_one = _ledger()
        transaction.set_rollback(True)
    assert PointsEntry.objects.count() == 0
    result = bulk.award_all(now=NOW)
    together = _ledger()
    assert result.awarded_orders > 60
    assert len({e[6]["rules"][0]["name"] for e in together[0] if e[1] == "earn"}) >= 5
    missing, extra = _diff(together[0], one_by_one[0])
    assert extra == []
    assert missing == []
    assert together[1:] == one_by_one[1:]
    # And a second run changes nothing.
    bulk.award_all(now=NOW)
    assert _ledger() == together


def _diff(a, b):
    sa, sb = set(map(repr, a)), set(map(repr, b))
    return sorted(sa - sb)[:5], sorted(sb - sa)[:5]


def test_bulk_in_chunks_of_customers_awards_as_all_at_once(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    programme(
        rule_list=RULES,
        settings={**SETTINGS, "expiry_days": 200, "starts_on": "2025-01-10"},
        tiers=TIERS,
        enabled=False,
    )
    ids = _load(random.Random(11))
    Programme.objects.update(enabled=True)
    with transaction.atomic():
        bulk.award_all(now=NOW)
        at_once = _ledger()
        transaction.set_rollback(True)
    assert PointsEntry.objects.count() == 0
    first = bulk.award_all(customer_ids=ids[:17], now=NOW)
    assert first.awarded_orders > 0
    assert set(PointsEntry.objects.values_list("customer_id", flat=True)) <= set(ids[:17])
    bulk.award_all(customer_ids=ids[17:], now=NOW)
    assert _ledger() == at_once
    assert len(at_once[0]) > 60
