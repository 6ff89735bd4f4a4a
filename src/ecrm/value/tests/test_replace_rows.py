"""``core.tables.replace_rows`` on the profit table: the rows, and on PostgreSQL the table
swapped in with the old one's keys, checks and indexes, or written in place where a swap
would lose a grant."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ecrm.core.tables import replace_rows
from ecrm.customers.tests import factories as f
from ecrm.value.models import CustomerProfit

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TABLE = CustomerProfit._meta.db_table
MONEY = ("revenue", "product_cost", "estimated_cost_revenue", "margin", "discounts")
MONEY += ("points_redeemed", "refunds", "returned_cost", "service_cost", "profit")


def write(rows: list[tuple]) -> None:
    stamp = AT if connection.vendor == "postgresql" else AT.replace(tzinfo=None).isoformat(" ")
    with transaction.atomic():
        replace_rows(
            CustomerProfit,
            ("customer_id", "orders", "contacts", *MONEY),
            iter(rows),
            {"computed_at": stamp},
        )


def stored() -> list[tuple]:
    return list(
        CustomerProfit.objects.order_by("customer_id").values_list(
            "customer_id", "orders", "contacts", "profit", "computed_at"
        )
    )


def row(customer: int, orders: int, profit: str) -> tuple:
    return (customer, orders, 1, *(["0.0000"] * 9), profit)


def test_the_rows_given_become_the_whole_table():
    a, b, c = (f.customer(name).pk for name in ("安娜", "白露", "陈晨"))
    write([row(a, 1, "10.5000"), row(b, 2, "-3.2500")])
    write([row(b, 3, "7.0000"), row(c, 4, "0.1000")])
    assert stored() == [(b, 3, 1, Decimal("7.0000"), AT), (c, 4, 1, Decimal("0.1000"), AT)]


def _catalogue() -> tuple[int, list[tuple], list[tuple]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::regclass::oid", [TABLE])
        oid = cursor.fetchone()[0]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY conname",
            [TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1",
            [TABLE],
        )
        return oid, constraints, cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the swap is PostgreSQL's")
def test_on_postgresql_the_new_table_keeps_every_key_check_and_index():
    a = f.customer("安娜").pk
    write([row(a, 1, "1.0000")])
    oid, constraints, indexes = _catalogue()
    assert [name for name, _ in constraints if "FOREIGN KEY" in _] != []
    assert "profit_profit_idx" in [name for name, _ in indexes]
    write([row(a, 2, "2.0000")])
    new_oid, new_constraints, new_indexes = _catalogue()
    assert (new_oid != oid, new_constraints, new_indexes) == (True, constraints, indexes)
    assert stored() == [(a, 2, 1, Decimal("2.0000"), AT)]
    with pytest.raises(IntegrityError, match="orders"), transaction.atomic():
        write([row(a, -1, "0.0000")])  # the check on orders
    with pytest.raises(IntegrityError), transaction.atomic():
        write([row(a + 999_999, 1, "0.0000")])  # the foreign key to the customer
    assert stored() == [(a, 2, 1, Decimal("2.0000"), AT)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the swap is PostgreSQL's")
def test_on_postgresql_a_table_with_a_grant_is_written_in_place():
    a = f.customer("安娜").pk
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT ON {TABLE} TO PUBLIC")
    oid, constraints, indexes = _catalogue()
    write([row(a, 5, "5.0000")])
    assert _catalogue() == (oid, constraints, indexes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege('public', %s, 'SELECT')", [TABLE])
        assert cursor.fetchone()[0] is True
    assert stored() == [(a, 5, 1, Decimal("5.0000"), AT)]
