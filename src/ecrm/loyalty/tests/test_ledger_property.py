"""Whatever the sequence of orders, refunds, redemptions, adjustments and expiries, the
balance equals the replayed ledger, the member's copy equals it, the lots less the debts
equal it, and a redemption succeeds exactly when the balance covers it."""

import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm.core import clock
from ecrm.loyalty import api, queries, rules, services
from ecrm.loyalty.models import Membership, PointsEntry
from ecrm.loyalty.tests.factories import ACTOR, customer, programme
from ecrm.orders import api as orders

pytestmark = pytest.mark.django_db

START = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(1, 500)),
        st.tuples(st.just("refund"), st.integers(0, 20)),
        st.tuples(st.just("return"), st.integers(0, 20), st.integers(1, 300)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("redeem"), st.integers(1, 700)),
        st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool)),
        st.tuples(st.just("wait"), st.integers(1, 60)),
    ),
    min_size=1,
    max_size=25,
)


def _check(customer_id: int) -> int:
    movements = [
        rules.Movement(pk, pts, at, exp, kind)
        for pk, pts, at, exp, kind in PointsEntry.objects.filter(customer_id=customer_id)
        .order_by("pk")
        .values_list("pk", "points", "created_at", "expires_at", "kind")
    ]
    replayed, _lots = rules.replay(movements)
    balance = api.balance(customer_id)
    assert balance == replayed
    assert Membership.objects.get(pk=customer_id).points == balance
    left = sum(lot.remaining for lot in queries.lots(customer_id))
    owed = sum(n for _d, n in queries.outstanding_debits(customer_id))
    assert left - owed == balance
    assert all(lot.remaining >= 0 for lot in queries.lots(customer_id))
    return balance


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=steps)
def test_the_balance_is_the_replayed_ledger(monkeypatch, sequence):
    now = {"at": START}
    monkeypatch.setattr(clock, "now", lambda: now["at"])
    with transaction.atomic():
        programme(settings={"expiry_days": 90})
        c = customer()
        placed: list[str] = []
        redeemed = 0
        for n, step in enumerate(sequence):
            kind = step[0]
            now["at"] += dt.timedelta(hours=1)
            if kind == "order":
                number = f"SO-{n}"
                line = orders.LineInput(sku="S", quantity=Decimal(1), unit_price=Decimal(step[1]))
                orders.record_order(
                    orders.OrderInput(
                        external_id=number,
                        placed_at=now["at"],
                        currency="CNY",
                        lines=(line,),
                        status="paid",
                    ),
                    customer_id=c.pk,
                )
                placed.append(number)
            elif kind in ("refund", "cancel") and placed:
                number = placed[step[1] % len(placed)]
                target = "refunded" if kind == "refund" else "cancelled"
                with contextlib.suppress(orders.OrderError):  # not from its current status
                    orders.set_order_status(number, target, actor=ACTOR)
            elif kind == "return" and placed:
                number = placed[step[1] % len(placed)]
                orders.record_return(
                    orders.ReturnInput(
                        external_id=f"R-{n}",
                        returned_at=now["at"],
                        currency="CNY",
                        order_external_id=number,
                        amount=Decimal(step[2]),
                    ),
                    customer_id=c.pk,
                )
            elif kind == "redeem":
                before = api.balance(c.pk)
                try:
                    after = api.spend_points(
                        c.pk,
                        step[1],
                        source="checkout",
                        source_ref=f"CK-{n}",
                        reason="",
                        actor=ACTOR,
                    )
                    assert before >= step[1] and after == before - step[1]
                    redeemed += step[1]
                except api.InsufficientPoints as refused:
                    assert refused.balance == before < step[1]
            elif kind == "adjust" and api.is_member(c.pk):
                before = api.balance(c.pk)
                try:
                    services.adjust_points(c.pk, step[1], reason="test", actor=ACTOR)
                except api.InsufficientPoints:
                    assert before < -step[1]
            elif kind == "wait":
                now["at"] += dt.timedelta(days=step[1])
                services.expire_points(now["at"])
            if api.is_member(c.pk):
                _check(c.pk)
        assert -sum(PointsEntry.objects.filter(kind="spend").values_list("points", flat=True)) == (
            redeemed
        )
        transaction.set_rollback(True)
