"""Derived customer figures: one set-based SQL statement serves both paths.

``refresh_customers(ids)`` runs after each order, return, event batch or merge for the
customers it touched; ``recompute_all()`` (``ecrm recompute``) runs the same statement
for every live customer. Equality of the two is what tests assert.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from ecrm.catalog.models import Product
from ecrm.customers.models import Customer
from ecrm.events.models import Event
from ecrm.figures.models import CustomerFigures
from ecrm.orders.models import Order, OrderLine, OrderStatus, Return

CHUNK = 500


def _sql(scope: str) -> str:
    """INSERT ... SELECT of every figure for the customers matched by ``scope``.

    ``scope`` is a SQL condition on ``c.id`` (a parameter list or TRUE).
    """
    t = {
        "fig": CustomerFigures._meta.db_table,
        "cust": Customer._meta.db_table,
        "ord": Order._meta.db_table,
        "line": OrderLine._meta.db_table,
        "prod": Product._meta.db_table,
        "ret": Return._meta.db_table,
        "ev": Event._meta.db_table,
    }
    cancelled = OrderStatus.CANCELLED.value
    o_scope = scope.replace("c.id", "customer_id")
    return f"""
    INSERT INTO {t["fig"]} (customer_id, first_order_at, last_order_at, order_count, revenue,
        average_order_value, return_count, returned_amount, last_seen_at,
        distinct_products, distinct_categories)
    SELECT c.id, o.first_at, o.last_at, COALESCE(o.n, 0),
        COALESCE(o.gross, 0) - COALESCE(r.amount, 0),
        CASE WHEN COALESCE(o.n, 0) > 0 THEN ROUND(o.gross / o.n, 4) ELSE 0 END,
        COALESCE(r.n, 0), COALESCE(r.amount, 0),
        CASE WHEN e.seen IS NULL THEN o.last_at
             WHEN o.last_at IS NULL OR e.seen > o.last_at THEN e.seen
             ELSE o.last_at END,
        COALESCE(p.products, 0), COALESCE(p.categories, 0)
    FROM {t["cust"]} c
    LEFT JOIN (
        SELECT customer_id, MIN(placed_at) AS first_at, MAX(placed_at) AS last_at,
               COUNT(*) AS n, SUM(total) AS gross
        FROM {t["ord"]} WHERE status <> '{cancelled}' AND {o_scope}
        GROUP BY customer_id) o ON o.customer_id = c.id
    LEFT JOIN (
        SELECT customer_id, COUNT(*) AS n, SUM(amount) AS amount
        FROM {t["ret"]} WHERE {o_scope} GROUP BY customer_id) r ON r.customer_id = c.id
    LEFT JOIN (
        SELECT customer_id, MAX(timestamp) AS seen
        FROM {t["ev"]} WHERE {o_scope} GROUP BY customer_id) e ON e.customer_id = c.id
    LEFT JOIN (
        -- Distinct (customer, product) pairs first, so each product is looked up once
        -- per customer rather than once per line.
        SELECT d.customer_id, COUNT(*) AS products, COUNT(DISTINCT pr.category_id) AS categories
        FROM (
            SELECT DISTINCT oo.customer_id, l.product_id
            FROM {t["line"]} l
            JOIN {t["ord"]} oo ON oo.id = l.order_id
            WHERE oo.status <> '{cancelled}' AND l.product_id IS NOT NULL
              AND {o_scope.replace("customer_id", "oo.customer_id")}) d
        JOIN {t["prod"]} pr ON pr.id = d.product_id
        GROUP BY d.customer_id) p ON p.customer_id = c.id
    WHERE c.merged_into_id IS NULL AND {scope}
    ON CONFLICT (customer_id) DO UPDATE SET
        first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at,
        order_count = excluded.order_count, revenue = excluded.revenue,
        average_order_value = excluded.average_order_value,
        return_count = excluded.return_count, returned_amount = excluded.returned_amount,
        last_seen_at = excluded.last_seen_at, distinct_products = excluded.distinct_products,
        distinct_categories = excluded.distinct_categories
    """


def refresh_customers(customer_ids: Iterable[int]) -> int:
    """Bring the figures of these customers up to date; returns how many were written."""
    ids = sorted({int(i) for i in customer_ids if i is not None})
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            sql = _sql(f"c.id IN ({marks})")
            # The id list appears once per sub-select, in order of appearance.
            cursor.execute(sql, chunk * sql.count(f"IN ({marks})"))
            written += len(chunk)
    return written


def recompute_all() -> int:
    """Rebuild every customer's figures from raw orders, returns and events."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CustomerFigures._meta.db_table}")
        cursor.execute(_sql("1 = 1"))
        return cursor.rowcount


def note_seen(seen_at: dict[int, object]) -> int:
    """Customers were active (events without orders): only ``last_seen_at`` can move.

    ``last_seen_at`` is the latest event or order time, so the new value is the later of
    the stored one and the new events' — exactly what ``recompute_all`` would write. A
    customer with no figures row yet (a new visitor, no orders) gets one with zeros; a row
    already seen later is not written at all (no page to flush, no dead tuple).
    Cheaper than ``refresh_customers`` by the four aggregates it skips. Up to ``CHUNK``
    customers go in one statement: a statement per customer cost psycopg 60-90 us of
    Python each, half of what a tracked event costs the server.
    """
    if not seen_at:
        return 0
    table = CustomerFigures._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(cid, adapt(moment)) for cid, moment in sorted(seen_at.items())]
    head = f"""
    INSERT INTO {table} (customer_id, first_order_at, last_order_at, order_count, revenue,
        average_order_value, return_count, returned_amount, last_seen_at,
        distinct_products, distinct_categories)
    VALUES """
    tail = f"""
    ON CONFLICT (customer_id) DO UPDATE SET last_seen_at = excluded.last_seen_at
    WHERE {table}.last_seen_at IS NULL OR excluded.last_seen_at > {table}.last_seen_at
    """
    row = "(%s, NULL, NULL, 0, 0, 0, 0, 0, %s, 0, 0)"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            values = ", ".join([row] * len(chunk))
            cursor.execute(head + values + tail, [v for pair in chunk for v in pair])
    return len(rows)
