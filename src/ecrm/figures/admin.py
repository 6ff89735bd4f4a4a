from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin
from ecrm.figures.models import CustomerFigures


@admin.register(CustomerFigures)
class CustomerFiguresAdmin(ReadOnlyAdmin):
    """Derived figures: rebuilt by ``ecrm recompute``, never edited by hand."""

    list_display = ("customer", "order_count", "revenue", "last_order_at", "last_seen_at")
    search_fields = ("=customer__id",)
    raw_id_fields = ("customer",)
    ordering = ("-customer_id",)
