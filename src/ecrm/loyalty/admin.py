"""The back office reads the loyalty tables; every write goes through ``services`` (the
ledger is append-only, rules are validated and versioned, adjustments are audited)."""

from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin
from ecrm.loyalty.models import (
    EarningRule,
    EarningRuleVersion,
    Membership,
    PointsDebit,
    PointsEntry,
    Programme,
    Tier,
    TierChange,
)


@admin.register(Programme)
class ProgrammeAdmin(ReadOnlyAdmin):
    list_display = ("name", "enabled", "version", "updated_at")


@admin.register(Tier)
class TierAdmin(ReadOnlyAdmin):
    list_display = ("rank", "code", "name", "threshold", "multiplier", "discount_percent")


@admin.register(EarningRule)
class EarningRuleAdmin(ReadOnlyAdmin):
    list_display = ("name", "active", "version", "updated_at")
    search_fields = ("name",)


@admin.register(EarningRuleVersion)
class EarningRuleVersionAdmin(ReadOnlyAdmin):
    list_display = ("rule", "version", "name", "active", "created_at", "created_by_label")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer_id", "tier", "points", "special", "joined_at", "channel")
    search_fields = ("number",)
    raw_id_fields = ("customer",)


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ("customer_id", "at", "from_tier", "to_tier", "reason")


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ("customer_id", "created_at", "kind", "points", "source", "source_ref")
    list_filter = ("kind", "source")


@admin.register(PointsDebit)
class PointsDebitAdmin(ReadOnlyAdmin):
    list_display = ("debit_id", "lot_id", "points")
