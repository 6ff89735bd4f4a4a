"""What other domains may call in the catalogue."""

from ecrm.catalog.services import (
    ProductInput,
    ensure_brand,
    ensure_category,
    ensure_products,
    import_products,
    upsert_products,
)

__all__ = [
    "ProductInput",
    "ensure_brand",
    "ensure_category",
    "ensure_products",
    "import_products",
    "upsert_products",
]
