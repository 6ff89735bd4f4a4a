"""What other domains may call in orders."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from ecrm.orders.models import LineKind, Order, OrderLine, OrderStatus, Return
from ecrm.orders.rules import (
    LineInput,
    OrderError,
    OrderInput,
    OrderShape,
    ReturnInput,
    ShapedOrder,
    check_order,
)
from ecrm.orders.services import (
    BatchResult,
    PackedOrder,
    pack_orders,
    record_order,
    record_orders,
    record_packed_orders,
    record_return,
    record_returns,
    set_order_status,
)

__all__ = [
    "BatchResult",
    "PackedOrder",
    "pack_orders",
    "record_orders",
    "record_packed_orders",
    "record_returns",
    "LineInput",
    "LineKind",
    "OrderBrief",
    "OrderError",
    "check_order",
    "OrderInput",
    "OrderShape",
    "ShapedOrder",
    "OrderStatus",
    "ReturnInput",
    "order_brief",
    "record_order",
    "record_return",
    "line_prices",
    "refunded_amount",
    "set_order_status",
]


@dataclass(frozen=True)
class OrderBrief:
    external_id: str
    customer_id: int | None
    status: str
    total: Decimal
    currency: str
    placed_at: dt.datetime


def order_brief(external_id: str) -> OrderBrief | None:
    """Who placed the order with this number, its status and total; None if unknown."""
    row = (
        Order.objects.filter(external_id=external_id)
        .values_list("customer_id", "status", "total", "currency", "placed_at")
        .first()
    )
    return None if row is None else OrderBrief(external_id, *row)


def refunded_amount(external_id: str) -> Decimal:
    """The sum of the returns recorded against the order with this number (0 if none)."""
    total = Return.objects.filter(order__external_id=external_id).aggregate(s=Sum("amount"))["s"]
    return Decimal(0) if total is None else total


def line_prices(external_id: str) -> dict[str, Decimal]:
    """SKU -> unit price of the product lines of the order with this number (the first
    line's, when a SKU has several)."""
    prices: dict[str, Decimal] = {}
    rows = (
        OrderLine.objects.filter(order__external_id=external_id, kind=LineKind.PRODUCT)
        .order_by("line_no")
        .values_list("sku", "unit_price")
    )
    for sku, price in rows:
        prices.setdefault(sku, price)
    return prices


def statuses_of(external_ids: list[str]) -> dict[str, str]:
    """Order number -> status of those orders eCRM knows."""
    found: dict[str, str] = {}
    for start in range(0, len(external_ids), 500):
        found.update(
            Order.objects.filter(external_id__in=external_ids[start : start + 500]).values_list(
                "external_id", "status"
            )
        )
    return found


def first_order(
    customer_id: int, *, statuses: tuple[str, ...], min_total: Decimal = Decimal(0)
) -> OrderBrief | None:
    """The customer's earliest order in one of ``statuses`` with a total of ``min_total`` or
    more (referral rewards wait for it), or None."""
    row = (
        Order.objects.filter(customer_id=customer_id, status__in=statuses, total__gte=min_total)
        .order_by("placed_at", "pk")
        .values_list("external_id", "customer_id", "status", "total", "currency", "placed_at")
        .first()
    )
    return None if row is None else OrderBrief(*row)


def orders_between(
    start: dt.datetime,
    end: dt.datetime,
    *,
    statuses: tuple[str, ...],
    min_total: Decimal = Decimal(0),
    limit: int = 500,
) -> list[OrderBrief]:
    """Orders placed in ``[start, end)`` with one of ``statuses`` and at least ``min_total``,
    oldest first, at most ``limit`` (the demo shop attaches coupon uses to them)."""
    rows = (
        Order.objects.filter(
            placed_at__gte=start,
            placed_at__lt=end,
            status__in=statuses,
            total__gte=min_total,
            customer__isnull=False,
        )
        .order_by("placed_at", "pk")
        .values_list("external_id", "customer_id", "status", "total", "currency", "placed_at")
    )
    return [OrderBrief(*row) for row in rows[:limit]]
