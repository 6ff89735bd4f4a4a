"""Which index each ledger query reads, on SQLite without planner statistics (a shop's
database that nobody has run ANALYZE on).

The totals index (kind, created_at, points) once took ``kind = 'earn'`` for the look-ups by
source and reference, and every such look-up read all earnings of the programme.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecrm.core import clock
from ecrm.loyalty import analytics, queries, services
from ecrm.loyalty.tests import factories as f
from ecrm.loyalty.tests.test_tracking import REVIEW

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="PostgreSQL plans from its own statistics"
    ),
]

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def ledger_plans(action) -> list[str]:
    """The plan of each statement ``action`` ran that reads the ledger."""
    with CaptureQueriesContext(connection) as ran:
        action()
    plans = []
    with connection.cursor() as cursor:
        for query in ran.captured_queries:
            sql = query["sql"]
            if sql.startswith("SELECT") and 'FROM "loyalty_pointsentry"' in sql:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plans.append(" / ".join(row[-1] for row in cursor.fetchall()))
    return plans


@pytest.fixture(autouse=True)
def no_statistics():
    """As on a database nobody has analyzed (tests that load the demo leave statistics)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'")
        if cursor.fetchone()[0]:
            cursor.execute("DELETE FROM sqlite_stat1")
            cursor.execute("ANALYZE sqlite_schema")  # the planner reloads the (no) statistics


@pytest.fixture
def member(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    f.programme(rule_list=[f.BASE, REVIEW])
    buyer = f.customer()
    f.order(buyer.pk, "SO-1", 120, at=f.day(2026, 11, 1))
    return buyer.pk


def test_look_ups_by_source_read_the_source_index(member):
    def earn():
        services.award_points(
            member, 10, source="campaign", source_ref="C-1", reason="活动", actor=f.ACTOR
        )
        activity = services.Activity(member, "review_written", "msg-1", NOW, "评价")
        services.record_activities([activity])

    plans = ledger_plans(earn)

    by_source = "SEARCH loyalty_pointsentry USING INDEX loyalty_entry_source_idx"
    by_customer = "SEARCH loyalty_pointsentry USING INDEX loyalty_entry_customer_idx"
    assert plans == [
        f"{by_source} (source=? AND source_ref=?)",  # award_points: earned once
        f"{by_customer} (customer_id=?)",  # record_activities: the review rule's monthly cap
        f"{by_source} (source=? AND source_ref=?)",  # record_activities: each event once
    ]


def test_totals_read_the_totals_index_alone(member):
    period = analytics.Period(dt.date(2026, 11, 1), dt.date(2026, 11, 20), "day")

    plans = ledger_plans(lambda: (queries.ledger_totals(), analytics.points_by_kind(period)))

    assert plans == [
        "SCAN loyalty_pointsentry USING COVERING INDEX loyalty_entry_totals_idx",
        "SEARCH loyalty_pointsentry USING COVERING INDEX loyalty_entry_totals_idx "
        "(kind=? AND created_at>? AND created_at<?)",
    ]
