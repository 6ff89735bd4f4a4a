"""What other domains may call in orders."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ecrm.orders.models import LineKind, Order, OrderStatus
from ecrm.orders.rules import LineInput, OrderError, OrderInput, ReturnInput
from ecrm.orders.services import (
    BatchResult,
    record_order,
    record_orders,
    record_return,
    record_returns,
    set_order_status,
)

__all__ = [
    "BatchResult",
    "record_orders",
    "record_returns",
    "LineInput",
    "LineKind",
    "OrderBrief",
    "OrderError",
    "OrderInput",
    "OrderStatus",
    "ReturnInput",
    "order_brief",
    "record_order",
    "record_return",
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
