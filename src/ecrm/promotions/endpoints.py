"""JSON API of promotions: campaigns and codes (staff), checkout quote and redeem, rewards,
referrals, and the member-facing coupon list.

Refusals at checkout answer 409 (404 for an unknown code) with
``{"error": "...", "field": "code", "reason": "<key>"}``; the reason keys are listed in
``promotions.rules.REASONS``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_noop as N_
from ninja import Body, Field, Query, Router, Schema, Status

from ecrm.config.api import Key, name_text, one_of, require
from ecrm.core.audit import Actor
from ecrm.core.messages import MUST_BE_ONE_OF
from ecrm.customers import api as customers
from ecrm.promotions import queries, services
from ecrm.promotions.models import (
    CampaignStatus,
    CouponCampaign,
    ReferralState,
    Reward,
    RewardKind,
)
from ecrm.staff import rules as perms

router = Router(tags=["promotions"])


# --- schemas -------------------------------------------------------------------------


Name = name_text(120)
CampaignStatusText = one_of(CampaignStatus.values)
RewardKindText = one_of(RewardKind.values)
ReferralStateText = one_of(ReferralState.values)


def _one_of_or_all(value: str, field: str, choices: list[str]) -> str:
    """A list's filter: "" for all, else one of ``choices``; a misspelt value answered an
    empty list, as if nothing matched."""
    if value and value not in choices:
        raise services.PromotionError(field, MUST_BE_ONE_OF, choices=", ".join(choices))
    return value


class CampaignIn(Schema):
    name: Name = Field(..., max_length=120)
    description: str = ""
    code: str = Field("", description="the shared code (campaigns with shared codes)")
    definition: dict = Field(..., description="terms; see promotions/rules.py")


class CampaignOut(Schema):
    id: int
    name: str
    description: str
    status: str
    version: int
    definition: dict
    code: str | None
    uses: int
    spent: Decimal
    issued: int
    limit_total: int | None
    budget: Decimal | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CampaignStatusIn(Schema):
    status: CampaignStatusText


class CodesIn(Schema):
    count: int = Field(..., ge=1, le=services.MAX_BATCH)
    prefix: str = Field("", max_length=10)


class CodesOut(Schema):
    codes: list[str]


class IssueIn(Schema):
    customer_id: Key | None = None
    segment_id: Key | None = None
    source_ref: str = Field("", max_length=120)


class IssueOut(Schema):
    issued: int
    code: str | None = None


class CartIn(Schema):
    code: str = Field(..., max_length=80)
    customer_id: int
    currency: str = Field(..., max_length=3)
    subtotal: Decimal
    shipping: Decimal = Decimal(0)


class CouponRedeemIn(CartIn):
    order_ref: str = Field(..., min_length=1, max_length=80)


class CouponQuoteOut(Schema):
    code: str
    applies: bool
    discount: Decimal
    currency: str
    campaign: str
    reason: str = Field("", description="why it does not apply; empty when it does")
    message: str


class RedemptionOut(Schema):
    id: int
    code: str
    order_ref: str
    customer_id: int
    discount: Decimal
    currency: str
    state: str
    redeemed_at: dt.datetime
    replayed: bool


class ReleaseIn(Schema):
    order_ref: str = Field(..., min_length=1, max_length=80)
    reason: str = Field("released by the shop", max_length=120)


class ReleaseOut(Schema):
    released: int


class CouponOut(Schema):
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


class RewardIn(Schema):
    name: Name = Field(..., max_length=120)
    description: str = ""
    kind: RewardKindText
    points: int
    campaign_id: Key | None = None
    gift_sku: str = ""
    stock: int | None = None
    active: bool = True


class RewardOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    points: int
    campaign_id: int | None
    gift_sku: str
    stock: int | None
    active: bool
    claimed: int


class ClaimIn(Schema):
    reward_id: int
    request_ref: str = Field(..., min_length=1, max_length=100)


class ClaimOut(Schema):
    id: int
    reward_id: int
    customer_id: int
    points: int
    coupon: str | None
    claimed_at: dt.datetime
    replayed: bool


class ReferralIn(Schema):
    customer_id: int
    code: str = Field(..., max_length=20)
    anonymous_id: str = Field("", max_length=100)
    device_id: str = Field("", max_length=100)
    channel: str = Field("api", max_length=40)


class ReferralOut(Schema):
    id: int
    referrer_id: int
    referee_id: int
    code: str
    state: str
    reason: str
    created_at: dt.datetime
    order_ref: str
    rewarded_at: dt.datetime | None
    referrer_points: int
    referee_points: int


class ReferralCodeOut(Schema):
    customer_id: int
    code: str
    link: str


# --- campaigns (staff) ---------------------------------------------------------------


def _campaign_out(campaign: CouponCampaign) -> dict:
    data = {f: getattr(campaign, f) for f in CampaignOut.model_fields if f != "code"}
    data["code"] = queries.shared_code(campaign.pk)
    return data


@router.get("/promotions/campaigns", response=list[CampaignOut], summary="Coupon campaigns")
def list_campaigns(request, status: CampaignStatusText = ""):
    require(request, perms.MANAGE_PROMOTIONS)
    status = _one_of_or_all(status, "status", CampaignStatus.values)
    return [_campaign_out(c) for c in queries.campaigns(status=status)]


@router.post("/promotions/campaigns", response={201: CampaignOut}, summary="Create a campaign")
def create_campaign(request, payload: CampaignIn):
    require(request, perms.MANAGE_PROMOTIONS)
    campaign = services.save_campaign(
        name=payload.name,
        description=payload.description,
        definition=payload.definition,
        code=payload.code,
        actor=Actor.of(request.user),
    )
    return Status(201, _campaign_out(campaign))


@router.get("/promotions/campaigns/{campaign_id}", response=CampaignOut, summary="One campaign")
def read_campaign(request, campaign_id: int):
    require(request, perms.MANAGE_PROMOTIONS)
    return _campaign_out(get_object_or_404(CouponCampaign, pk=campaign_id))


@router.put(
    "/promotions/campaigns/{campaign_id}",
    response=CampaignOut,
    summary="Save a new version of a campaign's terms",
)
def update_campaign(request, campaign_id: int, payload: CampaignIn):
    require(request, perms.MANAGE_PROMOTIONS)
    get_object_or_404(CouponCampaign, pk=campaign_id)
    campaign = services.save_campaign(
        name=payload.name,
        description=payload.description,
        definition=payload.definition,
        actor=Actor.of(request.user),
        campaign_id=campaign_id,
    )
    return _campaign_out(campaign)


@router.post(
    "/promotions/campaigns/{campaign_id}/status",
    response=CampaignOut,
    summary="Pause, resume or end a campaign",
)
def campaign_status(request, campaign_id: int, payload: CampaignStatusIn):
    require(request, perms.MANAGE_PROMOTIONS)
    get_object_or_404(CouponCampaign, pk=campaign_id)
    campaign = services.set_campaign_status(
        campaign_id, payload.status, actor=Actor.of(request.user)
    )
    return _campaign_out(campaign)


@router.post(
    "/promotions/campaigns/{campaign_id}/codes",
    response={201: CodesOut},
    summary="Generate a batch of single-holder codes",
)
def generate_codes(request, campaign_id: int, payload: CodesIn):
    require(request, perms.MANAGE_PROMOTIONS)
    get_object_or_404(CouponCampaign, pk=campaign_id)
    codes = services.generate_codes(
        campaign_id, payload.count, prefix=payload.prefix, actor=Actor.of(request.user)
    )
    return Status(201, {"codes": codes})


@router.post(
    "/promotions/campaigns/{campaign_id}/issue",
    response=IssueOut,
    summary="Issue personal coupons to a customer or to every member of a segment",
)
def issue(request, campaign_id: int, payload: IssueIn):
    require(request, perms.MANAGE_PROMOTIONS)
    get_object_or_404(CouponCampaign, pk=campaign_id)
    actor = Actor.of(request.user)
    if (payload.customer_id is None) == (payload.segment_id is None):
        raise services.PromotionError("customer_id", N_("give either customer_id or segment_id"))
    if payload.customer_id is not None:
        coupon, created = services.issue_coupon(
            campaign_id,
            payload.customer_id,
            actor=actor,
            source="staff",
            source_ref=payload.source_ref,
        )
        return {"issued": int(created), "code": coupon.code}
    return {"issued": services.issue_to_segment(campaign_id, payload.segment_id, actor=actor)}


# --- checkout ------------------------------------------------------------------------


def _cart(payload: CartIn):
    return services.clean_cart(
        customer_id=payload.customer_id,
        currency=payload.currency,
        subtotal=payload.subtotal,
        shipping=payload.shipping,
    )


@router.post(
    "/checkout/coupons/quote",
    response=CouponQuoteOut,
    summary="What a coupon takes off a cart, or why it does not apply",
)
def quote(request, payload: CartIn):
    require(request, perms.REDEEM_COUPONS)
    q = services.quote_coupon(payload.code, _cart(payload))
    return {
        "code": q.code,
        "applies": q.ok,
        "discount": q.discount,
        "currency": q.currency,
        "campaign": q.campaign,
        "reason": q.reason,
        "message": q.message,
    }


@router.post(
    "/checkout/coupons/redeem",
    response={200: RedemptionOut, 201: RedemptionOut},
    summary="Use a coupon on an order, atomically (the same order again is a no-op)",
)
def redeem(request, payload: CouponRedeemIn):
    require(request, perms.REDEEM_COUPONS)
    redemption, created = services.redeem_coupon(
        payload.code, _cart(payload), order_ref=payload.order_ref, actor=Actor.of(request.user)
    )
    return Status(
        201 if created else 200,
        {
            "id": redemption.pk,
            "code": redemption.coupon.code,
            "order_ref": redemption.order_ref,
            "customer_id": redemption.customer_id,
            "discount": redemption.discount,
            "currency": redemption.currency,
            "state": redemption.state,
            "redeemed_at": redemption.redeemed_at,
            "replayed": not created,
        },
    )


@router.post(
    "/checkout/coupons/release",
    response=ReleaseOut,
    summary="Give back the coupon uses of an order that will not go ahead",
)
def release(request, payload: ReleaseIn):
    require(request, perms.REDEEM_COUPONS)
    released = services.release_order(
        payload.order_ref, reason=payload.reason, actor=Actor.of(request.user)
    )
    return {"released": released}


# --- members -------------------------------------------------------------------------


@router.get(
    "/members/{customer_id}/coupons",
    response=list[CouponOut],
    summary="A member's coupons: issued to them, with what is left and whether usable now",
)
def member_coupons(request, customer_id: int, include_used: bool = False):
    require(request, perms.VIEW_CUSTOMERS)
    customer_id = customers.live_id(customer_id)
    return [c.as_dict() for c in queries.coupons_of(customer_id, include_used=include_used)]


@router.post(
    "/members/{customer_id}/rewards",
    response={200: ClaimOut, 201: ClaimOut},
    summary="Spend points on a reward of the catalogue (idempotent per request_ref)",
)
def claim(request, customer_id: int, payload: ClaimIn):
    require(request, perms.REDEEM_POINTS)
    get_object_or_404(Reward, pk=payload.reward_id)
    result, created = services.claim_reward(
        payload.reward_id,
        customer_id,
        request_ref=payload.request_ref,
        actor=Actor.of(request.user),
    )
    return Status(
        201 if created else 200,
        {
            "id": result.pk,
            "reward_id": result.reward_id,
            "customer_id": result.customer_id,
            "points": result.points,
            "coupon": result.coupon.code if result.coupon_id else None,
            "claimed_at": result.claimed_at,
            "replayed": not created,
        },
    )


@router.get(
    "/members/{customer_id}/referral-code",
    response=ReferralCodeOut,
    summary="The member's referral code and link (made on first request)",
)
def referral_code(request, customer_id: int):
    require(request, perms.VIEW_CUSTOMERS)
    customer_id = customers.live_id(customer_id)
    code = services.referral_code_of(customer_id)
    return {
        "customer_id": customer_id,
        "code": code,
        "link": request.build_absolute_uri(f"/r/{code}"),
    }


# --- rewards and referrals (staff) ---------------------------------------------------


@router.get("/promotions/rewards", response=list[RewardOut], summary="The rewards catalogue")
def list_rewards(request, active_only: bool = False):
    require(request, perms.VIEW_CUSTOMERS)
    rows = Reward.objects.order_by("points", "pk")
    if active_only:
        rows = rows.filter(active=True)
    return list(rows)


@router.post("/promotions/rewards", response={201: RewardOut}, summary="Add a reward")
def create_reward(request, payload: RewardIn):
    require(request, perms.MANAGE_PROMOTIONS)
    reward = services.save_reward(**payload.dict(), actor=Actor.of(request.user))
    return Status(201, reward)


@router.put("/promotions/rewards/{reward_id}", response=RewardOut, summary="Change a reward")
def update_reward(request, reward_id: int, payload: RewardIn):
    require(request, perms.MANAGE_PROMOTIONS)
    get_object_or_404(Reward, pk=reward_id)
    return services.save_reward(**payload.dict(), actor=Actor.of(request.user), reward_id=reward_id)


@router.post(
    "/promotions/referrals",
    response={200: ReferralOut, 201: ReferralOut},
    summary="Attribute a new customer to a referral code (sign-up); a repeat is a no-op",
)
def attribute(request, payload: ReferralIn):
    require(request, perms.EDIT_CUSTOMERS)
    customer_id = customers.live_id(payload.customer_id)
    before = queries.referral_of(customer_id)
    referral = services.claim_referral(
        customer_id,
        payload.code,
        anonymous_id=payload.anonymous_id,
        device_id=payload.device_id,
        channel=payload.channel,
    )
    if referral is None:
        raise services.PromotionError(
            "code", N_("no customer has the referral code %(code)s"), code=payload.code
        )
    return Status(200 if before is not None else 201, referral)


@router.get("/promotions/referrals", response=list[ReferralOut], summary="Referrals, newest first")
def list_referrals(
    request,
    state: ReferralStateText = "",
    before_id: Key | None = None,
    limit: int = Query(100, ge=1, le=500),
):
    require(request, perms.VIEW_CUSTOMERS)
    state = _one_of_or_all(state, "state", ReferralState.values)
    return queries.referrals(state=state, before_id=before_id, limit=limit)


@router.get("/promotions/referral-programme", response=dict, summary="Referral programme terms")
def read_programme(request):
    require(request, perms.VIEW_CUSTOMERS)
    return services.programme().as_json()


@router.put("/promotions/referral-programme", response=dict, summary="Change the terms")
def save_programme(request, payload: Body[dict]):
    require(request, perms.MANAGE_PROMOTIONS)
    return services.save_programme(payload, actor=Actor.of(request.user)).as_json()
