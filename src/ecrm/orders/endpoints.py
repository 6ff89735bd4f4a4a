"""JSON API for orders: read, upsert from the shop's systems, move along the lifecycle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema

from ecrm.config.api import Currency, Key, Moment, key_text, one_of, require
from ecrm.core.audit import Actor
from ecrm.customers import api as customers
from ecrm.orders import api as orders
from ecrm.orders.models import Order
from ecrm.staff import rules as perms

router = Router(tags=["orders"])


class LineOut(Schema):
    line_no: int
    kind: str
    sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


class OrderOut(Schema):
    external_id: str
    customer_id: int | None
    status: str
    channel: str
    store: str
    department: str
    country: str
    region: str
    city: str
    currency: str
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    coupon: str
    employee: str
    placed_at: dt.datetime
    status_changed_at: dt.datetime
    lines: list[LineOut]


StatusText = one_of(orders.OrderStatus.values)
Sku = key_text(80)
OrderNumber = key_text(80)
LineKindText = one_of(orders.LineKind.values)


class OrderLineIn(Schema):
    sku: Sku
    name: str = ""
    quantity: Decimal = Decimal(1)
    unit_price: Decimal = Decimal(0)
    kind: LineKindText = "product"


class OrderIn(Schema):
    external_id: OrderNumber
    customer_id: Key | None = None
    placed_at: Moment
    status: StatusText = "paid"
    currency: Currency = ""
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
    employee: str = Field("", max_length=80)
    lines: list[OrderLineIn] = Field(..., min_length=1)


class OrderStatusIn(Schema):
    status: StatusText


def _out(order: Order) -> dict:
    data = {f: getattr(order, f) for f in OrderOut.model_fields if f != "lines"}
    data["lines"] = list(order.lines.order_by("line_no").values(*LineOut.model_fields))
    return data


@router.get("/{external_id}", response=OrderOut, summary="One order with its lines")
def read(request, external_id: str):
    require(request, perms.VIEW_CUSTOMERS)
    return _out(get_object_or_404(Order, external_id=external_id))


@router.put("", response=OrderOut, summary="Create or replace an order by its number")
def upsert(request, payload: OrderIn):
    require(request, perms.EDIT_CUSTOMERS)
    if payload.status not in orders.OrderStatus.values:
        raise orders.OrderError("status", f"unknown order status {payload.status!r}")
    for i, line in enumerate(payload.lines):
        if line.kind not in orders.LineKind.values:
            raise orders.OrderError(f"lines.{i}.kind", "must be product or fee")
    customer_id = None
    if payload.customer_id is not None:
        customer_id = customers.live_id(payload.customer_id)
    placed = payload.placed_at
    if placed.tzinfo is None:
        placed = placed.replace(tzinfo=dt.UTC)
    order, _changed = orders.record_order(
        orders.OrderInput(
            external_id=payload.external_id,
            placed_at=placed,
            currency=payload.currency or settings.ECRM["CURRENCY"],
            lines=tuple(
                orders.LineInput(
                    sku=x.sku,
                    name=x.name,
                    quantity=x.quantity,
                    unit_price=x.unit_price,
                    kind=x.kind,
                )
                for x in payload.lines
            ),
            status=payload.status,
            channel=payload.channel,
            store=payload.store,
            department=payload.department,
            country=payload.country,
            region=payload.region,
            city=payload.city,
            discount=payload.discount,
            shipping=payload.shipping,
            tax=payload.tax,
            coupon=payload.coupon,
            employee=payload.employee,
            source="api",
        ),
        customer_id=customer_id,
    )
    order.refresh_from_db()
    return _out(order)


@router.post(
    "/{external_id}/status", response=OrderOut, summary="Move an order along its lifecycle"
)
def change_status(request, external_id: str, payload: OrderStatusIn):
    require(request, perms.EDIT_CUSTOMERS)
    get_object_or_404(Order, external_id=external_id)
    order = orders.set_order_status(external_id, payload.status, actor=Actor.of(request.user))
    return _out(order)
