"""Writes to the catalogue: products, categories and brands are upserted by their keys."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from ecrm.catalog.models import Brand, Category, Product
from ecrm.core import clock
from ecrm.core.tables import select_where_in


@dataclass(frozen=True)
class ProductInput:
    sku: str
    name: str = ""
    category: str = ""  # a path such as "家电/冰箱" or a single name
    brand: str = ""
    price: Decimal | None = None
    cost: Decimal | None = None
    currency: str = ""
    url: str = ""
    image_url: str = ""


def ensure_category(path: str) -> int | None:
    """The id of the category at ``path`` (``"A/B"``), creating the missing levels."""
    parts = [p.strip() for p in path.replace(">", "/").split("/") if p.strip()]
    parent = None
    code = ""
    for part in parts:
        code = f"{code}/{part}" if code else part
        obj, _ = Category.objects.get_or_create(
            code=code[:120], defaults={"name": part[:200], "parent_id": parent}
        )
        parent = obj.pk
    return parent


def ensure_brand(name: str) -> int | None:
    name = name.strip()[:120]
    if not name:
        return None
    return Brand.objects.get_or_create(name=name)[0].pk


def _product_values(item: ProductInput, categories: dict, brands: dict) -> dict:
    """What an input says about a product; only non-empty values ever overwrite."""
    values = {
        "name": item.name[:300],
        "category_id": categories.get(item.category),
        "brand_id": brands.get(item.brand),
        "price": item.price,
        "cost": item.cost,
        "currency": item.currency,
        "url": item.url[:500],
        "image_url": item.image_url[:500],
    }
    return {k: v for k, v in values.items() if v not in (None, "")}


# What this process last applied per SKU, filled in only after the commit: the
# tracking API mentions the same products in batch after batch, and an item that says
# nothing new needs no query. Entries expire so edits from elsewhere are seen again.
_APPLIED: dict[str, tuple[ProductInput, int, float]] = {}
_APPLIED_TTL = 300.0
_APPLIED_MAX = 50_000


def upsert_products(items: list[ProductInput]) -> dict[str, int]:
    """Create unknown SKUs and fill in what is new about known ones. Returns sku -> id.

    Only non-empty values overwrite: an event that mentions a product by SKU alone
    never blanks the name the catalogue import gave it.
    """
    by_sku = {i.sku: i for i in items if i.sku}
    if not by_sku:
        return {}
    ids: dict[str, int] = {}
    moment = time.monotonic()
    for sku, item in list(by_sku.items()):
        hit = _APPLIED.get(sku)
        if hit is not None and hit[0] == item and moment - hit[2] < _APPLIED_TTL:
            ids[sku] = hit[1]
            del by_sku[sku]
    if not by_sku:
        return ids
    now = clock.now()
    with transaction.atomic():
        existing = {p.sku: p for p in Product.objects.filter(sku__in=list(by_sku))}
        categories: dict[str, int | None] = {}
        brands: dict[str, int | None] = {}
        for sku, item in by_sku.items():
            if item.category and item.category not in categories:
                categories[item.category] = ensure_category(item.category)
            if item.brand and item.brand not in brands:
                brands[item.brand] = ensure_brand(item.brand)
            values = _product_values(item, categories, brands)
            product = existing.get(sku)
            if product is None:
                existing[sku] = Product.objects.create(
                    sku=sku[:80], created_at=now, updated_at=now, **values
                )
                continue
            changed = [k for k, v in values.items() if getattr(product, k) != v]
            if changed:
                for k in changed:
                    setattr(product, k, values[k])
                product.updated_at = now
                product.save(update_fields=[*changed, "updated_at"])
        applied = {sku: (by_sku[sku], p.pk, moment) for sku, p in existing.items()}
        transaction.on_commit(lambda: _remember(applied))
    ids.update({sku: p.pk for sku, p in existing.items()})
    return ids


def _remember(applied: dict) -> None:
    if len(_APPLIED) + len(applied) > _APPLIED_MAX:
        _APPLIED.clear()
    _APPLIED.update(applied)


# --- bulk import -------------------------------------------------------------------

BULK_CHUNK = 500


def _existing_products(skus: list[str]) -> dict:
    found = {}
    for start in range(0, len(skus), BULK_CHUNK):
        for product in Product.objects.filter(sku__in=skus[start : start + BULK_CHUNK]):
            found[product.sku] = product
    return found


def _ids_by_sku(skus: list[str]) -> dict[str, int]:
    """sku -> id of the known ones, in one statement."""
    return dict(select_where_in(Product._meta.db_table, "sku", skus, ("id",)))


def ensure_products(items: list[ProductInput]) -> tuple[dict[str, int], int]:
    """Ids of these SKUs, creating the unknown ones; known products are never changed.

    Order lines name their products in many ways (UCI descriptions vary per invoice), so a
    product created here takes the first non-empty name it is given and keeps it.
    Returns (sku -> id, number created).
    """
    first: dict[str, ProductInput] = {}
    for item in items:
        if item.sku and (item.sku not in first or (item.name and not first[item.sku].name)):
            first[item.sku] = item
    if not first:
        return {}, 0
    now = clock.now()
    with transaction.atomic():
        skus = sorted(first)
        ids = _ids_by_sku(skus)
        new = [
            Product(sku=sku[:80], name=first[sku].name[:300], created_at=now, updated_at=now)
            for sku in skus
            if sku not in ids
        ]
        Product.objects.bulk_create(new, batch_size=BULK_CHUNK)
        ids.update((p.sku, p.pk) for p in new)
    return ids, len(new)


def import_products(items: list[ProductInput]) -> tuple[dict[str, int], int, int]:
    """``upsert_products`` for a catalogue file, set-based: (sku -> id, created, changed).

    A later row of the same SKU wins; empty values never blank what the catalogue has.
    """
    by_sku = {i.sku: i for i in items if i.sku}
    if not by_sku:
        return {}, 0, 0
    now = clock.now()
    with transaction.atomic():
        existing = _existing_products(sorted(by_sku))
        categories = {c: ensure_category(c) for c in {i.category for i in by_sku.values()} if c}
        brands = {b: ensure_brand(b) for b in {i.brand for i in by_sku.values()} if b}
        new, changed, fields = [], [], set()
        for sku, item in by_sku.items():
            values = _product_values(item, categories, brands)
            product = existing.get(sku)
            if product is None:
                new.append(Product(sku=sku[:80], created_at=now, updated_at=now, **values))
                continue
            dirty = [k for k, v in values.items() if getattr(product, k) != v]
            if dirty:
                for k in dirty:
                    setattr(product, k, values[k])
                product.updated_at = now
                fields.update(dirty)
                changed.append(product)
        Product.objects.bulk_create(new, batch_size=BULK_CHUNK)
        if changed:
            Product.objects.bulk_update(changed, [*sorted(fields), "updated_at"], BULK_CHUNK)
        ids = {sku: p.pk for sku, p in existing.items()} | {p.sku: p.pk for p in new}
    return ids, len(new), len(changed)
