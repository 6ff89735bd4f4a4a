"""Figures kept current by the tracking API equal a full rebuild from raw data, exactly."""

import pytest

from ecrm.events.tests.test_ecommerce_flow import order_completed
from ecrm.figures import api as figures
from ecrm.figures.models import CustomerFigures

pytestmark = pytest.mark.django_db

FIELDS = [f.name for f in CustomerFigures._meta.fields]


def _snapshot():
    return sorted(CustomerFigures.objects.values_list(*FIELDS))


def _page(message_id, at, anonymous_id="a-1", user_id=None):
    body = {
        "type": "page",
        "messageId": message_id,
        "anonymousId": anonymous_id,
        "timestamp": at,
        "name": "首页",
    }
    if user_id:
        body["userId"] = user_id
    return body


def test_incremental_figures_after_mixed_batches_equal_recompute(tracker):
    """Page views move last-seen only; orders, refunds and merges recompute; all equal."""
    assert (
        tracker.batch(
            _page("p1", "2026-11-01T08:00:00Z"),
            _page("p2", "2026-11-03T08:00:00.250Z"),
            _page("p3", "2026-11-02T08:00:00Z", anonymous_id="a-2"),
        ).status_code
        == 200
    )
    assert tracker.batch(order_completed(user_id="buyer")).status_code == 200
    assert (
        tracker.batch(
            _page("p4", "2026-11-20T09:30:00Z", anonymous_id="a-1", user_id="buyer"),
            _page("p5", "2026-11-05T00:00:00Z", anonymous_id="a-2"),
            {
                "type": "track",
                "userId": "buyer",
                "event": "Order Refunded",
                "messageId": "r1",
                "timestamp": "2026-11-21T00:00:00Z",
                "properties": {"order_id": "SO-1", "total": 20},
            },
        ).status_code
        == 200
    )
    incremental = _snapshot()
    figures.recompute_all()
    assert _snapshot() == incremental
    assert [row[8] is not None for row in incremental] == [True, True]
