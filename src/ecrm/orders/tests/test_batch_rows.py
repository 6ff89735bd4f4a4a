"""The batch path (``record_orders``) stores every order as the single path does, whether
its shape's values are written into the INSERT statement or bound per row."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection

from ecrm.customers.tests import factories
from ecrm.orders import api as orders
from ecrm.orders.services import SHAPE_ROWS

PLACED = dt.datetime(2026, 11, 11, 10, 0, tzinfo=dt.UTC)
# The columns both paths must store alike (not the number, nor when the status changed).
COLUMNS = (
    "status, channel, store, department, country, region, city, currency, subtotal, "
    "discount, shipping, tax, total, coupon, employee, placed_at, source, attributes, "
    "customer_id, content_hash"
)


def _shaped(n: int, **fields) -> orders.OrderInput:
    line = orders.LineInput(
        sku=f"SKU-{n % 3}", name="保温杯", quantity=Decimal(n % 4 + 1), unit_price=Decimal("19.9")
    )
    return orders.OrderInput(
        external_id=f"{n}",
        placed_at=PLACED + dt.timedelta(minutes=n),
        currency="CNY",
        lines=(line,),
        **fields,
    )


# A shape with enough orders to be written with its values in the statement (a coupon
# with a quote and a percent sign, amounts as numbers), and orders bound whole.
MANY = {"channel": "web", "coupon": "O'Brien 50%", "discount": Decimal("5.5"), "tax": Decimal(1)}
FEW = {"store": "上海店", "status": "delivered", "attributes": {"gift": "是"}}


def _documents(prefix: str, changed: bool = False) -> list[orders.OrderInput]:
    many = [_shaped(n, **MANY) for n in range(SHAPE_ROWS + 2)]
    few = [_shaped(n, **FEW) for n in range(100, 103)]
    alone = [_shaped(200, country="中国", region="广东", city="深圳", shipping=Decimal("12.00"))]
    # Amounts SQLite keeps as INTEGER, as REAL, and one of 18 digits that goes as text.
    amounts = [(Decimal("3.000"), Decimal("0.10")), (Decimal(2), Decimal("1234567890123.4567"))]
    alone[0] = replace(
        alone[0],
        lines=tuple(
            orders.LineInput(sku=f"SKU-A{n}", name="保温杯", quantity=q, unit_price=p)
            for n, (q, p) in enumerate(amounts)
        ),
    )
    return [
        replace(
            d,
            external_id=f"{prefix}-{d.external_id}",
            # a new status for one order of each kind
            status="refunded" if changed and d.external_id in ("1", "101", "200") else d.status,
        )
        for d in many + few + alone
    ]


def _stored(prefix: str) -> dict[str, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT external_id, {COLUMNS} FROM orders_order WHERE external_id LIKE %s",
            [f"{prefix}-%"],
        )
        return {row[0].split("-", 1)[1]: _typed(row[1:]) for row in cursor}


def _lines(prefix: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.external_id, l.line_no, l.kind, l.product_id, l.sku, l.name, l.quantity,"
            " l.unit_price, l.amount FROM orders_orderline l JOIN orders_order o"
            " ON o.id = l.order_id WHERE o.external_id LIKE %s ORDER BY o.external_id",
            [f"{prefix}-%"],
        )
        return sorted((row[0].split("-", 1)[1], *_typed(row[1:])) for row in cursor)


def _typed(values) -> tuple:
    """Each value with its type: SQLite keeps 3 and 3.0 apart, Python's == does not."""
    return tuple((value, type(value).__name__) for value in values)


@pytest.mark.django_db
def test_new_and_changed_orders_are_stored_as_the_single_path_stores_them():
    buyer = factories.customer(name="王芳").pk
    for document in _documents("S"):
        orders.record_order(document, customer_id=buyer, refresh=False)
    first = orders.record_orders([(document, buyer) for document in _documents("B")])
    assert (first.created, first.changed, first.unchanged) == (SHAPE_ROWS + 6, 0, 0)
    single = _stored("S")
    assert _stored("B") == single
    assert _lines("B") == _lines("S")
    assert [value for value, _ in single["0"][:16]] == [
        "paid", "web", "", "", "", "", "", "CNY",
        *_amounts("19.9", "5.5", "0", "1", "15.4"),
        "O'Brien 50%", "", single["0"][15][0],
    ]  # fmt: skip
    assert [value for value, _ in single["100"][:3]] == ["delivered", "", "上海店"]
    if connection.vendor == "sqlite":  # NUMERIC affinity: INTEGER when whole, else REAL
        amounts = [
            ((3, "int"), (0.1, "float"), (0.3, "float")),
            ((2, "int"), (1234567890123.4567, "float"), (2469135780246.9134, "float")),
        ]
    else:
        amounts = [
            tuple((Decimal(t), "Decimal") for t in ("3.000", "0.1000", "0.3000")),
            tuple(
                (Decimal(t), "Decimal")
                for t in ("2.000", "1234567890123.4567", "2469135780246.9134")
            ),
        ]
    assert [line[6:] for line in _lines("S") if line[0] == "200"] == amounts

    for document in _documents("S", changed=True):
        orders.record_order(document, customer_id=buyer, refresh=False)
    again = orders.record_orders([(document, buyer) for document in _documents("B", changed=True)])
    assert (again.created, again.changed, again.unchanged) == (0, 3, SHAPE_ROWS + 3)
    single = _stored("S")
    assert _stored("B") == single
    assert [single[n][0][0] for n in ("0", "1", "101", "200")] == [
        "paid",
        "refunded",
        "refunded",
        "refunded",
    ]
    assert _lines("B") == _lines("S")


def _amounts(*texts: str) -> tuple:
    """The amounts as the database returns them: numbers on SQLite, decimals elsewhere."""
    if connection.vendor == "sqlite":
        return tuple(int(d) if d == d.to_integral() else float(d) for d in map(Decimal, texts))
    return tuple(Decimal(t).quantize(Decimal("0.0001")) for t in texts)
