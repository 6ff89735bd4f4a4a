"""Through the tracking API: an Order Completed event earns (with 双十一 double points),
a Product Reviewed event earns review points once, a repeated message earns nothing."""

import base64
import json

import pytest

from ecrm.core import audit
from ecrm.customers.models import Customer
from ecrm.events import keys
from ecrm.loyalty import api
from ecrm.loyalty.models import PointsEntry
from ecrm.loyalty.tests.factories import BASE, programme

pytestmark = pytest.mark.django_db

DOUBLE = (
    "双十一双倍积分",
    "",
    {
        "version": 1,
        "event": "order_completed",
        "when": {"festivals": ["double11"]},
        "award": {"type": "multiplier", "factor": 2},
        "priority": 5,
    },
)
REVIEW = (
    "写评价得积分",
    "",
    {
        "version": 1,
        "event": "review_written",
        "award": {"type": "fixed", "points": 20},
        "cap": {"points": 40, "period": "month"},
    },
)


def test_orders_and_reviews_from_the_tracking_api_earn(client):
    programme(rule_list=[BASE, DOUBLE, REVIEW])
    key = keys.create_write_key("shop", actor=audit.SYSTEM)[1]
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}

    def send(*messages):
        response = client.post(
            "/v1/batch",
            data=json.dumps({"batch": list(messages)}),
            content_type="application/json",
            **auth,
        )
        assert response.status_code == 200

    send(
        {
            "type": "track",
            "userId": "u-1",
            "event": "Order Completed",
            "messageId": "m-1",
            "timestamp": "2025-11-11T02:00:00Z",
            "properties": {
                "order_id": "SO-1",
                "currency": "CNY",
                "products": [{"product_id": "P-1", "price": 120, "quantity": 1}],
            },
        }
    )
    member = Customer.objects.get(identities__value="u-1")
    assert api.balance(member.pk) == 240
    review = {
        "type": "track",
        "userId": "u-1",
        "event": "Product Reviewed",
        "timestamp": "2025-11-12T02:00:00Z",
        "properties": {"product_id": "P-1"},
    }
    send(
        {**review, "messageId": "m-2"},
        {**review, "messageId": "m-3"},
        {**review, "messageId": "m-4"},
    )
    send({**review, "messageId": "m-2"})  # the same message again
    assert api.balance(member.pk) == 240 + 40  # capped at 40 a month
    assert sorted(
        PointsEntry.objects.filter(source="event").values_list("source_ref", "points")
    ) == [("m-2", 20), ("m-3", 20)]


def test_points_earned_by_an_event_or_taken_by_staff_move_segment_members_at_once(client):
    """A segment over points re-checks the member when an activity earns points and when
    staff take points away; neither is an order, so the order flow would not see them."""
    from ecrm.segments import services as segments
    from ecrm.segments.models import MembershipChange

    programme(rule_list=[BASE, REVIEW])
    key = keys.create_write_key("shop", actor=audit.SYSTEM)[1]
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    order = {
        "type": "track",
        "userId": "u-9",
        "event": "Order Completed",
        "messageId": "m-90",
        "timestamp": "2025-11-01T02:00:00Z",
        "properties": {
            "order_id": "SO-9",
            "currency": "CNY",
            "products": [{"product_id": "P-1", "price": 120, "quantity": 1}],
        },
    }
    review = {**order, "event": "Product Reviewed", "messageId": "m-91"}
    review["properties"] = {"product_id": "P-1"}
    for message in (order, review):
        response = client.post(
            "/v1/batch",
            data=json.dumps({"batch": [message]}),
            content_type="application/json",
            **auth,
        )
        assert response.status_code == 200
        if message is order:
            member = Customer.objects.get(identities__value="u-9")
            assert api.balance(member.pk) == 120
            segment = segments.save_segment(
                name="积分满130",
                definition={
                    "version": 1,
                    "match": {"all": [{"loyalty": "points", "op": "gte", "value": 130}]},
                },
                actor=audit.SYSTEM,
            )
    assert api.balance(member.pk) == 140
    api.adjust_points(member.pk, -20, reason="补偿撤回", actor=audit.SYSTEM)
    assert list(
        MembershipChange.objects.filter(segment_id=segment.pk)
        .order_by("pk")
        .values_list("customer_id", "kind", "reason")
    ) == [(member.pk, "entered", "points"), (member.pk, "left", "points")]
