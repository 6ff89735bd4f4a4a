"""Writes of the customer-value domain: ``compute_rfm`` rebuilds every customer's score.

One query reads the figures of all live customers who ever ordered (with a window, order
counts and revenue inside it come from the orders table in the same statement); numpy
scores them; the scores replace the old ones in one transaction (delete, bulk insert).
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from django.db import connection, transaction

from ecrm.core import clock
from ecrm.customers.models import Customer
from ecrm.figures.models import CustomerFigures
from ecrm.orders.models import Order, OrderStatus
from ecrm.value import rfm
from ecrm.value.models import CustomerScore, RfmRun

CHUNK = 50_000
CURVE_POINTS = 101


def _days_since(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM (%s - {column})) / 86400.0"
    return f"julianday(%s) - julianday({column})"


def _read_figures(now: dt.datetime, window_days: int | None) -> np.ndarray:
    """Rows of (customer, recency days, orders, net revenue, returned, F, M) as floats."""
    t = {
        "fig": CustomerFigures._meta.db_table,
        "cust": Customer._meta.db_table,
        "ord": Order._meta.db_table,
    }
    adapt = connection.ops.adapt_datetimefield_value
    money = "CAST({} AS DOUBLE PRECISION)"
    params: list = [adapt(now)]
    if window_days:
        window_join = f"""
        LEFT JOIN (
            SELECT customer_id, COUNT(*) AS n, SUM(total) AS gross FROM {t["ord"]}
            WHERE status <> %s AND placed_at > %s AND placed_at <= %s
            GROUP BY customer_id) w ON w.customer_id = f.customer_id"""
        window_cols = f"COALESCE(w.n, 0), {money.format('COALESCE(w.gross, 0)')}"
        params += [OrderStatus.CANCELLED.value, adapt(now - dt.timedelta(days=window_days))]
        params.append(adapt(now))
    else:
        window_join = ""
        window_cols = f"f.order_count, {money.format('f.revenue')}"
    sql = f"""
    SELECT f.customer_id, {_days_since("f.last_order_at")}, f.order_count,
        {money.format("f.revenue")}, {money.format("f.returned_amount")}, {window_cols}
    FROM {t["fig"]} f
    JOIN {t["cust"]} c ON c.id = f.customer_id
    {window_join}
    WHERE c.merged_into_id IS NULL AND f.order_count > 0
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return np.zeros((0, 7))
    return np.array(rows, dtype=float)


def _insert(rows: list[tuple], computed_at: dt.datetime) -> None:
    table = CustomerScore._meta.db_table
    columns = "customer_id, r, f, m, rfm_group, revenue, dormant, low_return, computed_at"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        if connection.vendor == "postgresql":
            sql = f"""
            INSERT INTO {table} ({columns})
            SELECT u.*, %s FROM unnest(%s::bigint[], %s::smallint[], %s::smallint[],
                %s::smallint[], %s::text[], %s::numeric[], %s::boolean[], %s::boolean[]) AS u
            """
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                cursor.execute(sql, [computed_at, *map(list, zip(*chunk, strict=True))])
            return
        stamp = connection.ops.adapt_datetimefield_value(computed_at)
        sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        cursor.executemany(sql, [(*row, stamp) for row in rows])


def compute_rfm(
    now: dt.datetime | None = None,
    window_days: int | None = 365,
    dormant_days: int = rfm.DORMANT_DAYS,
    min_revenue: float = rfm.LOW_RETURN_MIN_REVENUE,
    max_return_ratio: float = rfm.LOW_RETURN_MAX_RATIO,
) -> RfmRun:
    """Score every live customer who ever ordered and replace all stored scores.

    R is always measured from the last order ever; with ``window_days`` F and M are the
    number and total of the orders (not cancelled) placed in the last ``window_days``
    days, without a window the all-time order count and net revenue.
    """
    if window_days is not None and window_days < 1:
        raise ValueError("window_days must be at least 1")
    if dormant_days < 1:
        raise ValueError("dormant_days must be at least 1")
    began = time.perf_counter()
    now = now or clock.now()
    with transaction.atomic():
        data = _read_figures(now, window_days)
        customer = data[:, 0].astype(np.int64)
        recency = np.maximum(np.floor(data[:, 1] + 1e-9), 0.0)
        order_count, net, returned = data[:, 2], data[:, 3], data[:, 4]
        frequency, monetary = data[:, 5], np.round(data[:, 6], 4)
        scores = rfm.score(recency, frequency, monetary)
        dormant = rfm.is_dormant(recency, order_count, dormant_days)
        low = rfm.is_low_return(net, returned, order_count, min_revenue, max_return_ratio)
        rows = list(
            zip(
                customer.tolist(),
                scores.r.tolist(),
                scores.f.tolist(),
                scores.m.tolist(),
                scores.group.tolist(),
                monetary.tolist(),
                dormant.tolist(),
                low.tolist(),
                strict=True,
            )
        )
        _insert(rows, now)
        grid, share = rfm.pareto_curve(monetary, points=CURVE_POINTS)
        return RfmRun.objects.create(
            computed_at=now,
            window_days=window_days,
            dormant_days=dormant_days,
            customers=int(customer.size),
            top20_share=rfm.share_for_top(monetary, 0.2),
            curve=[
                [round(float(x), 4), round(float(y), 6)] for x, y in zip(grid, share, strict=True)
            ],
            seconds=round(time.perf_counter() - began, 3),
        )
