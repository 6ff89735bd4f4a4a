"""The analytics read model in the back office: read-only, rebuilt by ``ecrm analytics
rebuild`` and kept current by the flows; useful to check what a report summed."""

from django.contrib import admin

from ecrm.analytics.models import (
    Activity,
    ActivityCell,
    CategoryPath,
    Cell,
    CustomerCell,
    Fact,
    ItemFact,
    MemberCell,
    Pending,
    Snapshot,
)
from ecrm.core.admin import ReadOnlyAdmin


@admin.register(Fact)
class FactAdmin(ReadOnlyAdmin):
    list_display = (
        "kind",
        "source_id",
        "customer_id",
        "day",
        "region",
        "channel",
        "employee",
        "revenue",
        "returned",
        "contacts",
    )
    list_filter = ("kind",)
    search_fields = ("=customer_id", "=source_id")
    ordering = ("-id",)


@admin.register(ItemFact)
class ItemFactAdmin(ReadOnlyAdmin):
    list_display = (
        "kind",
        "source_id",
        "customer_id",
        "day",
        "category_id",
        "line_sales",
        "cost",
        "returned",
    )
    search_fields = ("=customer_id", "=source_id")
    ordering = ("-id",)


@admin.register(Cell)
class CellAdmin(ReadOnlyAdmin):
    list_display = (
        "cube",
        "period",
        "category_id",
        "region",
        "channel",
        "employee",
        "orders",
        "revenue",
    )
    list_filter = ("cube",)
    ordering = ("-id",)


@admin.register(CustomerCell)
class CustomerCellAdmin(ReadOnlyAdmin):
    list_display = ("path", "grain", "period", "category_id", "region", "channel", "customers")
    list_filter = ("path", "grain")
    ordering = ("-id",)


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("customer_id", "grain", "period", "cohort", "flags", "orders", "revenue")
    search_fields = ("=customer_id",)
    ordering = ("-id",)


@admin.register(ActivityCell)
class ActivityCellAdmin(ReadOnlyAdmin):
    list_display = ("grain", "period", "cohort", "visitors", "buyers", "repeat_buyers")
    list_filter = ("grain",)
    ordering = ("-period",)


@admin.register(MemberCell)
class MemberCellAdmin(ReadOnlyAdmin):
    list_display = (
        "view",
        "registered",
        "channel",
        "region",
        "city",
        "anonymous",
        "status",
        "customers",
    )
    ordering = ("-id",)


@admin.register(CategoryPath)
class CategoryPathAdmin(ReadOnlyAdmin):
    list_display = ("category_id", "ancestor_id", "depth")
    ordering = ("category_id", "depth")


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("part", "built_at", "seconds", "rows")


@admin.register(Pending)
class PendingAdmin(ReadOnlyAdmin):
    """Customers waiting for the worker's minute job (0: the guest orders)."""

    list_display = ("customer_id",)
