"""A return recorded before its order (its number known, the order not yet) is taken by
the order when it arrives, through the single and the batch path alike."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.customers.tests import factories
from ecrm.orders import api as orders
from ecrm.orders.models import Order, Return

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 11, 10, 0, tzinfo=dt.UTC)


def _order(number: str) -> orders.OrderInput:
    line = orders.LineInput(sku="SKU-CUP", quantity=Decimal(2), unit_price=Decimal("50"))
    return orders.OrderInput(external_id=number, placed_at=AT, currency="CNY", lines=(line,))


def _refund(number: str, amount: str) -> orders.ReturnInput:
    return orders.ReturnInput(
        external_id=f"R-{number}-{amount}",
        returned_at=AT + dt.timedelta(days=1),
        currency="CNY",
        order_external_id=number,
        amount=Decimal(amount),
    )


@pytest.mark.parametrize("path", ["single", "batch"])
def test_an_order_adopts_the_returns_that_waited_for_it(path):
    buyer = factories.customer().pk
    orders.record_return(_refund("SO-1", "100"), customer_id=buyer)  # all of SO-1
    orders.record_return(_refund("SO-2", "30"), customer_id=None)  # part of SO-2
    orders.record_return(_refund("SO-9", "5"), customer_id=buyer)  # an order still unknown
    if path == "single":
        orders.record_order(_order("SO-1"), customer_id=buyer)
        orders.record_order(_order("SO-2"), customer_id=buyer)
    else:
        result = orders.record_orders([(_order("SO-1"), buyer), (_order("SO-2"), buyer)])
        assert result.customer_ids == frozenset({buyer})
    ids = dict(Order.objects.values_list("external_id", "id"))
    assert sorted(Order.objects.values_list("external_id", "status")) == [
        ("SO-1", "refunded"), ("SO-2", "paid"),
    ]  # fmt: skip
    assert sorted(Return.objects.values_list("external_id", "order_id", "customer_id")) == [
        ("R-SO-1-100", ids["SO-1"], buyer),
        ("R-SO-2-30", ids["SO-2"], buyer),
        ("R-SO-9-5", None, buyer),
    ]
