"""Reads of promotions: lists for the console and the API, a member's coupons, usage."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from ecrm.core import clock
from ecrm.promotions import rules
from ecrm.promotions.models import (
    CampaignStatus,
    Coupon,
    CouponCampaign,
    Redemption,
    RedemptionState,
    Referral,
    ReferralCode,
    Reward,
    RewardClaim,
)


def campaigns(status: str = "") -> list[CouponCampaign]:
    rows = CouponCampaign.objects.all()
    if status:
        rows = rows.filter(status=status)
    return list(rows.order_by("-created_at", "-pk")[:500])


def shared_code(campaign_id: int) -> str | None:
    """The code of a shared-code campaign (the one coupon nobody owns, made with it)."""
    return (
        Coupon.objects.filter(campaign_id=campaign_id, customer__isnull=True, source="")
        .order_by("pk")
        .values_list("code", flat=True)
        .first()
    )


@dataclass(frozen=True)
class MemberCoupon:
    code: str
    campaign: str
    campaign_id: int
    discount: str
    min_spend: Decimal
    currency: str
    expires_at: dt.datetime | None
    uses_left: int | None
    usable: bool
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def _usage(campaign: CouponCampaign, coupon: Coupon, customer_uses: int, facts: dict):
    return rules.Usage(
        campaign_status=campaign.status,
        campaign_uses=campaign.uses,
        campaign_spent=campaign.spent,
        code_uses=coupon.uses,
        code_max_uses=coupon.max_uses,
        code_customer_id=coupon.customer_id,
        code_expires_at=coupon.expires_at,
        code_void=coupon.void,
        customer_uses=customer_uses,
        **facts,
    )


def coupons_of(customer_id: int, *, include_used: bool = False) -> list[MemberCoupon]:
    """Coupons issued to the customer, newest first, then the active shared-code campaigns
    offered to them; each with whether it can be used now and, if not, why."""
    from ecrm.promotions.services import targeting_facts

    now = clock.now()
    issued = list(
        Coupon.objects.filter(customer_id=customer_id)
        .select_related("campaign")
        .order_by("-issued_at", "-pk")[:200]
    )
    shared = list(
        Coupon.objects.filter(
            customer__isnull=True, source="", campaign__status=CampaignStatus.ACTIVE, void=False
        )
        .select_related("campaign")
        .order_by("-pk")[:50]
    )
    campaign_ids = {c.campaign_id for c in issued + shared}
    used = dict(
        Redemption.objects.filter(
            customer_id=customer_id, campaign_id__in=campaign_ids, state=RedemptionState.REDEEMED
        )
        .values("campaign_id")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "n")
    )
    out = []
    for coupon in issued + shared:
        campaign = coupon.campaign
        terms = rules.validate_campaign(campaign.definition)
        facts = targeting_facts(terms, customer_id)
        usage = _usage(campaign, coupon, used.get(campaign.pk, 0), facts)
        reason = rules.availability(terms, usage, customer_id, now)
        if coupon.customer_id is None and reason in ("not_targeted", "new_customers_only"):
            continue  # a shared offer that is not for this customer is not theirs to see
        if not include_used and reason in ("code_used_up", "limit_per_customer"):
            continue
        left = None if coupon.max_uses is None else max(coupon.max_uses - coupon.uses, 0)
        out.append(
            MemberCoupon(
                code=coupon.code,
                campaign=campaign.name,
                campaign_id=campaign.pk,
                discount=rules.describe(terms),
                min_spend=terms.min_spend,
                currency=terms.currency,
                expires_at=_earliest(coupon.expires_at, terms.ends_at),
                uses_left=left,
                usable=not reason,
                reason=reason,
            )
        )
    return out


def _earliest(*moments):
    known = [m for m in moments if m is not None]
    return min(known) if known else None


@dataclass(frozen=True)
class CampaignUsage:
    redeemed: int
    released: int
    customers: int
    discount: Decimal
    revenue: Decimal  # cart subtotals of the redeemed uses
    by_day: list[tuple[dt.date, int, Decimal]]


def usage_of(campaign_id: int, days: int = 60) -> CampaignUsage:
    rows = Redemption.objects.filter(campaign_id=campaign_id)
    live = rows.filter(state=RedemptionState.REDEEMED)
    agg = live.aggregate(
        n=Count("pk"),
        customers=Count("customer_id", distinct=True),
        discount=Sum("discount"),
        revenue=Sum("cart_subtotal"),
    )
    since = clock.now() - dt.timedelta(days=days)
    by_day = [
        (row["day"], row["n"], row["discount"] or Decimal(0))
        for row in live.filter(redeemed_at__gte=since)
        .annotate(day=TruncDate("redeemed_at"))
        .values("day")
        .annotate(n=Count("pk"), discount=Sum("discount"))
        .order_by("day")
    ]
    return CampaignUsage(
        redeemed=agg["n"],
        released=rows.filter(state=RedemptionState.RELEASED).count(),
        customers=agg["customers"],
        discount=agg["discount"] or Decimal(0),
        revenue=agg["revenue"] or Decimal(0),
        by_day=by_day,
    )


def redemptions_of_campaign(campaign_id: int, limit: int = 50) -> list[Redemption]:
    return list(
        Redemption.objects.filter(campaign_id=campaign_id)
        .select_related("coupon")
        .order_by("-redeemed_at", "-pk")[:limit]
    )


def coupons_of_campaign(campaign_id: int, limit: int = 50) -> list[Coupon]:
    return list(Coupon.objects.filter(campaign_id=campaign_id).order_by("-pk")[:limit])


def rewards(active_only: bool = False) -> list[Reward]:
    rows = Reward.objects.select_related("campaign").order_by("points", "pk")
    if active_only:
        rows = rows.filter(active=True)
    return list(rows)


def claims(limit: int = 50) -> list[RewardClaim]:
    return list(
        RewardClaim.objects.select_related("reward", "coupon").order_by("-claimed_at", "-pk")[
            :limit
        ]
    )


def referral_of(referee_id: int) -> Referral | None:
    return Referral.objects.filter(referee_id=referee_id).first()


def referrals(
    *, state: str = "", before_id: int | None = None, limit: int = 100, referrer_id=None
) -> list[Referral]:
    rows = Referral.objects.all()
    if state:
        rows = rows.filter(state=state)
    if referrer_id is not None:
        rows = rows.filter(referrer_id=referrer_id)
    if before_id is not None:
        rows = rows.filter(pk__lt=before_id)
    return list(rows.order_by("-pk")[:limit])


def referral_counts() -> dict[str, int]:
    counts = dict(
        Referral.objects.values("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    clicks = ReferralCode.objects.aggregate(n=Sum("clicks"), codes=Count("pk"))
    return {
        "pending": counts.get("pending", 0),
        "rewarded": counts.get("rewarded", 0),
        "rejected": counts.get("rejected", 0),
        "clicks": clicks["n"] or 0,
        "codes": clicks["codes"] or 0,
    }


def top_referrers(limit: int = 10) -> list[dict]:
    return list(
        Referral.objects.values("referrer_id")
        .annotate(
            referred=Count("pk"),
            rewarded=Count("pk", filter=Q(state="rewarded")),
            points=Sum("referrer_points"),
        )
        .order_by("-rewarded", "-referred")[:limit]
    )
