"""Cheap shop-wide figures for the dashboard: index range reads and table estimates only.

Nothing here runs COUNT(*) over a whole large table: totals are the planner's estimate
(PostgreSQL) or the highest id (SQLite), and "today" / "last 30 days" figures read a
range of the ``placed_at`` index. Results are cached for a minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Sum
from django.utils import timezone

from ecrm.catalog.models import Product
from ecrm.contacts.models import Contact
from ecrm.core import clock
from ecrm.customers.models import Customer, Merge
from ecrm.events.models import Event
from ecrm.orders.models import Order, OrderStatus

CACHE_SECONDS = 60


@dataclass(frozen=True)
class ShopFigures:
    customers_estimate: int
    customers_today: int
    events_estimate: int
    products_estimate: int
    orders_today: int
    revenue_today: Decimal
    orders_30d: int
    revenue_30d: Decimal


def estimated_rows(model) -> int:
    """About how many rows ``model`` has, without counting them."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            row = cursor.fetchone()
            if row is not None and row[0] is not None and row[0] >= 0:
                return int(row[0])
    return model.objects.aggregate(top=Max("pk"))["top"] or 0


def first_id_since(model, field: str, moment: dt.datetime) -> int | None:
    """The lowest id created at or after ``moment``, by bisecting the primary key.

    Rows are created in id order, so about twenty primary-key lookups find the
    boundary in a table of any size.
    """
    top = model.objects.aggregate(top=Max("pk"))["top"]
    if top is None:
        return None
    newest = model.objects.filter(pk=top).values_list(field, flat=True).first()
    if newest is None or newest < moment:
        return None
    low, high = 1, top
    while low < high:
        mid = (low + high) // 2
        pk, value = (
            model.objects.filter(pk__gte=mid).order_by("pk").values_list("pk", field).first()
        )
        if value >= moment:
            high = mid
        else:
            low = pk + 1
    return model.objects.filter(pk__gte=low).order_by("pk").values_list("pk", flat=True).first()


def _orders_between(start: dt.datetime, end: dt.datetime) -> tuple[int, Decimal]:
    row = (
        Order.objects.filter(placed_at__gte=start, placed_at__lt=end)
        .exclude(status=OrderStatus.CANCELLED)
        .aggregate(n=Count("pk"), total=Sum("total"))
    )
    return row["n"] or 0, row["total"] or Decimal(0)


def shop_figures() -> ShopFigures:
    cached = cache.get("console:shop-figures")
    if cached is not None:
        return cached
    now = clock.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    first_today = first_id_since(Customer, "created_at", midnight)
    top = Customer.objects.aggregate(top=Max("pk"))["top"] or 0
    orders_today, revenue_today = _orders_between(midnight, now + dt.timedelta(days=1))
    orders_30d, revenue_30d = _orders_between(
        now - dt.timedelta(days=30), now + dt.timedelta(days=1)
    )
    figures = ShopFigures(
        customers_estimate=estimated_rows(Customer),
        customers_today=0 if first_today is None else top - first_today + 1,
        events_estimate=estimated_rows(Event),
        products_estimate=estimated_rows(Product),
        orders_today=orders_today,
        revenue_today=revenue_today,
        orders_30d=orders_30d,
        revenue_30d=revenue_30d,
    )
    cache.set("console:shop-figures", figures, CACHE_SECONDS)
    return figures


def recent_orders(limit: int = 8) -> list[Order]:
    return list(Order.objects.select_related("customer").order_by("-placed_at", "-pk")[:limit])


def recent_merges(limit: int = 5) -> list[Merge]:
    return list(Merge.objects.select_related("source", "target").order_by("-pk")[:limit])


def recent_contacts(limit: int = 5) -> list[Contact]:
    return list(Contact.objects.select_related("customer", "employee").order_by("-pk")[:limit])
