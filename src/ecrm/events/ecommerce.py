"""Segment's E-commerce Spec v2, read into catalogue and order inputs: pure, no ORM.

What each event becomes (``services.ingest`` does the writes):

- Product Viewed / Clicked / Added / Removed: the product in ``properties`` is upserted.
- Product List Viewed, Cart Viewed, Checkout Started: every item of ``properties.products``
  is upserted.
- Products Searched: stored as an event only (it names a query, not a product).
- Order Completed: the order ``order_id`` is recorded as paid, one line per product; an
  order already known keeps its buyer (unless a guest profile holds it), and its status
  when past paid (cancelled, refunded, ...: a late or repeated Completed does not revive
  it).
- Order Updated: the order is recorded again with the new content; it keeps its customer
  and status when it exists already. A Completed or Updated older than the content the
  order holds (``Order.content_at``: events delivered out of order, a late retry) leaves
  it alone.
- Order Cancelled: the order is set to cancelled (created cancelled when unknown).
- Order Refunded: a return of ``total`` (else of the listed products, at their price in
  the order when they name none; else of what the order's earlier refunds left) against
  the order, in the order's currency unless the event names one. A refund of an order not
  recorded yet keeps its number, and the order takes it when its Order Completed arrives.

A product's key in the catalogue is ``product_id``, else ``sku``, else ``id`` (spec v1).
The order total is ``total``; without it ``revenue + shipping + tax``; without that
``subtotal + shipping + tax`` (the spec's ``revenue`` and ``subtotal`` are both after
discounts, before shipping and tax); without that the sum of the lines minus discount
plus shipping and tax. Money is read from numbers or numeric strings.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from ecrm.catalog.api import ProductInput
from ecrm.core.currency import NOT_A_CURRENCY, iso_code
from ecrm.core.fields import MONEY_LIMIT
from ecrm.orders.api import (
    LineInput,
    OrderError,
    OrderInput,
    OrderStatus,
    ReturnInput,
    check_order,
)

PRODUCT_EVENTS = frozenset(
    {"Product Viewed", "Product Clicked", "Product Added", "Product Removed"}
)
PRODUCT_LIST_EVENTS = frozenset({"Product List Viewed", "Cart Viewed", "Checkout Started"})
ORDER_EVENTS = frozenset({"Order Completed", "Order Updated", "Order Cancelled", "Order Refunded"})
SPEC_EVENTS = PRODUCT_EVENTS | PRODUCT_LIST_EVENTS | ORDER_EVENTS | {"Products Searched"}

QUANTITY_LIMIT = Decimal("1e10")
CENT = Decimal("0.0001")
MILLI = Decimal("0.001")


class CommerceError(ValueError):
    """A spec property is unusable; ``field`` is its path below ``properties``."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Commerce:
    """What one spec event asks of the catalogue and the orders."""

    event: str
    products: tuple[ProductInput, ...] = ()
    order_id: str = ""
    lines: tuple[LineInput, ...] = ()
    currency: str = ""
    total: Decimal | None = None
    discount: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    coupon: str = ""
    store: str = ""
    currency_named: bool = True  # False: ``currency`` is the shop's default
    unpriced: frozenset[int] = frozenset()  # indexes of the lines whose product has no price

    @property
    def is_order(self) -> bool:
        return self.event in ORDER_EVENTS


def parse(event: str, properties: dict, *, currency: str) -> Commerce | None:
    """The spec event ``event`` with these properties, or None for any other event.

    ``currency`` is the default when the event names none. Raises ``CommerceError``.
    """
    if event in PRODUCT_EVENTS:
        product, _ = _product(properties, "")
        return Commerce(event=event, products=(product,) if product.sku else ())
    if event in PRODUCT_LIST_EVENTS:
        items = [p for p, _ in _products(properties)]
        return Commerce(event=event, products=tuple(p for p in items if p.sku))
    if event not in ORDER_EVENTS:
        return None
    parsed = _products(properties)
    order_id = _text(properties.get("order_id", properties.get("orderId")), "order_id", 80)
    if not order_id:
        raise CommerceError("order_id", f"is required on {event}")
    lines = tuple(line for _, line in parsed)
    discount = _money(properties.get("discount"), "discount") or Decimal(0)
    shipping = _money(properties.get("shipping"), "shipping") or Decimal(0)
    tax = _money(properties.get("tax"), "tax") or Decimal(0)
    total = _money(properties.get("total"), "total")
    revenue = _money(properties.get("revenue"), "revenue")
    subtotal = _money(properties.get("subtotal"), "subtotal")
    if total is None and revenue is not None:
        total = revenue + shipping + tax
    if total is None and subtotal is not None:  # "after discounts but before taxes and shipping"
        total = subtotal + shipping + tax
    commerce = Commerce(
        event=event,
        products=tuple(p for p, _ in parsed if p.sku),
        order_id=order_id,
        lines=lines,
        currency=_currency(properties.get("currency"), currency),
        currency_named=properties.get("currency") not in (None, ""),
        unpriced=frozenset(i for i, (p, _) in enumerate(parsed) if p.price is None),
        total=total,
        discount=discount,
        shipping=shipping,
        tax=tax,
        coupon=_text(properties.get("coupon"), "coupon", 80),
        store=_text(properties.get("affiliation"), "affiliation", 80),
    )
    _check_order(commerce)
    return commerce


# Where an order's amount (``orders.check_order``) comes from in the event's properties.
_ORDER_FIELD = re.compile(r"lines\.(\d+)\.(?:(quantity)|unit_price|amount)")


def _check_order(commerce: Commerce) -> None:
    """What ``record_order`` will check (the currency, and every amount against its column),
    checked here, so that such an event is refused before it is accepted (the order's time
    plays no part)."""
    order = order_input(
        commerce, placed_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), status=PAID, channel=""
    )
    try:
        check_order(order)
    except OrderError as exc:
        line = _ORDER_FIELD.fullmatch(exc.field)
        if line:
            path = f"products[{line[1]}].{line[2] or 'price'}"
        else:
            path = "products" if exc.field == "subtotal" else exc.field
        raise CommerceError(path, exc.message) from None


def order_input(
    commerce: Commerce, *, placed_at: dt.datetime, status: str, channel: str
) -> OrderInput:
    return OrderInput(
        external_id=commerce.order_id,
        placed_at=placed_at,
        currency=commerce.currency,
        lines=commerce.lines,
        status=status,
        channel=channel,
        store=commerce.store,
        discount=commerce.discount,
        shipping=commerce.shipping,
        tax=commerce.tax,
        total=commerce.total,
        coupon=commerce.coupon,
        source="tracking",
    )


def return_input(
    commerce: Commerce,
    *,
    external_id: str,
    returned_at: dt.datetime,
    unrefunded: Decimal | None,
    order_currency: str | None,
    order_prices: dict[str, Decimal] | None = None,
) -> ReturnInput | None:
    """A refund of ``total``; else of the listed products; else of what is left of the
    order (``unrefunded``: its total less the refunds recorded; None when the order is
    unknown). None when that leaves nothing to refund: a full refund sent again, or after
    partial refunds that took it all. Without a currency of its own the refund is in the
    order's currency. A refunded product named without a price is refunded at its price
    in the order (``order_prices``: SKU -> unit price)."""
    lines = commerce.lines
    if commerce.unpriced and order_prices:
        lines = tuple(
            replace(line, unit_price=order_prices[line.sku])
            if i in commerce.unpriced and line.sku in order_prices
            else line
            for i, line in enumerate(lines)
        )
    amount = commerce.total
    if amount is None and not commerce.lines:
        amount = unrefunded
        if amount is not None and amount <= 0:
            return None
    currency = commerce.currency
    if not commerce.currency_named and order_currency:
        currency = order_currency
    return ReturnInput(
        external_id=external_id,
        returned_at=returned_at,
        currency=currency,
        lines=lines,
        order_external_id=commerce.order_id,
        amount=amount,
        reason="Order Refunded",
        source="tracking",
    )


PAID = OrderStatus.PAID.value
CANCELLED = OrderStatus.CANCELLED.value
PLACED = OrderStatus.PLACED.value


def completed_status(current: str | None) -> str:
    """The status an Order Completed gives an order now ``current`` (None: unknown): paid,
    unless the order has moved past paid (shipped, delivered, returned, refunded,
    cancelled); a late or repeated Completed never takes it back."""
    return PAID if current in (None, PLACED) else current


# --- values ----------------------------------------------------------------------


def _products(properties: dict) -> list[tuple[ProductInput, LineInput]]:
    raw = properties.get("products")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CommerceError("products", "must be a list of products")
    return [_product(item, f"products[{i}].") for i, item in enumerate(raw)]


def _product(raw, prefix: str) -> tuple[ProductInput, LineInput]:
    if not isinstance(raw, dict):
        raise CommerceError(prefix.rstrip(".") or "properties", "must be an object")
    key = ""
    for name in ("product_id", "sku", "id"):
        key = _text(raw.get(name), prefix + name, 80)
        if key:
            break
    name = _text(raw.get("name"), prefix + "name", 300)
    price = _money(raw.get("price"), prefix + "price")
    if price is not None and price < 0:  # as the catalogue API and the import refuse it
        raise CommerceError(prefix + "price", "must not be negative")
    quantity = _number(raw.get("quantity"), prefix + "quantity", QUANTITY_LIMIT, MILLI)
    if quantity is None:
        quantity = Decimal(1)
    product = ProductInput(
        sku=key,
        name=name,
        category=_text(raw.get("category"), prefix + "category", 200),
        brand=_text(raw.get("brand"), prefix + "brand", 120),
        price=price,
        url=_text(raw.get("url"), prefix + "url", 500),
        image_url=_text(raw.get("image_url"), prefix + "image_url", 500),
    )
    line = LineInput(sku=key, name=name, quantity=quantity, unit_price=price or Decimal(0))
    return product, line


def _text(raw, field_name: str, limit: int) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise CommerceError(field_name, "must be text")
    text = str(raw).strip()
    if len(text) > limit:
        raise CommerceError(field_name, f"is longer than {limit} characters")
    return text


def _money(raw, field_name: str) -> Decimal | None:
    return _number(raw, field_name, MONEY_LIMIT, CENT)


def _number(raw, field_name: str, limit: Decimal, step: Decimal) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise CommerceError(field_name, "must be a number")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise CommerceError(field_name, f"{raw!r} is not a number") from exc
    if not value.is_finite() or abs(value) >= limit:
        raise CommerceError(field_name, f"{raw!r} is out of range")
    return value.quantize(step)


def _currency(raw, default: str) -> str:
    if raw is None or raw == "":
        return default
    code = iso_code(raw)
    if code is None:
        raise CommerceError("currency", NOT_A_CURRENCY % {"value": repr(raw)})
    return code
