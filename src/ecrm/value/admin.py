from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin
from ecrm.value.models import CustomerScore, RfmRun


@admin.register(CustomerScore)
class CustomerScoreAdmin(ReadOnlyAdmin):
    """RFM scores: rebuilt by ``ecrm value rfm`` and the nightly job, never edited by hand."""

    list_display = ("customer", "r", "f", "m", "rfm_group", "dormant", "low_return")
    list_filter = ("rfm_group", "dormant", "low_return")
    search_fields = ("=customer__id",)
    raw_id_fields = ("customer",)
    ordering = ("-customer_id",)


@admin.register(RfmRun)
class RfmRunAdmin(ReadOnlyAdmin):
    list_display = ("computed_at", "window_days", "dormant_days", "customers", "top20_share")
