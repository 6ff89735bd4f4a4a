"""Promotions in the back office: read-only. Campaigns, rewards and the referral programme
are saved through ``promotions.services`` (validated definitions, versions, counters that
checkout moves atomically); the console's Promotions pages edit them."""

from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin, ReadOnlyInline
from ecrm.promotions.models import (
    CampaignVersion,
    Coupon,
    CouponCampaign,
    Redemption,
    Referral,
    ReferralCode,
    ReferralProgramme,
    Reward,
    RewardClaim,
)


class CampaignVersionInline(ReadOnlyInline):
    model = CampaignVersion
    fields = ("version", "created_at", "created_by", "definition")
    ordering = ("-version",)


@admin.register(CouponCampaign)
class CouponCampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "version", "uses", "limit_total", "spent", "budget")
    list_filter = ("status",)
    search_fields = ("name",)
    inlines = (CampaignVersionInline,)


@admin.register(CampaignVersion)
class CampaignVersionAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "version", "created_at", "created_by")
    raw_id_fields = ("campaign",)


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ("code", "campaign", "customer", "uses", "max_uses", "expires_at", "void")
    search_fields = ("=code",)
    raw_id_fields = ("campaign", "customer")
    ordering = ("-pk",)


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ("order_ref", "coupon", "customer", "discount", "state", "redeemed_at")
    list_filter = ("state",)
    search_fields = ("=order_ref",)
    raw_id_fields = ("coupon", "campaign", "customer")
    ordering = ("-pk",)


@admin.register(Reward)
class RewardAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "points", "stock", "claimed", "active")


@admin.register(RewardClaim)
class RewardClaimAdmin(ReadOnlyAdmin):
    list_display = ("reward", "customer", "points", "coupon", "claimed_at")
    raw_id_fields = ("reward", "customer", "coupon")
    ordering = ("-pk",)


@admin.register(ReferralProgramme)
class ReferralProgrammeAdmin(ReadOnlyAdmin):
    list_display = ("pk", "version", "updated_at")


@admin.register(ReferralCode)
class ReferralCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "customer", "clicks", "created_at")
    search_fields = ("=code",)
    raw_id_fields = ("customer",)
    ordering = ("-pk",)


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ("referrer", "referee", "code", "state", "reason", "created_at")
    list_filter = ("state",)
    raw_id_fields = ("referrer", "referee")
    ordering = ("-pk",)
