from django.contrib import admin

from ecrm.catalog.models import Brand, Category, Product
from ecrm.core.admin import AuditedAdmin


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    list_display = ("name", "code", "parent")
    search_fields = ("name", "code")
    raw_id_fields = ("parent",)


@admin.register(Brand)
class BrandAdmin(AuditedAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    list_display = ("sku", "name", "category", "brand", "price", "currency", "updated_at")
    search_fields = ("=sku", "^name")
    raw_id_fields = ("category", "brand")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-pk",)

    def save_model(self, request, obj, form, change):
        from ecrm.core import clock

        now = clock.now()
        if not change:
            obj.created_at = now
        obj.updated_at = now
        super().save_model(request, obj, form, change)
