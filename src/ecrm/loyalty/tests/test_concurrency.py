"""50 redemptions at the same moment against one balance, each on its own connection:
never more than the balance is spent (SQLite serialises writers; PostgreSQL locks the
member's row)."""

import threading

import pytest
from django.db import connection

from ecrm.loyalty import api
from ecrm.loyalty.models import PointsEntry
from ecrm.loyalty.tests.factories import ACTOR, customer, programme

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_redemptions_never_overspend():
    programme()
    c = customer()
    api.award_points(c.pk, 1_000, source="campaign", source_ref="C-1", reason="", actor=ACTOR)
    start = threading.Barrier(50)
    outcome: dict[int, str] = {}

    def redeem(i: int) -> None:
        try:
            start.wait()
            api.spend_points(
                c.pk, 30, source="checkout", source_ref=f"CK-{i}", reason="", actor=ACTOR
            )
            outcome[i] = "ok"
        except api.InsufficientPoints:
            outcome[i] = "short"
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome.values()).count("ok") == 33  # 33 × 30 = 990 of 1,000
    assert list(outcome.values()).count("short") == 17
    assert api.balance(c.pk) == 10
    assert PointsEntry.objects.filter(kind="spend").count() == 33
