from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin
from ecrm.value.models import (
    CustomerPrediction,
    CustomerProfit,
    CustomerScore,
    PredictionRun,
    ProfitRun,
    RfmRun,
)


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


@admin.register(PredictionRun)
class PredictionRunAdmin(ReadOnlyAdmin):
    list_display = ("computed_at", "horizon_days", "discount_rate", "customers", "total_clv")


@admin.register(CustomerPrediction)
class CustomerPredictionAdmin(ReadOnlyAdmin):
    """Predictions: rebuilt by ``ecrm value score`` and the nightly job."""

    list_display = ("customer", "frequency", "p_alive", "expected_purchases", "clv")
    search_fields = ("=customer__id",)
    raw_id_fields = ("customer",)
    ordering = ("-customer_id",)


@admin.register(ProfitRun)
class ProfitRunAdmin(ReadOnlyAdmin):
    list_display = ("computed_at", "customers", "applied_cost_ratio", "points_source")


@admin.register(CustomerProfit)
class CustomerProfitAdmin(ReadOnlyAdmin):
    """Value and cost: rebuilt by ``ecrm value profit`` and the nightly job."""

    list_display = ("customer", "orders", "revenue", "margin", "service_cost", "profit")
    search_fields = ("=customer__id",)
    raw_id_fields = ("customer",)
    ordering = ("-customer_id",)
