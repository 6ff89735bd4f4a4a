from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin, ReadOnlyInline
from ecrm.orders.models import Order, OrderLine, Return, ReturnLine


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("line_no", "kind", "sku", "name", "quantity", "unit_price", "amount")


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ("line_no", "kind", "sku", "name", "quantity", "unit_price", "amount")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    """Orders come from the shop (events, imports); status changes follow the lifecycle
    in ``ecrm.orders.api.set_order_status``, so the back office only shows them."""

    list_display = (
        "external_id",
        "customer",
        "status",
        "channel",
        "total",
        "currency",
        "placed_at",
    )
    list_filter = ("status",)
    search_fields = ("=external_id", "=customer__id")
    raw_id_fields = ("customer",)
    inlines = (OrderLineInline,)
    ordering = ("-pk",)


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdmin):
    list_display = ("external_id", "order", "customer", "amount", "currency", "returned_at")
    search_fields = ("=external_id",)
    raw_id_fields = ("order", "customer")
    inlines = (ReturnLineInline,)
    ordering = ("-pk",)
