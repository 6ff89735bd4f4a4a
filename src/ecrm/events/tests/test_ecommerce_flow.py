"""E-commerce Spec v2 events through /v1: catalogue, orders, returns and figures, exactly."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.catalog.models import Product
from ecrm.customers.models import Customer
from ecrm.events.models import Event
from ecrm.figures import api as figures
from ecrm.orders import api as orders
from ecrm.orders.models import Order, OrderLine, Return

pytestmark = pytest.mark.django_db

PLACED = "2026-11-11T00:10:00Z"
CUP = {
    "product_id": "SKU-CUP",
    "sku": "CUP-1",
    "name": "保温杯",
    "price": 89.9,
    "quantity": 2,
    "category": "家居/杯具",
    "brand": "膳魔师",
}
SPOON = {"product_id": "SKU-SPOON", "name": "勺子", "price": "12.5", "category": "家居/杯具"}


def order_completed(order_id="SO-1", user_id="buyer", message_id="oc-1", **extra):
    return {
        "type": "track",
        "userId": user_id,
        "event": "Order Completed",
        "messageId": message_id,
        "timestamp": PLACED,
        "properties": {
            "order_id": order_id,
            "shipping": 10,
            "discount": "5.3",
            "tax": 0,
            "coupon": "DOUBLE11",
            "currency": "CNY",
            "products": [CUP, SPOON],
            **extra,
        },
    }


def buyer() -> Customer:
    return Customer.objects.get(identities__kind="user_id", identities__value="buyer")


def test_product_viewed_upserts_the_catalogue(tracker):
    response = tracker.post(
        "track",
        {
            "anonymousId": "a1",
            "event": "Product Viewed",
            "properties": {
                **CUP,
                "url": "https://shop.example/cup",
                "image_url": "https://img.example/cup.jpg",
            },
        },
    )
    assert response.status_code == 200
    p = Product.objects.select_related("category", "brand").get()
    assert (p.sku, p.name, p.price, p.category.code, p.brand.name, p.url, p.image_url) == (
        "SKU-CUP", "保温杯", Decimal("89.9000"), "家居/杯具", "膳魔师",
        "https://shop.example/cup", "https://img.example/cup.jpg",
    )  # fmt: skip


def test_list_events_upsert_every_product_once(tracker):
    response = tracker.batch(
        {"type": "track", "anonymousId": "a", "event": "Product List Viewed",
         "properties": {"products": [CUP, SPOON]}},
        {"type": "track", "anonymousId": "a", "event": "Cart Viewed",
         "properties": {"products": [{"product_id": "SKU-CUP"}]}},
        {"type": "track", "anonymousId": "a", "event": "Checkout Started",
         "properties": {"products": [{"product_id": "SKU-FORK", "name": "叉子"}]}},
        {"type": "track", "anonymousId": "a", "event": "Products Searched",
         "properties": {"query": "杯子"}},
    )  # fmt: skip
    assert response.status_code == 200
    assert sorted(Product.objects.values_list("sku", "name")) == [
        ("SKU-CUP", "保温杯"), ("SKU-FORK", "叉子"), ("SKU-SPOON", "勺子"),
    ]  # fmt: skip


def test_order_completed_records_a_paid_order_with_exact_totals_and_figures(tracker):
    """Lines 2 × 89.90 + 12.50; total = 192.30 - 5.30 + 10 = 197.00; figures follow."""
    response = tracker.batch(order_completed())
    assert response.status_code == 200
    order = Order.objects.get()
    assert (
        order.external_id, order.status, order.customer_id, order.currency, order.subtotal,
        order.discount, order.shipping, order.total, order.coupon, order.placed_at,
    ) == (
        "SO-1", "paid", buyer().pk, "CNY", Decimal("192.3000"), Decimal("5.3000"),
        Decimal("10.0000"), Decimal("197.0000"), "DOUBLE11",
        dt.datetime(2026, 11, 11, 0, 10, tzinfo=dt.UTC),
    )  # fmt: skip
    lines = OrderLine.objects.order_by("line_no").values_list("sku", "quantity", "amount")
    assert list(lines) == [
        ("SKU-CUP", Decimal("2.000"), Decimal("179.8000")),
        ("SKU-SPOON", Decimal("1.000"), Decimal("12.5000")),
    ]
    f = figures.figures_of(buyer().pk)
    assert (f.order_count, f.revenue, f.average_order_value, f.distinct_products,
            f.distinct_categories, f.last_order_at) == (
        1, Decimal("197.0000"), Decimal("197.0000"), 2, 1,
        dt.datetime(2026, 11, 11, 0, 10, tzinfo=dt.UTC),
    )  # fmt: skip


def test_explicit_total_wins(tracker):
    assert tracker.batch(order_completed(total=150)).status_code == 200
    assert Order.objects.get().total == Decimal("150.0000")


def test_order_completed_twice_with_the_same_message_id_counts_once(tracker):
    tracker.batch(order_completed())
    tracker.batch(order_completed())
    assert figures.figures_of(buyer().pk).order_count == 1


def test_order_completed_with_default_currency(tracker, settings):
    message = order_completed()
    del message["properties"]["currency"]
    assert tracker.batch(message).status_code == 200
    assert Order.objects.get().currency == settings.ECRM["CURRENCY"]


def test_order_updated_keeps_customer_and_status(tracker):
    """An update from another device replaces the content, not the buyer or the status."""
    tracker.batch(order_completed())
    response = tracker.post(
        "track",
        {
            "anonymousId": "backend-job",
            "event": "Order Updated",
            "timestamp": "2026-11-12T09:00:00Z",
            "properties": {"order_id": "SO-1", "products": [SPOON], "total": 12.5},
        },
    )
    assert response.status_code == 200
    order = orders.order_brief("SO-1")
    assert (order.customer_id, order.status, order.total, order.placed_at) == (
        buyer().pk, "paid", Decimal("12.5000"), dt.datetime(2026, 11, 11, 0, 10, tzinfo=dt.UTC),
    )  # fmt: skip
    assert list(OrderLine.objects.values_list("sku", flat=True)) == ["SKU-SPOON"]
    assert figures.figures_of(buyer().pk).revenue == Decimal("12.5000")


def test_order_cancelled_cancels_and_figures_drop_the_order(tracker):
    tracker.batch(order_completed())
    response = tracker.post(
        "track", {"userId": "buyer", "event": "Order Cancelled", "properties": {"order_id": "SO-1"}}
    )
    assert response.status_code == 200
    assert orders.order_brief("SO-1").status == "cancelled"
    f = figures.figures_of(buyer().pk)
    assert (f.order_count, f.revenue) == (0, Decimal("0"))


def test_cancelling_an_unknown_order_creates_it_cancelled(tracker):
    response = tracker.post(
        "track",
        {
            "userId": "buyer",
            "event": "Order Cancelled",
            "properties": {"order_id": "SO-404", "products": [SPOON]},
        },
    )
    assert response.status_code == 200
    brief = orders.order_brief("SO-404")
    assert (brief.status, brief.total, brief.customer_id) == (
        "cancelled", Decimal("12.5000"), buyer().pk,
    )  # fmt: skip


def test_full_refund_records_a_return_and_refunds_the_order(tracker):
    """A refund of the whole total: return of 197.00, order refunded, net revenue 0."""
    tracker.batch(order_completed())
    response = tracker.post(
        "track",
        {
            "userId": "buyer",
            "event": "Order Refunded",
            "messageId": "refund-1",
            "timestamp": "2026-11-20T00:00:00Z",
            "properties": {"order_id": "SO-1", "total": 197},
        },
    )
    assert response.status_code == 200
    ret = Return.objects.get()
    assert (ret.external_id, ret.amount, ret.order.external_id, ret.customer_id) == (
        "ev-refund-1", Decimal("197.0000"), "SO-1", buyer().pk,
    )  # fmt: skip
    assert orders.order_brief("SO-1").status == "refunded"
    f = figures.figures_of(buyer().pk)
    assert (f.order_count, f.return_count, f.returned_amount, f.revenue) == (
        1, 1, Decimal("197.0000"), Decimal("0"),
    )  # fmt: skip


def test_partial_refund_is_the_sum_of_the_refunded_products(tracker):
    tracker.batch(order_completed())
    response = tracker.post(
        "track",
        {
            "userId": "buyer",
            "event": "Order Refunded",
            "properties": {"order_id": "SO-1", "products": [SPOON]},
        },
    )
    assert response.status_code == 200
    assert (Return.objects.get().amount, orders.order_brief("SO-1").status) == (
        Decimal("12.5000"), "paid",
    )  # fmt: skip
    assert figures.figures_of(buyer().pk).revenue == Decimal("184.5000")


def test_refund_without_amount_refunds_the_whole_order(tracker):
    tracker.batch(order_completed())
    response = tracker.post(
        "track", {"userId": "buyer", "event": "Order Refunded", "properties": {"order_id": "SO-1"}}
    )
    assert response.status_code == 200
    assert (Return.objects.get().amount, orders.order_brief("SO-1").status) == (
        Decimal("197.0000"), "refunded",
    )  # fmt: skip


def test_order_of_an_anonymous_buyer_follows_them_into_their_account(tracker):
    """A guest checkout, then sign-up with alias: the order is on the account's figures."""
    guest = order_completed(user_id=None)
    del guest["userId"]
    guest["anonymousId"] = "guest-1"
    tracker.batch(guest)
    tracker.batch({"type": "alias", "previousId": "guest-1", "userId": "buyer"})
    f = figures.figures_of(buyer().pk)
    assert (f.order_count, f.revenue) == (1, Decimal("197.0000"))


def _later(event, message_id, properties, user_id="buyer"):
    return {
        "type": "track",
        "userId": user_id,
        "event": event,
        "messageId": message_id,
        "timestamp": "2026-11-20T00:00:00Z",
        "properties": properties,
    }


def test_a_repeated_order_completed_does_not_revive_a_cancelled_order(tracker):
    """Completed, Cancelled, then Completed again (a retry with a new message id): the
    order stays cancelled and out of the figures."""
    tracker.batch(order_completed())
    tracker.batch(_later("Order Cancelled", "c-1", {"order_id": "SO-1"}))
    assert tracker.batch(order_completed(message_id="oc-2")).status_code == 200
    brief = orders.order_brief("SO-1")
    assert (brief.status, brief.customer_id, brief.total) == (
        "cancelled", buyer().pk, Decimal("197.0000"),
    )  # fmt: skip
    f = figures.figures_of(buyer().pk)
    assert (f.order_count, f.revenue, f.first_order_at) == (0, Decimal("0"), None)


def test_order_completed_arriving_after_its_cancellation_leaves_it_cancelled(tracker):
    """Out of order: the Cancelled event creates the order cancelled; the Completed that
    arrives later fills in the content and keeps the cancellation."""
    tracker.batch(_later("Order Cancelled", "c-1", {"order_id": "SO-1"}))
    assert tracker.batch(order_completed()).status_code == 200
    brief = orders.order_brief("SO-1")
    assert (brief.status, brief.total) == ("cancelled", Decimal("197.0000"))
    assert figures.figures_of(buyer().pk).order_count == 0


def test_a_repeated_order_completed_does_not_revive_a_refunded_order(tracker):
    tracker.batch(order_completed())
    tracker.batch(_later("Order Refunded", "r-1", {"order_id": "SO-1"}))
    assert tracker.batch(order_completed(message_id="oc-2")).status_code == 200
    assert orders.order_brief("SO-1").status == "refunded"
    f = figures.figures_of(buyer().pk)
    assert (f.order_count, f.revenue, f.return_count, f.returned_amount) == (
        1, Decimal("0"), 1, Decimal("197.0000"),
    )  # fmt: skip


def test_order_completed_with_another_users_order_number_keeps_the_buyer(tracker):
    """The write key is public in the browser: a second user sending the same order_id
    does not take the order (and its revenue) from the first."""
    tracker.batch(order_completed())
    response = tracker.batch(order_completed(user_id="other", message_id="oc-2"))
    assert response.status_code == 200
    other = Customer.objects.get(identities__kind="user_id", identities__value="other")
    assert orders.order_brief("SO-1").customer_id == buyer().pk
    mine, theirs = figures.figures_of(buyer().pk), figures.figures_of(other.pk)
    assert (mine.order_count, mine.revenue, theirs.order_count, theirs.revenue) == (
        1, Decimal("197.0000"), 0, Decimal("0"),
    )  # fmt: skip


def test_a_full_refund_after_a_partial_one_refunds_what_is_left(tracker):
    """197.00 paid, 12.50 refunded for the spoon, then a refund naming no products and no
    amount (the spec's full refund): 184.50, not 197.00 again; net revenue 0."""
    tracker.batch(order_completed())
    tracker.batch(_later("Order Refunded", "r-1", {"order_id": "SO-1", "products": [SPOON]}))
    response = tracker.batch(_later("Order Refunded", "r-2", {"order_id": "SO-1"}))
    assert response.status_code == 200
    assert list(Return.objects.order_by("pk").values_list("external_id", "amount")) == [
        ("ev-r-1", Decimal("12.5000")), ("ev-r-2", Decimal("184.5000")),
    ]  # fmt: skip
    assert orders.order_brief("SO-1").status == "refunded"
    f = figures.figures_of(buyer().pk)
    assert (f.order_count, f.revenue, f.return_count, f.returned_amount) == (
        1, Decimal("0.0000"), 2, Decimal("197.0000"),
    )  # fmt: skip


def test_a_full_refund_sent_again_records_no_second_return(tracker):
    """The same full refund with a new message id: nothing is left to refund, so no
    return of 197.00 more (or of 0) is recorded; the event itself is kept."""
    tracker.batch(order_completed())
    tracker.batch(_later("Order Refunded", "r-1", {"order_id": "SO-1"}))
    assert tracker.batch(_later("Order Refunded", "r-2", {"order_id": "SO-1"})).status_code == 200
    assert list(Return.objects.values_list("external_id", "amount")) == [
        ("ev-r-1", Decimal("197.0000"))
    ]
    assert Event.objects.filter(name="Order Refunded").count() == 2
    f = figures.figures_of(buyer().pk)
    assert (f.revenue, f.return_count, f.returned_amount) == (
        Decimal("0.0000"), 1, Decimal("197.0000"),
    )  # fmt: skip


def test_a_refund_without_currency_is_in_the_orders_currency(tracker, settings):
    assert settings.ECRM["CURRENCY"] == "CNY"
    tracker.batch(order_completed(currency="USD"))
    assert tracker.batch(_later("Order Refunded", "r-1", {"order_id": "SO-1"})).status_code == 200
    assert list(Return.objects.values_list("currency", "amount")) == [("USD", Decimal("197.0000"))]


def test_a_refund_that_overtakes_its_order_is_adopted_when_the_order_arrives(tracker):
    """Order Refunded (197.00) is delivered before Order Completed: the return waits with
    the order number, and the order, once recorded, takes it and is refunded; the figures
    equal a full recompute."""
    refund = _later("Order Refunded", "r-1", {"order_id": "SO-1", "total": 197})
    assert tracker.batch(refund).status_code == 200
    assert list(Return.objects.values_list("order_id", "order_number")) == [(None, "SO-1")]
    assert tracker.batch(order_completed()).status_code == 200
    order = Order.objects.get()
    assert (order.status, order.customer_id) == ("refunded", buyer().pk)
    assert list(Return.objects.values_list("order_id", "customer_id", "amount")) == [
        (order.pk, buyer().pk, Decimal("197.0000"))
    ]
    f = figures.figures_of(buyer().pk)
    assert (f.order_count, f.revenue, f.return_count, f.returned_amount) == (
        1, Decimal("0.0000"), 1, Decimal("197.0000"),
    )  # fmt: skip
    before = figures.figures_of(buyer().pk)
    figures.recompute_all()
    assert figures.figures_of(buyer().pk) == before


def test_subtotal_is_after_the_discount(tracker):
    """Segment's example shape: lines 192.30, discount 5.30, subtotal 187.00 (after the
    discount), shipping 10, no total: the order's total is 197.00, not 191.70."""
    response = tracker.batch(order_completed(subtotal=187, shipping=10))
    assert response.status_code == 200
    order = Order.objects.get()
    assert (order.subtotal, order.discount, order.shipping, order.total) == (
        Decimal("192.3000"), Decimal("5.3000"), Decimal("10.0000"), Decimal("197.0000"),
    )  # fmt: skip
    assert figures.figures_of(buyer().pk).revenue == Decimal("197.0000")


def test_a_refunded_product_named_without_a_price_is_refunded_at_its_order_price(tracker):
    """One of the two cups comes back, the event names the product and the quantity only:
    the refund is 89.90 (the cup's price in the order), not 0."""
    tracker.batch(order_completed())
    refunded = {"order_id": "SO-1", "products": [{"product_id": "SKU-CUP", "quantity": 1}]}
    assert tracker.batch(_later("Order Refunded", "r-1", refunded)).status_code == 200
    ret = Return.objects.get()
    assert (ret.amount, list(ret.lines.values_list("sku", "quantity", "unit_price", "amount"))) == (
        Decimal("89.9000"),
        [("SKU-CUP", Decimal("1.000"), Decimal("89.9000"), Decimal("89.9000"))],
    )
    f = figures.figures_of(buyer().pk)
    assert (f.revenue, f.return_count, f.returned_amount) == (
        Decimal("107.1000"), 1, Decimal("89.9000"),
    )  # fmt: skip


def _updated(message_id, at, products, total):
    return {
        "type": "track",
        "anonymousId": "backend-job",
        "event": "Order Updated",
        "messageId": message_id,
        "timestamp": at,
        "properties": {"order_id": "SO-1", "products": products, "total": total},
    }


def test_an_order_update_older_than_the_stored_content_does_not_replace_it(tracker):
    """Updates of 12 Nov (spoon only) and of 15 Nov (cup only) arrive in the wrong order:
    the order keeps the newer content, and so do the figures."""
    tracker.batch(order_completed())
    tracker.batch(_updated("u-15", "2026-11-15T00:00:00Z", [CUP], 179.8))
    assert tracker.batch(_updated("u-12", "2026-11-12T00:00:00Z", [SPOON], 12.5)).status_code == 200
    order = Order.objects.get()
    assert (order.total, order.content_at, list(order.lines.values_list("sku", flat=True))) == (
        Decimal("179.8000"), dt.datetime(2026, 11, 15, tzinfo=dt.UTC), ["SKU-CUP"],
    )  # fmt: skip
    assert figures.figures_of(buyer().pk).revenue == Decimal("179.8000")


def test_a_late_order_completed_does_not_bring_back_the_content_an_update_replaced(tracker):
    """Completed (197.00), Updated (spoon only, 12.50), then the Completed again with a new
    message id (a retry of the shop's backend): the order stays as updated."""
    tracker.batch(order_completed())
    tracker.batch(_updated("u-1", "2026-11-12T09:00:00Z", [SPOON], 12.5))
    assert tracker.batch(order_completed(message_id="oc-2")).status_code == 200
    order = Order.objects.get()
    assert (order.status, order.total, list(order.lines.values_list("sku", flat=True))) == (
        "paid", Decimal("12.5000"), ["SKU-SPOON"],
    )  # fmt: skip
    assert figures.figures_of(buyer().pk).revenue == Decimal("12.5000")


def test_order_completed_by_the_account_claims_the_order_of_a_guest_profile(tracker):
    """The browser reports the guest checkout (anonymousId only), the shop's server then
    the same order with the account's userId: the order goes to the account, as before."""
    guest = order_completed()
    del guest["userId"]
    guest["anonymousId"] = "guest-1"
    tracker.batch(guest)
    guest_id = Order.objects.get().customer_id
    assert tracker.batch(order_completed(message_id="oc-2")).status_code == 200
    assert orders.order_brief("SO-1").customer_id == buyer().pk != guest_id
    counts = [figures.figures_of(c).order_count for c in (buyer().pk, guest_id)]
    assert counts == [1, 0]
