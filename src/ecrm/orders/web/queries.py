"""Reads of orders and returns for the console pages, keyset-paged newest first."""

from __future__ import annotations

from django.db.models import QuerySet

from ecrm.console.keyset import Cursor, older_than, page
from ecrm.orders.models import Order, OrderLine, Return

PAGE = 50


def order_list(
    *,
    status: str = "",
    customer_id: int | None = None,
    number: str = "",
    cursor: Cursor | None = None,
    limit: int = PAGE,
) -> tuple[list[Order], str | None]:
    qs: QuerySet = Order.objects.select_related("customer")
    if number:
        qs = qs.filter(external_id=number.strip())
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    return page(qs, "placed_at", cursor, limit)


def get_order(order_id: int) -> Order | None:
    return Order.objects.select_related("customer").filter(pk=order_id).first()


def lines_of(order_id: int) -> list[OrderLine]:
    return list(
        OrderLine.objects.filter(order_id=order_id).select_related("product").order_by("line_no")
    )


def returns_of_order(order_id: int) -> list[Return]:
    return list(Return.objects.filter(order_id=order_id).order_by("-returned_at", "-pk"))


def orders_of(
    customer_id: int, *, before: Cursor | None = None, ties: str = "pk", limit: int = PAGE
) -> list[Order]:
    qs = Order.objects.filter(customer_id=customer_id)
    if before is not None:
        qs = older_than(qs, "placed_at", before.at, before.pk, ties)
    return list(qs.order_by("-placed_at", "-pk")[:limit])


def returns_of(
    customer_id: int, *, before: Cursor | None = None, ties: str = "pk", limit: int = PAGE
) -> list[Return]:
    qs = Return.objects.filter(customer_id=customer_id).select_related("order")
    if before is not None:
        qs = older_than(qs, "returned_at", before.at, before.pk, ties)
    return list(qs.order_by("-returned_at", "-pk")[:limit])


def lines_with_product(product_id: int, limit: int = 20) -> list[OrderLine]:
    """The latest order lines of one product (by line id, on the product index)."""
    return list(
        OrderLine.objects.filter(product_id=product_id)
        .select_related("order", "order__customer")
        .order_by("-pk")[:limit]
    )
