"""The employee who made a sale travels from every entry point onto the order."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

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


AMOUNTS = [  # (quantity, unit price): whole, tenths, four places, and 18 digits (text)
    (Decimal("3.000"), Decimal("0.10")),
    (Decimal("1.5"), Decimal("1234567.8901")),
    (Decimal(2), Decimal("12345678901234.5678")),
]


def _stored(external_id: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.subtotal, o.total, l.quantity, l.unit_price, l.amount FROM orders_order o"
            " JOIN orders_orderline l ON l.order_id = o.id WHERE o.external_id = %s"
            " ORDER BY l.line_no",
            [external_id],
        )
        return [tuple((value, type(value).__name__) for value in row) for row in cursor]


@pytest.mark.django_db
def test_the_batch_path_stores_amounts_as_the_single_path_does():
    """The batch path binds SQLite's amounts as numbers, Django as text: what the database
    keeps (value and type) must be the same."""
    lines = tuple(
        orders.LineInput(sku=f"SKU-{n}", name="保温杯", quantity=q, unit_price=p)
        for n, (q, p) in enumerate(AMOUNTS)
    )

    def order(external_id):
        return orders.OrderInput(
            external_id=external_id, placed_at=PLACED, currency="CNY", lines=lines
        )

    orders.record_order(order("S-1"), customer_id=None)
    orders.record_orders([(order("B-1"), None)])
    single = _stored("S-1")
    assert _stored("B-1") == single
    if connection.vendor == "sqlite":  # NUMERIC affinity: INTEGER when whole, else REAL
        first = ((3, "int"), (0.1, "float"), (0.3, "float"))
    else:
        first = (
            (Decimal("3.000"), "Decimal"),
            (Decimal("0.1000"), "Decimal"),
            (Decimal("0.3000"), "Decimal"),
        )
    assert single[0][2:] == first
