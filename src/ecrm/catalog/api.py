"""What other domains may call in the catalogue."""

from ecrm.catalog.services import ProductInput, ensure_brand, ensure_category, upsert_products

__all__ = ["ProductInput", "ensure_brand", "ensure_category", "upsert_products"]
