"""The real segment-analytics-python SDK, pointed at a live eCRM, builds one merged profile."""

import datetime as dt
from decimal import Decimal

import pytest
from segment.analytics import Client
from segment.analytics import request as segment_http

from ecrm.core import audit
from ecrm.customers.models import Customer
from ecrm.events import api as events
from ecrm.events import keys
from ecrm.figures import api as figures
from ecrm.orders import api as orders

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _hang_up():
    """The SDK keeps its HTTP connection alive, and with it a live-server thread and its
    database session; closing it lets the test database be dropped afterwards."""
    yield
    segment_http._session.close()


def sdk(live_server, **options) -> Client:
    key = keys.create_write_key(f"sdk-{len(options)}", actor=audit.SYSTEM)[1]
    return Client(write_key=key, host=live_server.url, sync_mode=True, max_retries=0, **options)


def test_segment_sdk_events_become_one_profile_with_its_order(live_server):
    """page + track as a visitor, identify, then an Order Completed (sent gzipped)."""
    client = sdk(live_server)
    gzipped = sdk(live_server, gzip=True)
    client.page(
        anonymous_id="visitor-42",
        name="Home",
        properties={"url": "https://shop.example/", "referrer": "https://www.baidu.com/"},
    )
    client.track(
        anonymous_id="visitor-42",
        event="Product Viewed",
        properties={"product_id": "SKU-TEA", "name": "龙井茶", "price": 168, "category": "茶叶"},
    )
    client.identify(
        user_id="shop-user-42",
        anonymous_id="visitor-42",
        traits={"name": "陈静", "email": "chen.jing@example.com", "phone": "13800138000"},
    )
    gzipped.track(
        user_id="shop-user-42",
        event="Order Completed",
        timestamp=dt.datetime(2026, 11, 11, 8, 0, tzinfo=dt.UTC),
        properties={
            "order_id": "T-1001",
            "currency": "CNY",
            "shipping": 12,
            "products": [{"product_id": "SKU-TEA", "name": "龙井茶", "price": 168, "quantity": 2}],
        },
    )

    profile = Customer.objects.get(merged_into__isnull=True)
    assert (profile.name, profile.email, profile.phone, profile.is_anonymous) == (
        "陈静", "chen.jing@example.com", "+8613800138000", False,
    )  # fmt: skip
    timeline = events.events_of(profile.pk)
    assert sorted((e.type, e.name) for e in timeline) == [
        ("identify", ""), ("page", "Home"), ("track", "Order Completed"),
        ("track", "Product Viewed"),
    ]  # fmt: skip
    assert {e.channel for e in timeline} == {"server"}
    order = orders.order_brief("T-1001")
    assert (order.customer_id, order.status, order.total) == (
        profile.pk, "paid", Decimal("348.0000"),
    )  # fmt: skip
    f = figures.figures_of(profile.pk)
    assert (f.order_count, f.revenue, f.distinct_products, f.distinct_categories) == (
        1, Decimal("348.0000"), 1, 1,
    )  # fmt: skip


def test_segment_sdk_alias_and_batched_flush(live_server):
    """Queued (non-sync) sends are flushed as one /v1/batch; alias joins the two ids."""
    key = keys.create_write_key("queued", actor=audit.SYSTEM)[1]
    client = Client(write_key=key, host=live_server.url, max_retries=0, upload_interval=0.05)
    for i in range(5):
        client.track(anonymous_id="anon-q", event=f"Step {i}")
    client.identify(user_id="member-q", traits={"name": "林峰"})
    client.alias(previous_id="anon-q", user_id="member-q")
    client.flush()
    client.join()

    profile = Customer.objects.get(merged_into__isnull=True)
    assert (profile.name, events.event_count_of(profile.pk)) == ("林峰", 7)
