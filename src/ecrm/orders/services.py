"""Writes to orders and returns. Each refreshes the customer's figures unless the caller
batches that itself (``refresh=False``: the importer and the event batch)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from ecrm.catalog import api as catalog
from ecrm.core import audit, clock
from ecrm.orders.models import LineKind, Order, OrderLine, OrderStatus, Return, ReturnLine
from ecrm.orders.rules import (
    OrderInput,
    ReturnInput,
    check_transition,
    order_hash,
    return_hash,
)


def _refresh(customer_ids) -> None:
    from ecrm.figures import api as figures

    figures.refresh_customers([c for c in customer_ids if c])


def _line_rows(lines, product_ids, factory, parent_field, parent_id):
    return [
        factory(
            **{parent_field: parent_id},
            line_no=i,
            kind=line.kind,
            product_id=product_ids.get(line.sku) if line.kind == LineKind.PRODUCT else None,
            sku=line.sku[:80],
            name=line.name[:300],
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.line_amount,
        )
        for i, line in enumerate(lines, start=1)
    ]


def _product_ids(lines) -> dict[str, int]:
    items = [
        catalog.ProductInput(sku=line.sku, name=line.name)
        for line in lines
        if line.kind == LineKind.PRODUCT and line.sku
    ]
    return catalog.upsert_products(items)


def record_order(
    order: OrderInput, *, customer_id: int | None, refresh: bool = True
) -> tuple[Order, bool]:
    """Create or update the order with this number. Returns (order, changed).

    The shop is the source of truth for its orders, so an update may set any status;
    staff changes go through ``set_order_status``, which enforces the lifecycle.
    """
    digest = order_hash(order, customer_id)
    with transaction.atomic():
        existing = Order.objects.select_for_update().filter(external_id=order.external_id).first()
        if existing is not None and existing.content_hash == digest:
            return existing, False
        now = clock.now()
        values = dict(
            customer_id=customer_id,
            status=order.status,
            channel=order.channel[:40],
            store=order.store[:80],
            department=order.department[:80],
            country=order.country[:60],
            region=order.region[:60],
            city=order.city[:60],
            currency=order.currency,
            subtotal=order.subtotal,
            discount=order.discount,
            shipping=order.shipping,
            tax=order.tax,
            total=order.grand_total,
            coupon=order.coupon[:80],
            placed_at=order.placed_at,
            source=order.source[:40],
            content_hash=digest,
            attributes=order.attributes,
        )
        previous_customer = existing.customer_id if existing else None
        if existing is None:
            saved = Order.objects.create(
                external_id=order.external_id[:80], status_changed_at=now, **values
            )
        else:
            if existing.status != order.status:
                values["status_changed_at"] = now
            for k, v in values.items():
                setattr(existing, k, v)
            existing.save()
            saved = existing
            OrderLine.objects.filter(order=saved).delete()
        products = _product_ids(order.lines)
        OrderLine.objects.bulk_create(
            _line_rows(order.lines, products, OrderLine, "order_id", saved.pk)
        )
        if refresh:
            _refresh({customer_id, previous_customer})
    return saved, True


def set_order_status(
    external_id: str, status: str, *, actor: audit.Actor, refresh: bool = True
) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(external_id=external_id)
        check_transition(order.status, status)
        if order.status != status:
            before = order.status
            order.status = status
            order.status_changed_at = clock.now()
            order.content_hash = ""
            order.save(update_fields=["status", "status_changed_at", "content_hash"])
            audit.record(
                actor, "status", "order", order.external_id, {"status": before}, {"status": status}
            )
            if refresh:
                _refresh({order.customer_id})
    return order


def record_return(
    ret: ReturnInput, *, customer_id: int | None, refresh: bool = True
) -> tuple[Return, bool]:
    """Create or update a return. A return of an order's full total marks it refunded."""
    with transaction.atomic():
        order = None
        if ret.order_external_id:
            order = (
                Order.objects.select_for_update().filter(external_id=ret.order_external_id).first()
            )
            if customer_id is None and order is not None:
                customer_id = order.customer_id
        digest = return_hash(ret, customer_id)
        existing = Return.objects.filter(external_id=ret.external_id).first()
        if existing is not None and existing.content_hash == digest:
            return existing, False
        values = dict(
            order=order,
            customer_id=customer_id,
            currency=ret.currency,
            amount=ret.refund_amount,
            reason=ret.reason[:200],
            returned_at=ret.returned_at,
            source=ret.source[:40],
            content_hash=digest,
        )
        if existing is None:
            saved = Return.objects.create(external_id=ret.external_id[:80], **values)
        else:
            for k, v in values.items():
                setattr(existing, k, v)
            existing.save()
            saved = existing
            ReturnLine.objects.filter(ret=saved).delete()
        products = _product_ids(ret.lines)
        ReturnLine.objects.bulk_create(
            _line_rows(ret.lines, products, ReturnLine, "ret_id", saved.pk)
        )
        if order is not None and order.status not in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            refunded = sum(
                Return.objects.filter(order=order).values_list("amount", flat=True), Decimal(0)
            )
            if refunded >= order.total:
                order.status = OrderStatus.REFUNDED
                order.status_changed_at = clock.now()
                order.content_hash = ""
                order.save(update_fields=["status", "status_changed_at", "content_hash"])
        if refresh:
            _refresh({customer_id})
    return saved, True
