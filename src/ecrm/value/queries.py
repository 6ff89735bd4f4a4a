"""Reads of the customer-value domain: the set-based sums a profit run starts from, and
the lists the console shows.

The sums read the orders and catalog tables directly (a read model over them, like the
figures domain): one grouped statement each, so a million customers cost a few scans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection

from ecrm.catalog.models import Product
from ecrm.orders.models import LineKind, Order, OrderLine, OrderStatus, Return, ReturnLine

if TYPE_CHECKING:
    import numpy as np

T = {
    "order": Order._meta.db_table,
    "line": OrderLine._meta.db_table,
    "ret": Return._meta.db_table,
    "rline": ReturnLine._meta.db_table,
    "product": Product._meta.db_table,
}


def _num(expression: str) -> str:
    return f"CAST({expression} AS DOUBLE PRECISION)"


def scan(table: str, alias: str = "") -> str:
    """``table [alias]`` read by a plain scan on SQLite: its planner otherwise walks the
    placed_at index for a date condition that most rows meet, one random read per row."""
    named = f"{table} {alias}".strip()
    return f"{named} NOT INDEXED" if connection.vendor == "sqlite" else named


def fetch_matrix(sql: str, params: list, columns: int) -> np.ndarray:
    """All rows of a query of ``columns`` numeric columns as a float matrix, read straight
    from the cursor into numpy; the query must not return NULL."""
    import numpy as np

    dtype = [(f"c{i}", "f8") for i in range(columns)]
    if connection.vendor == "postgresql":
        import psycopg

        # Binary results, which need server-side binding (Django's cursors bind on the
        # client): a float8 arrives as 8 bytes, not as text to parse (1M rows of three
        # columns read in 1.6 s instead of 2.5 s).
        connection.ensure_connection()
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as raw:
            raw.execute(sql, params, binary=True)
            data = np.fromiter(raw, dtype=dtype)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            # The driver's own cursor: Django's wrapper would add a Python step per row.
            with connection.wrap_database_errors:
                data = np.fromiter(cursor.cursor, dtype=dtype)
    return data.view(float).reshape(-1, columns) if data.size else np.zeros((0, columns))


def _fetch(sql: str, params: list, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Customer ids and a float matrix of the other ``columns`` of every row."""
    import numpy as np

    data = fetch_matrix(sql, params, columns + 1)
    return data[:, 0].astype(np.int64), data[:, 1:]


@dataclass(frozen=True)
class Sums:
    """Per-customer sums, each as (customer ids, values matrix)."""

    orders: tuple  # orders, discounts
    lines: tuple  # revenue, known cost, revenue with known cost, revenue with unknown cost
    refunds: tuple  # refunds
    returned: tuple  # cost of returned goods with known cost, returned amount without


def profit_sums(until: dt.datetime) -> Sums:
    """The sums of every customer's orders, lines and returns up to ``until``.

    Cancelled orders count for nothing; fee lines (postage, charges) and shipping are not
    revenue; a product's current cost times the quantity is the line's cost. A cost that is
    empty or 0 is unknown (the catalogue stores 0 for a product nobody priced), as is the
    cost of a line without a product.
    """
    at = connection.ops.adapt_datetimefield_value(until)
    cancelled = OrderStatus.CANCELLED.value
    product = LineKind.PRODUCT.value
    orders = _fetch(
        f"""SELECT customer_id, COUNT(*), SUM({_num("discount")}) FROM {scan(T["order"])}
        WHERE customer_id IS NOT NULL AND status <> %s AND placed_at <= %s
        GROUP BY customer_id""",
        [cancelled, at],
        2,
    )
    lines = _fetch(
        f"""SELECT o.customer_id, SUM({_num("l.amount")}),
            SUM(CASE WHEN p.cost > 0 THEN {_num("p.cost * l.quantity")} ELSE 0 END),
            SUM(CASE WHEN p.cost > 0 THEN {_num("l.amount")} ELSE 0 END),
            SUM(CASE WHEN p.cost IS NULL OR p.cost <= 0 THEN {_num("l.amount")} ELSE 0 END)
        FROM {scan(T["order"], "o")}
        JOIN {T["line"]} l ON l.order_id = o.id
        LEFT JOIN {T["product"]} p ON p.id = l.product_id
        WHERE o.customer_id IS NOT NULL AND o.status <> %s AND o.placed_at <= %s
            AND l.kind = %s
        GROUP BY o.customer_id""",
        [cancelled, at, product],
        4,
    )
    refunds = _fetch(
        f"""SELECT customer_id, SUM(ABS({_num("amount")})) FROM {T["ret"]}
        WHERE customer_id IS NOT NULL AND returned_at <= %s GROUP BY customer_id""",
        [at],
        1,
    )
    returned = _fetch(
        f"""SELECT r.customer_id,
            SUM(CASE WHEN p.cost > 0
                THEN {_num("p.cost * ABS(rl.quantity)")} ELSE 0 END),
            SUM(CASE WHEN p.cost IS NULL OR p.cost <= 0 THEN ABS({_num("rl.amount")}) ELSE 0 END)
        FROM {T["ret"]} r
        JOIN {T["rline"]} rl ON rl.ret_id = r.id
        LEFT JOIN {T["product"]} p ON p.id = rl.product_id
        WHERE r.customer_id IS NOT NULL AND r.returned_at <= %s AND rl.kind = %s
        GROUP BY r.customer_id""",
        [at, product],
        2,
    )
    return Sums(orders=orders, lines=lines, refunds=refunds, returned=returned)


# --- console lists ----------------------------------------------------------------------

PROFIT_ORDERS = {
    "profit": ("profit", "customer_id"),
    "-profit": ("-profit", "-customer_id"),
    "revenue": ("revenue", "customer_id"),
    "-revenue": ("-revenue", "-customer_id"),
    "margin": ("margin", "customer_id"),
    "-margin": ("-margin", "-customer_id"),
    "service_cost": ("service_cost", "customer_id"),
    "-service_cost": ("-service_cost", "-customer_id"),
}


def profit_rows(order: str = "profit", group: str = "", after: tuple | None = None):
    """Customer profit rows sorted by ``order`` (a key of ``PROFIT_ORDERS``), optionally
    only one RFM group, after the keyset ``(value, customer id)`` of the previous page.
    Each row carries ``name`` and ``rfm_group``."""
    from django.db.models import F, OuterRef, Q, Subquery

    from ecrm.value.models import CustomerProfit, CustomerScore

    field, tie = PROFIT_ORDERS[order]
    column = field.lstrip("-")
    rows = CustomerProfit.objects.annotate(
        name=F("customer__name"),
        rfm_group=Subquery(
            CustomerScore.objects.filter(customer_id=OuterRef("customer_id")).values("rfm_group")[
                :1
            ]
        ),
    )
    if group:
        rows = rows.filter(
            customer_id__in=CustomerScore.objects.filter(rfm_group=group).values("customer_id")
        )
    if after is not None:
        value, pk = after
        if field.startswith("-"):
            rows = rows.filter(Q(**{f"{column}__lt": value}) | Q(**{column: value}, pk__lt=pk))
        else:
            rows = rows.filter(Q(**{f"{column}__gt": value}) | Q(**{column: value}, pk__gt=pk))
    return rows.order_by(field, tie)


def top_clv(limit: int = 20) -> list[dict]:
    from django.db.models import F

    from ecrm.value.models import CustomerPrediction

    return list(
        CustomerPrediction.objects.annotate(name=F("customer__name"))
        .order_by("-clv", "customer_id")
        .values(
            "customer_id",
            "name",
            "frequency",
            "p_alive",
            "expected_purchases",
            "expected_order_value",
            "clv",
        )[:limit]
    )


P_ALIVE_BINS = 10


def p_alive_histogram() -> list[int]:
    """How many scored customers fall in each tenth of P(alive) (1.0 in the last)."""
    from django.db.models import Count, Q

    from ecrm.value.models import CustomerPrediction

    aggregates = {}
    for k in range(P_ALIVE_BINS):
        where = Q(p_alive__gte=k / P_ALIVE_BINS) if k else Q()
        if k < P_ALIVE_BINS - 1:
            where &= Q(p_alive__lt=(k + 1) / P_ALIVE_BINS)
        aggregates[f"b{k}"] = Count("pk", filter=where)
    found = CustomerPrediction.objects.aggregate(**aggregates)
    return [found[f"b{k}"] for k in range(P_ALIVE_BINS)]


def clv_bands() -> list[dict]:
    """Customers and total CLV per band of predicted CLV (in the shop's currency)."""
    from django.db.models import Count, Q, Sum

    from ecrm.value.models import CustomerPrediction

    edges = [0, 100, 500, 1_000, 5_000, 10_000]
    aggregates = {}
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        where = Q(clv__gte=low) if high is None else Q(clv__gte=low, clv__lt=high)
        if i == 0:
            where = Q(clv__lt=edges[1])
        aggregates[f"n{i}"] = Count("pk", filter=where)
        aggregates[f"v{i}"] = Sum("clv", filter=where)
    found = CustomerPrediction.objects.aggregate(**aggregates)
    bands = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        bands.append(
            {"low": low, "high": high, "customers": found[f"n{i}"], "clv": found[f"v{i}"] or 0}
        )
    return bands
