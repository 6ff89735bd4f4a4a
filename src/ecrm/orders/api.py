"""What other domains may call in orders."""

from ecrm.orders.models import LineKind, OrderStatus
from ecrm.orders.rules import LineInput, OrderError, OrderInput, ReturnInput
from ecrm.orders.services import record_order, record_return, set_order_status

__all__ = [
    "LineInput", "LineKind", "OrderError", "OrderInput", "OrderStatus", "ReturnInput",
    "record_order", "record_return", "set_order_status",
]
