"""The employee who made a sale travels from every entry point onto the order."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.orders import api as orders
from ecrm.orders.models import Order
from ecrm.orders.rules import order_hash

PLACED = dt.datetime(2026, 11, 11, 10, 0, tzinfo=dt.UTC)


def _order(external_id: str, employee: str = "") -> orders.OrderInput:
    line = orders.LineInput(sku="SKU-1", name="保温杯", quantity=Decimal(1), unit_price=Decimal(99))
    return orders.OrderInput(
        external_id=external_id, placed_at=PLACED, currency="CNY", lines=(line,), employee=employee
    )


def test_the_fingerprint_counts_the_employee_only_when_there_is_one():
    without = order_hash(_order("A"), 7)
    assert order_hash(_order("A", "SH01-周杰"), 7) != without
    assert order_hash(_order("A", ""), 7) == without


@pytest.mark.django_db
def test_single_and_batch_paths_store_the_employee():
    orders.record_order(_order("A-1", "SH01-周杰"), customer_id=None)
    orders.record_orders([(_order("A-2", "sales"), None), (_order("A-3"), None)])
    assert dict(Order.objects.values_list("external_id", "employee")) == {
        "A-1": "SH01-周杰",
        "A-2": "sales",
        "A-3": "",
    }
    changed = orders.record_orders([(_order("A-3", "BJ01-王磊"), None)])
    assert (changed.changed, Order.objects.get(external_id="A-3").employee) == (1, "BJ01-王磊")


def test_the_fingerprint_is_the_hash_of_every_part_with_the_customer_first():
    from ecrm.orders.rules import _line_parts, content_digest, content_hash

    order = _order("A", "SH01-周杰")
    parts = (
        order.placed_at.isoformat(),
        *(order.currency, order.status, order.channel, order.store, order.department),
        *(order.country, order.region, order.city, order.discount, order.shipping, order.tax),
        *(order.grand_total, order.coupon, sorted(order.attributes.items())),
        _line_parts(order.lines),
    )
    assert order_hash(order, 7) == content_hash(7, *parts, "SH01-周杰")
    assert order_hash(_order("A"), None) == content_hash(None, *parts)
    (packed,) = orders.pack_orders([order])  # the fingerprint's content is cached on the order
    assert order_hash(order, 7) == content_hash(7, *parts, "SH01-周杰")
    assert content_digest(7, packed[1]) == order_hash(order, 7)
