"""JSON API for the catalogue."""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from ecrm.catalog import api as catalog
from ecrm.catalog.models import Product
from ecrm.config.api import Currency, Key, key_text, require
from ecrm.core.fields import MONEY_LIMIT
from ecrm.staff import rules as perms

router = Router(tags=["products"])
Sku = key_text(80)


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str | None
    brand: str | None
    price: Decimal
    cost: Decimal | None
    currency: str
    url: str
    image_url: str


class ProductIn(Schema):
    sku: Sku
    name: str = ""
    category: str = ""
    brand: str = ""
    price: Decimal | None = Field(None, ge=0, lt=MONEY_LIMIT)
    cost: Decimal | None = Field(None, ge=0, lt=MONEY_LIMIT)
    currency: Currency = ""
    url: str = ""
    image_url: str = ""


class ProductPage(Schema):
    items: list[ProductOut]
    next: int | None


def _out(p: Product) -> dict:
    return {
        **{f: getattr(p, f) for f in ProductOut.model_fields if f not in ("category", "brand")},
        "category": p.category.code if p.category_id else None,
        "brand": p.brand.name if p.brand_id else None,
    }


@router.get("", response=ProductPage, summary="Products, newest first (keyset pages)")
def list_products(request, after: Key | None = None, limit: int = Query(50, ge=1, le=200)):
    require(request, perms.VIEW_CUSTOMERS)
    qs = Product.objects.select_related("category", "brand").order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [_out(p) for p in rows], "next": rows[-1].pk if more and rows else None}


@router.get("/{sku}", response=ProductOut, summary="One product by SKU")
def read(request, sku: str):
    require(request, perms.VIEW_CUSTOMERS)
    return _out(get_object_or_404(Product.objects.select_related("category", "brand"), sku=sku))


@router.put("", response=ProductOut, summary="Create or update a product by SKU")
def upsert(request, payload: ProductIn):
    require(request, perms.EDIT_CUSTOMERS)
    catalog.upsert_products([catalog.ProductInput(**payload.model_dump())])
    return _out(Product.objects.select_related("category", "brand").get(sku=payload.sku))
