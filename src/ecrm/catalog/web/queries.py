"""Reads of the catalogue for the console."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet

from ecrm.catalog.models import Product
from ecrm.console.keyset import id_page

PAGE = 50


def product_list(
    q: str = "", *, after: int | None = None, limit: int = PAGE
) -> tuple[list[Product], int | None]:
    """Products newest first; ``q`` matches a SKU exactly or a name by prefix."""
    qs: QuerySet = Product.objects.select_related("category", "brand")
    text = q.strip()
    if text:
        if connection.vendor == "sqlite":
            name = Q(name__gte=text, name__lt=text + "\U0010ffff")
        else:
            name = Q(name__startswith=text)
        qs = qs.filter(Q(sku=text) | name)
    return id_page(qs, after, limit)


def get_product(product_id: int) -> Product | None:
    return Product.objects.select_related("category", "brand").filter(pk=product_id).first()
