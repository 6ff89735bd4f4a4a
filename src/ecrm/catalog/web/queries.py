"""Reads of the catalogue for the console."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ecrm.catalog.models import Product
from ecrm.console.keyset import id_page

PAGE = 50


def product_list(
    q: str = "", *, after: int | None = None, limit: int = PAGE
) -> tuple[list[Product], int | None]:
    """Products newest first; ``q`` matches a SKU, or any part of a name, in any case
    ("kettle" finds "WHITE KETTLE"). A catalogue is thousands of rows, not millions, so
    the scan this needs (no index serves a match inside a name) stays fast."""
    qs: QuerySet = Product.objects.select_related("category", "brand")
    text = q.strip()
    if text:
        qs = qs.filter(Q(sku__iexact=text) | Q(name__icontains=text))
    return id_page(qs, after, limit)


def get_product(product_id: int) -> Product | None:
    return Product.objects.select_related("category", "brand").filter(pk=product_id).first()
