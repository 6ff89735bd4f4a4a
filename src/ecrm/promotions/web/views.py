"""Console pages of promotions: coupon campaigns (list, create, edit, codes, issue, usage),
the rewards catalogue, and referrals with the programme's terms.

Views validate input and call ``ecrm.promotions.services``; every write there is audited
with the signed-in user as the actor.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ecrm.console.web.access import actor, require
from ecrm.core.messages import Problem
from ecrm.core.text import whole_number
from ecrm.customers import api as customers
from ecrm.promotions import queries, rules, services, tasks
from ecrm.promotions.models import CampaignStatus, CouponCampaign, Reward
from ecrm.promotions.web.forms import (
    CampaignForm,
    CodesForm,
    IssueForm,
    ProgrammeForm,
    RewardForm,
    field_for,
)
from ecrm.staff import rules as perms

# Reasons and discounts in the console's language (English source strings in rules).
REASON_LABELS = {
    "unknown_code": gettext_lazy("no coupon has this code"),
    "inactive": gettext_lazy("the campaign of this coupon is paused or ended"),
    "void": gettext_lazy("this coupon was cancelled"),
    "not_started": gettext_lazy("this coupon is not valid yet"),
    "expired": gettext_lazy("this coupon has expired"),
    "not_for_customer": gettext_lazy("this coupon belongs to another customer"),
    "not_targeted": gettext_lazy("this coupon is not offered to this customer"),
    "new_customers_only": gettext_lazy("this coupon is for a first order only"),
    "currency": gettext_lazy("this coupon is for another currency"),
    "min_spend": gettext_lazy("the cart is below the coupon's minimum spend"),
    "code_used_up": gettext_lazy("this coupon code has been used as often as it may be"),
    "limit_total": gettext_lazy("the campaign's coupons have all been used"),
    "limit_per_customer": gettext_lazy("this customer has used this coupon as often as allowed"),
    "budget": gettext_lazy("the campaign's discount budget is spent"),
    "nothing_to_discount": gettext_lazy("the coupon gives no discount on this cart"),
}
REFERRAL_REASON_LABELS = {
    "self": gettext_lazy("a customer cannot refer themselves"),
    "same_phone": gettext_lazy("the new customer has the referrer's mobile number"),
    "same_email": gettext_lazy("the new customer has the referrer's e-mail address"),
    "same_device": gettext_lazy("the new customer signed up on the referrer's device"),
    "device_reused": gettext_lazy("another customer referred by the same person used this device"),
    "not_new": gettext_lazy("the customer had ordered before being referred"),
}


def discount_label(terms: rules.Campaign) -> str:
    d = terms.discount
    if d.kind == "percent":
        text = _("%(value)s%% off") % {"value": f"{d.value.normalize():f}"}
    elif d.kind == "fixed":
        text = _("%(amount)s off") % {"amount": d.value}
    else:
        text = _("Free shipping")
    if d.max_discount is not None:
        text += " " + _("(up to %(amount)s)") % {"amount": d.max_discount}
    if terms.min_spend:
        text += _(", from %(amount)s") % {"amount": terms.min_spend}
    return text


def _segment_choices():
    from ecrm.segments import api as segments

    return [(s.id, s.name) for s in segments.segment_choices()]


def _tier_choices():
    from ecrm.loyalty import api as loyalty

    return loyalty.tier_choices()


def _campaign_or_404(campaign_id: int) -> CouponCampaign:
    campaign = CouponCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404("no such campaign")
    return campaign


@require(perms.MANAGE_PROMOTIONS)
def coupon_list(request):
    status = request.GET.get("status", "")
    if status not in CampaignStatus.values:
        status = ""
    rows = []
    for campaign in queries.campaigns(status=status):
        terms = services.terms_of(campaign)
        rows.append(
            {
                "campaign": campaign,
                "terms": terms,
                "discount": discount_label(terms),
                "code": queries.shared_code(campaign.pk) if terms.codes == "shared" else None,
            }
        )
    return render(
        request,
        "promotions/coupon_list.html",
        {"rows": rows, "status": status, "statuses": CampaignStatus.choices},
    )


def _save_campaign(request, form: CampaignForm, campaign_id: int | None):
    try:
        return services.save_campaign(
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            definition=form.definition(),
            code=form.cleaned_data.get("code", ""),
            actor=actor(request),
            campaign_id=campaign_id,
        )
    except rules.DefinitionError as exc:
        name = field_for(exc.field)
        form.add_error(
            name if name in form.fields else None, exc.text.localized(with_subject=False)
        )
    except services.PromotionError as exc:
        form.add_error(
            exc.field if exc.field in form.fields else None,
            exc.text.localized(with_subject=False),
        )
    return None


@require(perms.MANAGE_PROMOTIONS)
def campaign_new(request):
    kwargs = {"segments": _segment_choices(), "tiers": _tier_choices()}
    form = CampaignForm(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        campaign = _save_campaign(request, form, None)
        if campaign is not None:
            messages.success(request, _("Campaign saved."))
            return redirect("console:promotion_campaign", campaign.pk)
    return render(request, "promotions/campaign_form.html", {"form": form, "campaign": None})


@require(perms.MANAGE_PROMOTIONS)
def campaign_edit(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    initial = CampaignForm.initial_from(campaign, queries.shared_code(campaign.pk))
    kwargs = {"segments": _segment_choices(), "tiers": _tier_choices(), "editing": True}
    form = CampaignForm(request.POST or None, initial=initial, **kwargs)
    if request.method == "POST" and form.is_valid():
        saved = _save_campaign(request, form, campaign.pk)
        if saved is not None:
            messages.success(request, _("Campaign saved as version %(v)s.") % {"v": saved.version})
            return redirect("console:promotion_campaign", campaign.pk)
    return render(request, "promotions/campaign_form.html", {"form": form, "campaign": campaign})


def _chart(usage) -> dict | None:
    if not usage.by_day:
        return None
    return {
        "ecrmFormat": "integer",
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": [day.isoformat() for day, _n, _d in usage.by_day]},
        "yAxis": {"type": "value"},
        "series": [{"name": _("Uses"), "type": "bar", "data": [n for _day, n, _d in usage.by_day]}],
    }


@require(perms.MANAGE_PROMOTIONS)
def campaign_detail(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    terms = services.terms_of(campaign)
    usage = queries.usage_of(campaign.pk)
    segments = _segment_choices()
    names = dict(segments)
    tiers = dict(_tier_choices())
    return render(
        request,
        "promotions/campaign_detail.html",
        {
            "campaign": campaign,
            "terms": terms,
            "discount": discount_label(terms),
            "code": queries.shared_code(campaign.pk) if terms.codes == "shared" else None,
            "usage": usage,
            "chart": _chart(usage),
            "target_segments": [names.get(s, f"#{s}") for s in terms.target.segments],
            "target_tiers": [tiers.get(t, t) for t in terms.target.tiers],
            "redemptions": queries.redemptions_of_campaign(campaign.pk),
            "coupons": queries.coupons_of_campaign(campaign.pk) if terms.codes == "unique" else [],
            "codes_form": CodesForm(),
            "issue_form": IssueForm(segments=segments),
            "statuses": CampaignStatus.choices,
            "budget_left": None if terms.budget is None else terms.budget - campaign.spent,
        },
    )


@require(perms.MANAGE_PROMOTIONS)
@require_POST
def campaign_status(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    try:
        services.set_campaign_status(
            campaign.pk, request.POST.get("status", ""), actor=actor(request)
        )
    except services.PromotionError as exc:
        messages.error(request, exc.text.localized(with_subject=False))
    else:
        messages.success(request, _("Status changed."))
    return redirect("console:promotion_campaign", campaign.pk)


@require(perms.MANAGE_PROMOTIONS)
@require_POST
def campaign_codes(request, campaign_id: int):
    """Generate a batch and download it as CSV at once (the codes are also listed later)."""
    campaign = _campaign_or_404(campaign_id)
    form = CodesForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give how many codes to make (1 to 100,000)."))
        return redirect("console:promotion_campaign", campaign.pk)
    try:
        codes = services.generate_codes(
            campaign.pk,
            form.cleaned_data["count"],
            prefix=form.cleaned_data["prefix"],
            actor=actor(request),
        )
    except services.PromotionError as exc:
        messages.error(request, exc.text.localized(with_subject=False))
        return redirect("console:promotion_campaign", campaign.pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="coupons-{campaign.pk}-new.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 with a BOM
    out = csv.writer(response)
    out.writerow(["code", "campaign"])
    for code in codes:
        out.writerow([code, campaign.name])
    return response


@require(perms.MANAGE_PROMOTIONS)
def campaign_export(request, campaign_id: int):
    """Every code of the campaign with its holder, uses and expiry, as CSV."""
    from ecrm.promotions.models import Coupon

    campaign = _campaign_or_404(campaign_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="coupons-{campaign.pk}.csv"'
    response.write("\ufeff")
    out = csv.writer(response)
    out.writerow(["code", "customer_id", "uses", "max_uses", "expires_at", "void", "issued_at"])
    rows = Coupon.objects.filter(campaign=campaign).order_by("pk")
    for row in rows.values_list(
        "code", "customer_id", "uses", "max_uses", "expires_at", "void", "issued_at"
    ).iterator(chunk_size=5000):
        code, customer, uses, max_uses, expires, void, issued = row
        out.writerow(
            [
                code,
                customer or "",
                uses,
                "" if max_uses is None else max_uses,
                timezone.localtime(expires).isoformat() if expires else "",
                int(void),
                timezone.localtime(issued).isoformat(),
            ]
        )
    return response


@require(perms.MANAGE_PROMOTIONS)
@require_POST
def campaign_issue(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    form = IssueForm(request.POST, segments=_segment_choices())
    if not form.is_valid():
        for error in form.errors.get("__all__", []) or [_("Check the customer id.")]:
            messages.error(request, error)
        return redirect("console:promotion_campaign", campaign.pk)
    who = actor(request)
    try:
        if form.cleaned_data["customer_id"] is not None:
            coupon, created = services.issue_coupon(
                campaign.pk, form.cleaned_data["customer_id"], actor=who
            )
            messages.success(request, _("Coupon %(code)s issued.") % {"code": coupon.code})
        else:
            if campaign.status != CampaignStatus.ACTIVE:
                raise services.PromotionError("campaign_id", services.PAUSED_OR_ENDED)
            tasks.issue_to_segment(
                campaign.pk, form.cleaned_data["segment_id"], who.label, who.user_id
            )
            messages.success(
                request, _("Issuing to the segment's members has started in the background.")
            )
    except services.PromotionError as exc:
        messages.error(request, exc.text.localized(with_subject=False))
    except ObjectDoesNotExist:
        messages.error(request, _("No such customer."))
    return redirect("console:promotion_campaign", campaign.pk)


@require(perms.MANAGE_PROMOTIONS)
@require_POST
def campaign_quote(request, campaign_id: int):
    """ "Try a cart": what this campaign's code gives a customer's cart now, or why not."""
    campaign = _campaign_or_404(campaign_id)
    code = (request.POST.get("code") or queries.shared_code(campaign.pk) or "").strip()
    result = {"error": None, "quote": None}
    try:
        cart = services.clean_cart(
            customer_id=int(request.POST.get("customer_id") or 0),
            currency=request.POST.get("currency") or services.terms_of(campaign).currency,
            subtotal=request.POST.get("subtotal", ""),
            shipping=request.POST.get("shipping") or "0",
        )
        quote = services.quote_coupon(code, cart)
        result["quote"] = quote
        result["reason"] = REASON_LABELS.get(quote.reason, "")
    except (ValueError, services.PromotionError) as exc:
        result["error"] = (
            exc.text.localized(with_subject=False)
            if isinstance(exc, Problem)
            else _("Give a customer id and a subtotal.")
        )
    except ObjectDoesNotExist:
        result["error"] = _("No such customer.")
    return render(request, "promotions/_quote.html", result)


# --- rewards -------------------------------------------------------------------------


def _unique_campaigns():
    return [(c.pk, c.name) for c in queries.campaigns() if services.terms_of(c).codes == "unique"]


@require(perms.MANAGE_PROMOTIONS)
def rewards(request, reward_id: int | None = None):
    reward = None
    initial = {"active": True}
    if reward_id is not None:
        reward = Reward.objects.filter(pk=reward_id).first()
        if reward is None:
            raise Http404("no such reward")
        initial = {
            "name": reward.name,
            "description": reward.description,
            "kind": reward.kind,
            "points": reward.points,
            "campaign_id": reward.campaign_id,
            "gift_sku": reward.gift_sku,
            "stock": reward.stock,
            "active": reward.active,
        }
    form = RewardForm(request.POST or None, initial=initial, campaigns=_unique_campaigns())
    if request.method == "POST" and form.is_valid():
        try:
            services.save_reward(**form.cleaned_data, actor=actor(request), reward_id=reward_id)
        except services.PromotionError as exc:
            form.add_error(
                exc.field if exc.field in form.fields else None,
                exc.text.localized(with_subject=False),
            )
        else:
            messages.success(request, _("Reward saved."))
            return redirect("console:promotion_rewards")
    return render(
        request,
        "promotions/rewards.html",
        {
            "form": form,
            "reward": reward,
            "rewards": queries.rewards(),
            "claims": queries.claims(),
        },
    )


# --- referrals -----------------------------------------------------------------------


@require(perms.MANAGE_PROMOTIONS)
def referrals(request):
    state = request.GET.get("state", "")
    if state not in ("pending", "rewarded", "rejected"):
        state = ""
    before = request.GET.get("before", "")
    before_id = whole_number(before)
    page = queries.referrals(state=state, before_id=before_id, limit=51)
    more = len(page) > 50
    page = page[:50]
    terms = services.programme()
    form = ProgrammeForm(request.POST or None, initial=terms.as_json())
    if request.method == "POST" and form.is_valid():
        try:
            services.save_programme(form.definition(), actor=actor(request))
        except rules.DefinitionError as exc:
            form.add_error(
                exc.field if exc.field in form.fields else None,
                exc.text.localized(with_subject=False),
            )
        else:
            messages.success(request, _("Referral programme saved."))
            return redirect("console:promotion_referrals")
    names = _names({r.referrer_id for r in page} | {r.referee_id for r in page})
    top = queries.top_referrers()
    names.update(_names({t["referrer_id"] for t in top}))
    return render(
        request,
        "promotions/referrals.html",
        {
            "rows": [
                {
                    "referral": r,
                    "referrer": names.get(r.referrer_id, f"#{r.referrer_id}"),
                    "referee": names.get(r.referee_id, f"#{r.referee_id}"),
                    "reason": REFERRAL_REASON_LABELS.get(r.reason, r.reason),
                }
                for r in page
            ],
            "state": state,
            "next_before": page[-1].pk if more else None,
            "counts": queries.referral_counts(),
            "top": [{**t, "name": names.get(t["referrer_id"], "")} for t in top],
            "form": form,
        },
    )


def _names(ids) -> dict[int, str]:
    return customers.display_names(sorted(ids)) if ids else {}
