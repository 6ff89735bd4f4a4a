"""The batch writers take no savepoint inside a caller's transaction (docs/IMPORT.md):
under one, SQLite copies every page the inserts change into a sub-journal first."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ecrm.orders import api as orders
from ecrm.orders.models import Order, Return

PLACED = dt.datetime(2026, 11, 11, 10, 0, tzinfo=dt.UTC)
LINE = orders.LineInput(sku="SKU-1", name="保温杯", quantity=Decimal(1), unit_price=Decimal(99))


def _writes_under_a_savepoint(queries) -> list[str]:
    """Statements writing orders, lines or returns while a savepoint was open (a new
    product's savepoint is released before them)."""
    open_savepoints, found = 0, []
    for query in queries:
        sql = query["sql"].upper()
        if sql.startswith("SAVEPOINT"):
            open_savepoints += 1
        elif sql.startswith(("RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            open_savepoints -= 1
        elif "ORDERS_" in sql and not sql.startswith("SELECT") and open_savepoints:
            found.append(query["sql"][:60])
    return found


@pytest.mark.django_db
def test_orders_and_returns_of_a_batch_are_written_without_a_savepoint():
    order = orders.OrderInput(external_id="B-1", placed_at=PLACED, currency="CNY", lines=(LINE,))
    ret = orders.ReturnInput(
        external_id="R-1",
        returned_at=PLACED,
        currency="CNY",
        lines=(LINE,),
        order_external_id="B-1",
    )
    with transaction.atomic(), CaptureQueriesContext(connection) as seen:
        placed = orders.record_packed_orders([(orders.pack_orders([order])[0], None)])
        returned = orders.record_returns([(ret, None)])
    assert (placed.created, returned.created) == (1, 1)
    assert _writes_under_a_savepoint(seen.captured_queries) == []
    assert list(Order.objects.values_list("external_id", flat=True)) == ["B-1"]
    assert list(Return.objects.values_list("external_id", flat=True)) == ["R-1"]
