"""Order lifecycle and order content: pure functions."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from dataclasses import fields as dc_fields
from decimal import Decimal
from typing import NamedTuple

from ecrm.core.currency import NOT_A_CURRENCY, iso_code
from ecrm.core.fields import MONEY_LIMIT, QUANTITY_LIMIT
from ecrm.orders.models import LineKind, OrderStatus

S = OrderStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PLACED: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.DELIVERED, S.CANCELLED, S.RETURNED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURNED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.RETURNED, S.REFUNDED}),
    S.RETURNED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}


class OrderError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def check_transition(current: str, new: str) -> None:
    if new not in S.values:
        raise OrderError("status", f"unknown order status {new!r}")
    if current == new:
        return
    if new not in TRANSITIONS[current]:
        raise OrderError("status", f"an order cannot go from {current} to {new}")


def is_stale(as_of: dt.datetime | None, content_at: dt.datetime | None) -> bool:
    """Whether a message about an order, sent ``as_of``, is older than the content the
    order holds (``content_at``): a late or re-sent Order Completed after an Order Updated
    must not bring the old lines and total back. Without either time nothing is stale."""
    return as_of is not None and content_at is not None and as_of < content_at


def check_order(order: OrderInput) -> None:
    """The order's currency is an ISO 4217 code and every number its row and its lines'
    rows store fits its column; an ``OrderError`` names the first that does not
    (``lines.2.unit_price``)."""
    if iso_code(order.currency) != order.currency:
        raise OrderError("currency", NOT_A_CURRENCY % {"value": repr(order.currency)})
    for i, line in enumerate(order.lines):
        if abs(line.quantity) >= QUANTITY_LIMIT:
            raise OrderError(f"lines.{i}.quantity", f"{line.quantity:f} is too large")
        for name, value in (("unit_price", line.unit_price), ("amount", line.line_amount)):
            if abs(value) >= MONEY_LIMIT:
                raise OrderError(f"lines.{i}.{name}", f"{value:f} is too large")
    for name in ("discount", "shipping", "tax", "subtotal", "grand_total"):
        value = getattr(order, name)
        if abs(value) >= MONEY_LIMIT:
            raise OrderError("total" if name == "grand_total" else name, f"{value:f} is too large")


@dataclass(frozen=True)
class LineInput:
    sku: str
    name: str = ""
    quantity: Decimal = Decimal(1)
    unit_price: Decimal = Decimal(0)
    kind: str = LineKind.PRODUCT
    amount: Decimal | None = None

    @property
    def line_amount(self) -> Decimal:
        return self.amount if self.amount is not None else self.quantity * self.unit_price

    def __getstate__(self) -> dict:
        # Without what is cached on the line ("_repr", the importer's "_row").
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


@dataclass(frozen=True)
class OrderInput:
    external_id: str
    placed_at: dt.datetime
    currency: str
    lines: tuple[LineInput, ...] = ()
    status: str = S.PAID
    channel: str = ""
    store: str = ""
    department: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    discount: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    total: Decimal | None = None  # None: sum of lines - discount + shipping + tax
    coupon: str = ""
    source: str = ""
    attributes: dict = field(default_factory=dict)
    employee: str = ""  # staff username or the shop's employee code

    # Plain properties: a bulk import reads each once or twice, and functools'
    # cached_property takes a lock on every read (Python 3.11).
    @property
    def subtotal(self) -> Decimal:
        cached = self.__dict__.get("_subtotal")
        if cached is None:  # the order is frozen; this is a cache
            cached = self.__dict__["_subtotal"] = sum(
                (line.line_amount for line in self.lines), Decimal(0)
            )
        return cached

    @property
    def grand_total(self) -> Decimal:
        if self.total is not None:
            return self.total
        cached = self.__dict__.get("_grand_total")
        if cached is None:  # frozen; a cache, read by the fingerprint and the row
            cached = self.__dict__["_grand_total"] = (
                self.subtotal - self.discount + self.shipping + self.tax
            )
        return cached


@dataclass(frozen=True)
class OrderShape:
    """What many orders of one source share: every field of ``OrderInput`` but the number,
    time and lines (no total or attributes: they follow from the lines, and none are set).
    ``order`` builds the orders; what the fingerprint and the database row make of these
    fields is then worked out once per shape, not once per order (a bulk import's orders
    come in a handful of shapes)."""

    currency: str
    status: str = S.PAID
    channel: str = ""
    store: str = ""
    department: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    discount: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    coupon: str = ""
    source: str = ""
    employee: str = ""

    def totals(self, lines: tuple) -> tuple[Decimal, Decimal]:
        """The subtotal and grand total of an order of this shape with ``lines``, as
        ``OrderInput`` works them out."""
        subtotal = sum((line.line_amount for line in lines), Decimal(0))
        return subtotal, subtotal - self.discount + self.shipping + self.tax

    def order(self, external_id: str, placed_at: dt.datetime, lines: tuple) -> OrderInput:
        fields = self.__dict__.get("_fields")
        if fields is None:  # the shape is frozen; this is a cache
            fields = self.__dict__["_fields"] = {
                f.name: getattr(self, f.name) for f in dc_fields(self)
            }
        order = OrderInput(external_id=external_id, placed_at=placed_at, lines=lines, **fields)
        order.__dict__["_shape"] = self  # the order is frozen; read by the functions below
        return order

    @property
    def content_parts(self) -> tuple[str, str, str]:
        """``order_content_repr``'s text between the time and the total, between the total
        and the lines, and after the lines (kept on the shape)."""
        cached = self.__dict__.get("_content")
        if cached is None:
            middle = (self.currency, self.status, self.channel, self.store, self.department,
                      self.country, self.region, self.city, self.discount, self.shipping,
                      self.tax)  # fmt: skip
            tail = f", {self.employee!r})" if self.employee else ")"
            cached = (repr(middle)[1:-1], f"{self.coupon!r}, []", tail)
            self.__dict__["_content"] = cached  # frozen; this is a cache
        return cached


class ShapedOrder(NamedTuple):
    """An order as a bulk import reads it: its ``OrderShape`` and what differs from order
    to order. ``pack_orders`` packs it as the ``OrderInput`` that ``whole()`` gives (same
    row, same fingerprint); being a tuple, it costs a fraction of an ``OrderInput`` to
    make and to free, and an import makes one per order."""

    shape: OrderShape
    external_id: str
    placed_at: dt.datetime
    lines: tuple[LineInput, ...]

    def whole(self) -> OrderInput:
        return self.shape.order(self.external_id, self.placed_at, self.lines)


@dataclass(frozen=True)
class ReturnInput:
    external_id: str
    returned_at: dt.datetime
    currency: str
    lines: tuple[LineInput, ...] = ()
    order_external_id: str = ""
    amount: Decimal | None = None  # None: the sum of the lines, as a positive amount
    reason: str = ""
    source: str = ""

    @property
    def refund_amount(self) -> Decimal:
        if self.amount is not None:
            return abs(self.amount)
        return abs(sum((line.line_amount for line in self.lines), Decimal(0)))


def content_hash(*parts) -> str:
    """A fingerprint of what an order says, so re-importing it is a no-op: one hash of the
    ``repr`` of all parts (strings, numbers, decimals, tuples and lists of them)."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _line_parts(lines) -> tuple:
    return tuple(_line_part(x) for x in lines)


def _line_part(x: LineInput) -> tuple:
    return (x.sku, x.name, x.quantity, x.unit_price, x.kind, x.line_amount)


def _line_repr(line: LineInput) -> str:
    """``repr(_line_part(line))``, kept on the line: a bulk import's parser gives equal
    lines of different orders one shared ``LineInput``, so each is written once."""
    cached = line.__dict__.get("_repr")
    if cached is None:
        cached = line.__dict__["_repr"] = repr(_line_part(line))  # frozen; this is a cache
    return cached


def _lines_repr(lines) -> str:
    """``repr(_line_parts(lines))`` from each line's ``_line_repr``."""
    if len(lines) == 1:
        return f"({_line_repr(lines[0])},)"
    return f"({', '.join(map(_line_repr, lines))})"


def order_hash(order: OrderInput, customer_id: int | None) -> str:
    """The fingerprint ``record_order`` and ``record_orders`` both store on an order:
    ``content_hash(customer_id, *order content)``, with the costly part kept on the order
    (``order_content_repr``) so a bulk import can prepare it in its reading process."""
    return content_digest(customer_id, order_content_repr(order).encode())


def content_digest(customer_id: int | None, content: bytes) -> str:
    """``order_hash`` from the order's ``order_content_repr``, UTF-8 encoded."""
    text = f"({customer_id!r}, ".encode() + content
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def order_content_repr(order: OrderInput) -> str:
    """``repr`` of the order's content parts without the leading "(": cached on the order."""
    cached = order.__dict__.get("_content_repr")
    if cached is None and "_shape" in order.__dict__:
        cached = shaped_content_repr(
            order.__dict__["_shape"], order.placed_at, order.grand_total, order.lines
        )
        order.__dict__["_content_repr"] = cached
    elif cached is None:
        # repr((*head, lines, *tail)) without its "(", the lines' reprs taken from the lines.
        head = (
            order.placed_at.isoformat(),
            order.currency,
            order.status,
            order.channel,
            order.store,
            order.department,
            order.country,
            order.region,
            order.city,
            order.discount,
            order.shipping,
            order.tax,
            order.grand_total,
            order.coupon,
            sorted(order.attributes.items()) if order.attributes else [],
        )
        # The employee only when set, so orders recorded before the column existed keep
        # their fingerprint.
        tail = f", {order.employee!r})" if order.employee else ")"
        cached = f"{repr(head)[1:-1]}, {_lines_repr(order.lines)}{tail}"
        order.__dict__["_content_repr"] = cached  # the order is frozen; this is a cache
    return cached


def shaped_content_repr(
    shape: OrderShape, placed_at: dt.datetime, grand_total: Decimal, lines: tuple
) -> str:
    """``order_content_repr`` of the order of ``shape`` with these values: the same text,
    with the shape's fields' part worked out once per shape."""
    middle, after_total, tail = shape.content_parts
    return (
        f"{placed_at.isoformat()!r}, {middle}, {grand_total!r}, {after_total}, "
        f"{_lines_repr(lines)}{tail}"
    )


def return_hash(ret: ReturnInput, customer_id: int | None) -> str:
    return content_hash(
        customer_id,
        ret.returned_at.isoformat(),
        ret.currency,
        ret.order_external_id,
        ret.refund_amount,
        ret.reason,
        _line_parts(ret.lines),
    )
