"""Writes of promotions: one function per write, each owning its transaction.

Checkout's ``redeem_coupon`` never lets a coupon go past its campaign's total limit, its
budget, its own number of uses or the customer's limit, on SQLite and PostgreSQL alike:

1. one conditional ``UPDATE`` of the campaign row adds the use and the discount only while
   both still fit (PostgreSQL re-tests the condition on the row it waited for; SQLite's
   write transactions run one at a time). That row stays locked until commit, so every use
   of the campaign queues behind it;
2. under that lock the customer's uses are counted afresh, and a second conditional
   ``UPDATE`` adds the use to the code;
3. the redemption row is written. Any refusal raises and rolls the whole step back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_noop as N_

from ecrm.core import audit, clock
from ecrm.core.currency import NOT_A_CURRENCY, iso_code
from ecrm.core.messages import MUST_BE_ONE_OF, REQUIRED_UP_TO, Problem
from ecrm.core.tables import insert_rows, select_where_in
from ecrm.customers import api as customers
from ecrm.promotions import rules
from ecrm.promotions.models import (
    CampaignStatus,
    CampaignVersion,
    Coupon,
    CouponCampaign,
    Redemption,
    RedemptionState,
    Referral,
    ReferralCode,
    ReferralProgramme,
    ReferralState,
    Reward,
    RewardClaim,
    RewardKind,
)


class PromotionError(Problem):
    """Bad input to a promotions write; ``field`` names it."""


NOT_ISSUED = N_("a shared-code campaign is not issued: give customers its code")
NO_SEGMENT = N_("no segment #%(id)s")
PAUSED_OR_ENDED = N_("the campaign is paused or ended")


class CouponRefused(Exception):
    """Checkout refused a coupon; ``reason`` is a key of ``rules.REASONS``."""

    def __init__(self, reason: str, code: str = ""):
        self.reason = reason
        self.code = code
        self.message = rules.REASONS[reason]
        super().__init__(f"coupon {code} refused: {self.message}" if code else self.message)

    @property
    def status(self) -> int:
        return 404 if self.reason == "unknown_code" else 409


# --- campaigns -----------------------------------------------------------------------


def terms_of(campaign: CouponCampaign) -> rules.Campaign:
    """A campaign's validated terms (parsing a stored definition takes microseconds)."""
    return rules.validate_campaign(campaign.definition)


def _check_targets(terms: rules.Campaign) -> None:
    if terms.target.segments:
        from ecrm.segments import api as segments

        known = {choice.id for choice in segments.segment_choices()}
        for i, segment_id in enumerate(terms.target.segments):
            if segment_id not in known:
                raise rules.DefinitionError(f"target.segments[{i}]", NO_SEGMENT, id=segment_id)


def save_campaign(
    *,
    name: str,
    definition: dict,
    actor: audit.Actor,
    description: str = "",
    code: str = "",
    campaign_id: int | None = None,
) -> CouponCampaign:
    """Create a campaign (a shared-code one with its ``code``), or save a new version.

    Raises ``rules.DefinitionError`` naming the JSON path, or ``PromotionError``.
    """
    terms = rules.validate_campaign(definition)
    _check_targets(terms)
    stored = terms.as_json()
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise PromotionError("name", REQUIRED_UP_TO, limit=120)
    now = clock.now()
    with transaction.atomic():
        if CouponCampaign.objects.filter(name=name).exclude(pk=campaign_id).exists():
            raise PromotionError("name", N_("a campaign named %(name)s exists"), name=repr(name))
        columns = dict(
            limit_total=terms.limit_total,
            budget=terms.budget,
            starts_at=terms.starts_at,
            ends_at=terms.ends_at,
        )
        if campaign_id is None:
            if terms.codes == "shared":
                code = rules.clean_code(code)
                if Coupon.objects.filter(code=code).exists():
                    raise PromotionError("code", N_("the code %(code)s is taken"), code=code)
            campaign = CouponCampaign.objects.create(
                name=name,
                description=description,
                definition=stored,
                created_at=now,
                created_by_id=actor.user_id,
                updated_at=now,
                **columns,
            )
            before = None
            if terms.codes == "shared":
                Coupon.objects.create(code=code, campaign=campaign, issued_at=now)
        else:
            campaign = CouponCampaign.objects.select_for_update().get(pk=campaign_id)
            old = terms_of(campaign)
            if old.codes != terms.codes:
                raise PromotionError("codes", N_("cannot change between shared and unique codes"))
            before = {"name": campaign.name, "version": campaign.version}
            if campaign.definition != stored:
                campaign.version += 1
                campaign.definition = stored
            for key, value in columns.items():
                setattr(campaign, key, value)
            campaign.name, campaign.description, campaign.updated_at = name, description, now
            campaign.save()
        if not CampaignVersion.objects.filter(campaign=campaign, version=campaign.version).exists():
            CampaignVersion.objects.create(
                campaign=campaign,
                version=campaign.version,
                definition=stored,
                created_at=now,
                created_by_id=actor.user_id,
            )
        audit.record(
            actor,
            "create" if before is None else "update",
            "coupon_campaign",
            campaign.pk,
            before,
            {"name": name, "version": campaign.version, "definition": stored},
        )
    return campaign


def set_campaign_status(campaign_id: int, status: str, *, actor: audit.Actor) -> CouponCampaign:
    if status not in CampaignStatus.values:
        raise PromotionError("status", MUST_BE_ONE_OF, choices=", ".join(CampaignStatus.values))
    with transaction.atomic():
        campaign = CouponCampaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != status:
            before = campaign.status
            campaign.status = status
            campaign.updated_at = clock.now()
            campaign.save(update_fields=["status", "updated_at"])
            audit.record(
                actor,
                "status",
                "coupon_campaign",
                campaign.pk,
                {"status": before},
                {"status": status},
            )
    return campaign


MAX_BATCH = 100_000
MAX_STOCK = rules.MAX_COUNT  # a reward's stock: the same bound as a campaign's limits


def generate_codes(
    campaign_id: int, count: int, *, actor: audit.Actor, prefix: str = ""
) -> list[str]:
    """A batch of new single-holder codes for a unique-code campaign (printed, handed out)."""
    if not 1 <= count <= MAX_BATCH:
        raise PromotionError("count", rules.FROM_TO, min=1, max=f"{MAX_BATCH:,}")
    prefix = (prefix or "").strip().upper()
    # A prefix must itself be the start of a valid code: test it with a few code characters.
    if prefix and (len(prefix) > 10 or not rules.CODE_RE.match(prefix + "AAA")):
        raise PromotionError("prefix", N_("must be at most 10 letters, digits, - or _"))
    with transaction.atomic():
        campaign = CouponCampaign.objects.select_for_update().get(pk=campaign_id)
        terms = terms_of(campaign)
        if terms.codes != "unique":
            raise PromotionError("count", N_("a shared-code campaign has its one code"))
        now = clock.now()
        codes = _new_codes(count, prefix)
        # Plain rows in one stream (COPY on PostgreSQL): 100,000 model instances through
        # bulk_create took 6 s of the 11 s the request took.
        ops = connection.ops
        insert_rows(
            Coupon._meta.db_table,
            ("code",),
            [(c,) for c in codes],
            same={
                "campaign_id": campaign.pk,
                "customer_id": None,
                "max_uses": terms.uses_per_code,
                "uses": 0,
                "expires_at": ops.adapt_datetimefield_value(rules.expiry_for(terms, now)),
                "void": False,
                "source": "batch",
                "source_ref": "",
                "issued_at": ops.adapt_datetimefield_value(now),
            },
        )
        CouponCampaign.objects.filter(pk=campaign.pk).update(issued=F("issued") + count)
        audit.record(
            actor, "generate_codes", "coupon_campaign", campaign.pk, None, {"count": count}
        )
    return codes


def _new_codes(count: int, prefix: str) -> list[str]:
    """``count`` distinct codes no coupon has yet (10 random characters: collisions are rare)."""
    codes: set[str] = set()
    table = Coupon._meta.db_table
    while len(codes) < count:
        want = set(rules.random_codes(count - len(codes), prefix)) - codes
        taken = {row[0] for row in select_where_in(table, "code", list(want), ())}
        codes |= want - taken
    return sorted(codes)


def issue_coupon(
    campaign_id: int,
    customer_id: int,
    *,
    actor: audit.Actor,
    source: str = "staff",
    source_ref: str = "",
) -> tuple[Coupon, bool]:
    """A personal code of a unique-code campaign for one customer. Returns (coupon, created).

    With a ``source_ref``, issuing again for the same (campaign, source, source_ref) returns
    the first coupon and changes nothing.
    """
    customer_id = customers.live_id(customer_id)
    with transaction.atomic():
        campaign = CouponCampaign.objects.get(pk=campaign_id)
        terms = terms_of(campaign)
        if terms.codes != "unique":
            raise PromotionError("campaign_id", NOT_ISSUED)
        if campaign.status != CampaignStatus.ACTIVE:
            raise PromotionError("campaign_id", PAUSED_OR_ENDED)
        if source_ref:
            found = Coupon.objects.filter(
                campaign=campaign, source=source[:40], source_ref=source_ref[:120]
            ).first()
            if found is not None:
                return found, False
        now = clock.now()
        coupon = Coupon.objects.create(
            code=_new_codes(1, "")[0],
            campaign=campaign,
            customer_id=customer_id,
            max_uses=terms.uses_per_code,
            expires_at=rules.expiry_for(terms, now),
            source=source[:40],
            source_ref=source_ref[:120],
            issued_at=now,
        )
        CouponCampaign.objects.filter(pk=campaign.pk).update(issued=F("issued") + 1)
        audit.record(
            actor,
            "issue",
            "coupon",
            coupon.code,
            None,
            {"campaign": campaign.pk, "customer": customer_id, "source": source},
        )
    return coupon, True


def issue_to_customers(
    campaign_id: int, customer_ids: list[int], *, actor: audit.Actor, source: str, ref: str
) -> int:
    """One personal coupon each for many customers (a segment), in chunks; idempotent per
    (campaign, ``source``, ``ref``:customer). Returns how many were new."""
    campaign = CouponCampaign.objects.get(pk=campaign_id)
    terms = terms_of(campaign)
    if terms.codes != "unique":
        raise PromotionError("campaign_id", NOT_ISSUED)
    created = 0
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        refs = {f"{ref}:{c}": c for c in chunk}
        with transaction.atomic():
            have = set(
                Coupon.objects.filter(
                    campaign=campaign, source=source, source_ref__in=list(refs)
                ).values_list("source_ref", flat=True)
            )
            todo = [(r, c) for r, c in refs.items() if r not in have]
            now = clock.now()
            codes = _new_codes(len(todo), "") if todo else []
            Coupon.objects.bulk_create(
                [
                    Coupon(
                        code=code,
                        campaign=campaign,
                        customer_id=c,
                        max_uses=terms.uses_per_code,
                        expires_at=rules.expiry_for(terms, now),
                        source=source,
                        source_ref=r,
                        issued_at=now,
                    )
                    for code, (r, c) in zip(codes, todo, strict=True)
                ],
                batch_size=2000,
            )
            CouponCampaign.objects.filter(pk=campaign.pk).update(issued=F("issued") + len(todo))
            created += len(todo)
    audit.record(
        actor, "issue_many", "coupon_campaign", campaign.pk, None, {"ref": ref, "created": created}
    )
    return created


def issue_to_segment(campaign_id: int, segment_id: int, *, actor: audit.Actor) -> int:
    from ecrm.segments import api as segments

    if segment_id not in {choice.id for choice in segments.segment_choices()}:
        raise PromotionError("segment_id", NO_SEGMENT, id=segment_id)
    ids = list(segments.member_ids(segment_id))
    return issue_to_customers(
        campaign_id, ids, actor=actor, source="segment", ref=f"segment-{segment_id}"
    )


def void_coupon(code: str, *, actor: audit.Actor) -> Coupon:
    with transaction.atomic():
        coupon = Coupon.objects.select_for_update().get(code=rules.clean_code(code))
        if not coupon.void:
            coupon.void = True
            coupon.save(update_fields=["void"])
            audit.record(actor, "void", "coupon", coupon.code, {"void": False}, {"void": True})
    return coupon


# --- checkout ------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    code: str
    campaign_id: int | None
    campaign: str
    discount: Decimal
    currency: str
    reason: str  # "" when the coupon applies

    @property
    def ok(self) -> bool:
        return not self.reason

    @property
    def message(self) -> str:
        return rules.REASONS.get(self.reason, "")


def clean_cart(*, customer_id, currency, subtotal, shipping=Decimal(0)) -> rules.Cart:
    """A checkout cart from API or form input; ``PromotionError`` names a bad field."""
    if not isinstance(customer_id, int) or isinstance(customer_id, bool) or customer_id < 1:
        raise PromotionError("customer_id", N_("must be a customer id"))
    code = iso_code(currency)
    if code is None:
        raise PromotionError("currency", NOT_A_CURRENCY, value=repr(currency))
    currency = code
    try:
        amount = rules.money_value(subtotal, "subtotal", required=True)
        shipping = rules.money_value(shipping, "shipping") or Decimal("0.00")
    except rules.DefinitionError as exc:
        raise PromotionError.of(exc.field, exc) from None
    return rules.Cart(customers.live_id(customer_id), currency, amount, shipping)


def _coupon(code: str) -> Coupon | None:
    return Coupon.objects.select_related("campaign").filter(code=code).first()


def _customer_uses(campaign_id: int, customer_id: int) -> int:
    return Redemption.objects.filter(
        campaign_id=campaign_id, customer_id=customer_id, state=RedemptionState.REDEEMED
    ).count()


def targeting_facts(terms: rules.Campaign, customer_id: int) -> dict:
    """What the campaign's targeting needs to know of the customer, asked only when it
    targets: segment membership, loyalty tier, whether they have ordered before."""
    facts = {}
    target = terms.target
    if target.segments:
        from ecrm.segments import api as segments

        facts["in_segments"] = any(segments.is_member(s, customer_id) for s in target.segments)
    if target.tiers:
        from ecrm.loyalty import api as loyalty

        facts["tier_ok"] = loyalty.tier_of(customer_id) in target.tiers
    if target.new_customers_only:
        from ecrm.figures import api as figures

        facts["is_new_customer"] = figures.figures_of(customer_id).order_count == 0
    return facts


def _decide(
    coupon: Coupon, cart: rules.Cart, now: dt.datetime
) -> tuple[rules.Campaign, rules.Decision]:
    campaign = coupon.campaign
    terms = terms_of(campaign)
    usage = rules.Usage(
        campaign_status=campaign.status,
        campaign_uses=campaign.uses,
        campaign_spent=campaign.spent,
        code_uses=coupon.uses,
        code_max_uses=coupon.max_uses,
        code_customer_id=coupon.customer_id,
        code_expires_at=coupon.expires_at,
        code_void=coupon.void,
        customer_uses=_customer_uses(campaign.pk, cart.customer_id)
        if terms.limit_per_customer is not None
        else 0,
        **targeting_facts(terms, cart.customer_id),
    )
    return terms, rules.decide(terms, usage, cart, now)


def quote_coupon(code: str, cart: rules.Cart) -> Quote:
    """What the coupon would take off this cart now, or why it would not apply."""
    try:
        code = rules.clean_code(code)
    except rules.DefinitionError:
        return Quote(str(code)[:40], None, "", Decimal(0), cart.currency, "unknown_code")
    coupon = _coupon(code)
    if coupon is None:
        return Quote(code, None, "", Decimal(0), cart.currency, "unknown_code")
    terms, decision = _decide(coupon, cart, clock.now())
    return Quote(
        code,
        coupon.campaign_id,
        coupon.campaign.name,
        decision.discount,
        terms.currency,
        decision.reason,
    )


def _redeemed(coupon: Coupon, order_ref: str) -> Redemption | None:
    """The order's standing redemption of the code (the unique partial index; no sort)."""
    return next(
        iter(
            Redemption.objects.filter(
                coupon=coupon, order_ref=order_ref, state=RedemptionState.REDEEMED
            )[:1]
        ),
        None,
    )


def _refuse_from_counters(campaign_id: int, amount: Decimal, code: str) -> CouponRefused:
    """Why the campaign's conditional UPDATE matched nothing, read after the fact."""
    row = CouponCampaign.objects.values("status", "uses", "limit_total", "spent", "budget").get(
        pk=campaign_id
    )
    if row["status"] != CampaignStatus.ACTIVE:
        return CouponRefused("inactive", code)
    if row["limit_total"] is not None and row["uses"] >= row["limit_total"]:
        return CouponRefused("limit_total", code)
    return CouponRefused("budget", code)


def redeem_coupon(
    code: str, cart: rules.Cart, *, order_ref: str, actor: audit.Actor = audit.SYSTEM
) -> tuple[Redemption, bool]:
    """Use the coupon on the order ``order_ref``. Returns (redemption, created).

    Redeeming the same code for the same order again returns the first redemption and
    changes nothing. A refusal raises ``CouponRefused`` and writes nothing.
    """
    order_ref = (order_ref or "").strip()
    if not order_ref or len(order_ref) > 80:
        raise PromotionError("order_ref", REQUIRED_UP_TO, limit=80)
    try:
        code = rules.clean_code(code)
    except rules.DefinitionError:
        raise CouponRefused("unknown_code", str(code)[:40]) from None
    coupon = _coupon(code)
    if coupon is None:
        raise CouponRefused("unknown_code", code)
    done = _redeemed(coupon, order_ref)
    if done is not None:
        return _same_order(done, cart), False
    now = clock.now()
    terms, decision = _decide(coupon, cart, now)
    if not decision.ok:
        raise CouponRefused(decision.reason, code)
    amount = decision.discount
    try:
        with transaction.atomic():
            fits = Q(status=CampaignStatus.ACTIVE)
            if terms.limit_total is not None:
                fits &= Q(uses__lt=F("limit_total"))
            if terms.budget is not None:
                fits &= Q(spent__lte=F("budget") - amount)
            moved = (
                CouponCampaign.objects.filter(pk=coupon.campaign_id)
                .filter(fits)
                .update(uses=F("uses") + 1, spent=F("spent") + amount)
            )
            if not moved:
                raise _refuse_from_counters(coupon.campaign_id, amount, code)
            # The campaign row is ours until commit: what is read now is final. The same
            # order redeemed meanwhile fails the insert below on the unique (coupon, order)
            # index, which rolls all of this back (handled after the block).
            limit = terms.limit_per_customer
            if limit is not None and _customer_uses(coupon.campaign_id, cart.customer_id) >= limit:
                raise CouponRefused("limit_per_customer", code)
            code_fits = Q(void=False)
            if coupon.max_uses is not None:
                code_fits &= Q(uses__lt=F("max_uses"))
            if not Coupon.objects.filter(pk=coupon.pk).filter(code_fits).update(uses=F("uses") + 1):
                raise CouponRefused("code_used_up" if not coupon.void else "void", code)
            redemption = Redemption.objects.create(
                coupon=coupon,
                campaign_id=coupon.campaign_id,
                customer_id=cart.customer_id,
                order_ref=order_ref,
                currency=cart.currency,
                cart_subtotal=cart.subtotal,
                discount=amount,
                redeemed_at=now,
            )
    except IntegrityError:
        # The unique (coupon, order) index: a concurrent request for the same order won.
        done = _redeemed(coupon, order_ref)
        if done is None:
            raise
        return _same_order(done, cart), False
    return redemption, True


def _same_order(redemption: Redemption, cart: rules.Cart) -> Redemption:
    if redemption.customer_id != cart.customer_id:
        raise PromotionError("order_ref", N_("this order used the coupon for another customer"))
    return redemption


def release_redemption(
    redemption_id: int, *, reason: str, actor: audit.Actor = audit.SYSTEM
) -> Redemption:
    """Give a use back (the order was cancelled or refunded); releasing twice is a no-op."""
    with transaction.atomic():
        redemption = Redemption.objects.select_for_update().get(pk=redemption_id)
        if redemption.state != RedemptionState.REDEEMED:
            return redemption
        CouponCampaign.objects.filter(pk=redemption.campaign_id).update(
            uses=F("uses") - 1, spent=F("spent") - redemption.discount
        )
        Coupon.objects.filter(pk=redemption.coupon_id, uses__gt=0).update(uses=F("uses") - 1)
        redemption.state = RedemptionState.RELEASED
        redemption.released_at = clock.now()
        redemption.release_reason = reason[:120]
        redemption.save(update_fields=["state", "released_at", "release_reason"])
        audit.record(
            actor,
            "release",
            "coupon_redemption",
            redemption.pk,
            {"state": "redeemed"},
            {"state": "released", "reason": reason},
        )
    return redemption


def release_order(order_ref: str, *, reason: str, actor: audit.Actor = audit.SYSTEM) -> int:
    """Release every coupon use of this order; returns how many were released."""
    ids = list(
        Redemption.objects.filter(order_ref=order_ref, state=RedemptionState.REDEEMED).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        release_redemption(pk, reason=reason, actor=actor)
    return len(ids)


RELEASING_STATUSES = ("cancelled", "refunded")


def release_cancelled(customer_ids: list[int]) -> int:
    """Coupon uses of these customers whose order is now cancelled or refunded go back."""
    from ecrm.orders import api as orders

    if not customer_ids:
        return 0
    released = 0
    for start in range(0, len(customer_ids), 500):
        rows = list(
            Redemption.objects.filter(
                customer_id__in=customer_ids[start : start + 500], state=RedemptionState.REDEEMED
            ).values_list("pk", "order_ref")
        )
        if not rows:
            continue
        statuses = orders.statuses_of([ref for _, ref in rows])
        for pk, ref in rows:
            status = statuses.get(ref)
            if status in RELEASING_STATUSES:
                release_redemption(pk, reason=f"order {status}")
                released += 1
    return released


def release_all_cancelled() -> int:
    """``release_cancelled`` for every customer with a live coupon use (after a big import)."""
    ids = sorted(
        set(
            Redemption.objects.filter(state=RedemptionState.REDEEMED).values_list(
                "customer_id", flat=True
            )
        )
    )
    return release_cancelled(ids)


# --- rewards catalogue ---------------------------------------------------------------


def save_reward(
    *,
    name: str,
    kind: str,
    points: int,
    actor: audit.Actor,
    description: str = "",
    campaign_id: int | None = None,
    gift_sku: str = "",
    stock: int | None = None,
    active: bool = True,
    reward_id: int | None = None,
) -> Reward:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise PromotionError("name", REQUIRED_UP_TO, limit=120)
    if kind not in RewardKind.values:
        raise PromotionError("kind", MUST_BE_ONE_OF, choices=", ".join(RewardKind.values))
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 10_000_000:
        raise PromotionError("points", N_("must be a whole number from 1 to 10,000,000"))
    if stock is not None and (not isinstance(stock, int) or stock < 0):
        raise PromotionError("stock", N_("must be a whole number, 0 or more"))
    if stock is not None and stock > MAX_STOCK:  # was a 500 past the column's integers
        raise PromotionError("stock", rules.FROM_TO, min=0, max=f"{MAX_STOCK:,}")
    if kind == RewardKind.COUPON:
        if campaign_id is None:
            raise PromotionError("campaign_id", N_("a coupon reward needs a unique-code campaign"))
        campaign = CouponCampaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise PromotionError("campaign_id", N_("no campaign #%(id)s"), id=campaign_id)
        if terms_of(campaign).codes != "unique":
            raise PromotionError("campaign_id", N_("must be a campaign with unique codes"))
        gift_sku = ""
    else:
        campaign_id = None
        gift_sku = (gift_sku or "").strip()[:80]
    now = clock.now()
    values = dict(
        name=name,
        description=description,
        kind=kind,
        points=points,
        campaign_id=campaign_id,
        gift_sku=gift_sku,
        stock=stock,
        active=active,
        updated_at=now,
    )
    with transaction.atomic():
        if Reward.objects.filter(name=name).exclude(pk=reward_id).exists():
            raise PromotionError("name", N_("a reward named %(name)s exists"), name=repr(name))
        if reward_id is None:
            reward = Reward.objects.create(created_at=now, **values)
            before = None
        else:
            reward = Reward.objects.select_for_update().get(pk=reward_id)
            before = {k: getattr(reward, k) for k in ("name", "points", "stock", "active")}
            for k, v in values.items():
                setattr(reward, k, v)
            reward.save()
        audit.record(
            actor,
            "create" if before is None else "update",
            "reward",
            reward.pk,
            before,
            {k: values[k] for k in ("name", "points", "stock", "active")},
        )
    return reward


class RewardRefused(Exception):
    def __init__(self, reason: str, message: str, balance: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.balance = balance


def claim_reward(
    reward_id: int, customer_id: int, *, request_ref: str, actor: audit.Actor
) -> tuple[RewardClaim, bool]:
    """Spend the reward's points and hand over its coupon or gift, all or nothing.

    ``request_ref`` makes the claim idempotent: the same reference returns the first claim.
    Raises ``RewardRefused`` (inactive, out of stock, not enough points).
    """
    from ecrm.loyalty import api as loyalty

    request_ref = (request_ref or "").strip()
    if not request_ref or len(request_ref) > 100:
        raise PromotionError("request_ref", REQUIRED_UP_TO, limit=100)
    customer_id = customers.live_id(customer_id)
    first = RewardClaim.objects.filter(request_ref=request_ref).first()
    if first is not None:
        return first, False
    reward = Reward.objects.get(pk=reward_id)
    if not reward.active:
        raise RewardRefused("inactive", "this reward is no longer offered")
    if not loyalty.is_member(customer_id):
        raise RewardRefused("not_member", "the customer is not a member of the loyalty programme")
    with transaction.atomic():
        stock = Q(pk=reward.pk, active=True)
        if reward.stock is not None:
            stock &= Q(stock__gt=0)
            moved = Reward.objects.filter(stock).update(
                stock=F("stock") - 1, claimed=F("claimed") + 1
            )
        else:
            moved = Reward.objects.filter(stock).update(claimed=F("claimed") + 1)
        if not moved:
            raise RewardRefused("out_of_stock", "this reward is out of stock")
        try:
            loyalty.spend_points(
                customer_id,
                reward.points,
                source="reward",
                source_ref=f"claim:{request_ref}",
                reason=reward.name,
                actor=actor,
            )
        except loyalty.InsufficientPoints as exc:
            raise RewardRefused(
                "insufficient_points",
                f"the reward needs {reward.points} points and the balance is {exc.balance}",
                exc.balance,
            ) from None
        coupon = None
        if reward.kind == RewardKind.COUPON:
            coupon, _ = issue_coupon(
                reward.campaign_id,
                customer_id,
                actor=actor,
                source="reward",
                source_ref=f"claim:{request_ref}",
            )
        claim = RewardClaim.objects.create(
            reward=reward,
            customer_id=customer_id,
            points=reward.points,
            coupon=coupon,
            request_ref=request_ref,
            claimed_at=clock.now(),
            actor_label=actor.label[:120],
        )
        audit.record(
            actor,
            "claim",
            "reward",
            reward.pk,
            None,
            {"customer": customer_id, "points": reward.points, "request": request_ref},
        )
    return claim, True


# --- referrals -----------------------------------------------------------------------


def programme() -> rules.Programme:
    row = ReferralProgramme.objects.filter(pk=1).values_list("definition", flat=True).first()
    return rules.validate_programme(row if row is not None else rules.DEFAULT_PROGRAMME)


def save_programme(definition: dict, *, actor: audit.Actor) -> rules.Programme:
    terms = rules.validate_programme(definition)
    stored = terms.as_json()
    with transaction.atomic():
        row = ReferralProgramme.objects.select_for_update().filter(pk=1).first()
        now = clock.now()
        if row is None:
            ReferralProgramme.objects.create(pk=1, definition=stored, updated_at=now)
            before = None
        else:
            before = row.definition
            if row.definition != stored:
                row.definition, row.version, row.updated_at = stored, row.version + 1, now
                row.save()
        audit.record(actor, "update", "referral_programme", 1, before, stored)
    return terms


def referral_code_of(customer_id: int) -> str:
    """The customer's referral code, made the first time it is asked for."""
    customer_id = customers.live_id(customer_id)
    code = ReferralCode.objects.filter(customer_id=customer_id).values_list("code", flat=True)
    if code:
        return code[0]
    for _ in range(5):
        candidate = rules.generate_code("", 8)
        try:
            with transaction.atomic():
                ReferralCode.objects.create(
                    customer_id=customer_id, code=candidate, created_at=clock.now()
                )
            return candidate
        except IntegrityError:
            existing = ReferralCode.objects.filter(customer_id=customer_id).first()
            if existing is not None:
                return existing.code
    raise RuntimeError("could not find a free referral code")


def note_click(code: str) -> bool:
    """Count a click on a referral link; False when no customer has the code."""
    code = (code or "").strip().upper()[:20]
    return bool(ReferralCode.objects.filter(code=code).update(clicks=F("clicks") + 1))


def claim_referral(
    referee_id: int,
    code: str,
    *,
    anonymous_id: str = "",
    device_id: str = "",
    channel: str = "",
) -> Referral | None:
    """Attribute a new customer to the referrer whose code they came with.

    A customer is attributed once: a second claim returns the first referral and changes
    nothing. A claim that fails the self-referral guards is kept, rejected with its reason,
    so staff can see it. An unknown code returns None.
    """
    from ecrm.events import api as events
    from ecrm.figures import api as figures

    referee_id = customers.live_id(referee_id)
    code = (code or "").strip().upper()[:20]
    owner = ReferralCode.objects.filter(code=code).values_list("customer_id", flat=True).first()
    if owner is None:
        return None
    referrer_id = customers.live_id(owner)
    existing = Referral.objects.filter(referee_id=referee_id).first()
    if existing is not None:
        return existing
    anonymous_id, device_id = anonymous_id[:100], device_id[:100]
    referrer = _facts(referrer_id)
    referrer = rules.Person(
        referrer.customer_id,
        referrer.phone,
        referrer.email,
        referrer.anonymous_ids,
        frozenset(events.device_ids_of(referrer_id)),
    )
    referee = _facts(referee_id, anonymous_id=anonymous_id, device_id=device_id)
    others = set(
        Referral.objects.filter(referrer_id=referrer_id)
        .exclude(device_id="")
        .values_list("device_id", flat=True)
    )
    reason = rules.self_referral(referrer, referee, others)
    if not reason and figures.figures_of(referee_id).order_count > 0:
        reason = "not_new"
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                referrer_id=referrer_id,
                referee_id=referee_id,
                code=code,
                state=ReferralState.REJECTED if reason else ReferralState.PENDING,
                reason=reason,
                anonymous_id=anonymous_id,
                device_id=device_id,
                channel=channel[:40],
                created_at=clock.now(),
            )
            audit.record(
                audit.SYSTEM,
                "referral",
                "customer",
                referee_id,
                None,
                {"referrer": referrer_id, "code": code, "state": referral.state, "reason": reason},
            )
    except IntegrityError:
        return Referral.objects.get(referee_id=referee_id)
    if not reason:
        settle_referrals([referee_id])
    return Referral.objects.get(pk=referral.pk)


def _facts(customer_id: int, *, anonymous_id: str = "", device_id: str = "") -> rules.Person:
    phone, email, anonymous_ids = customers.contact_points(customer_id)
    anon = set(anonymous_ids)
    if anonymous_id:
        anon.add(anonymous_id)
    return rules.Person(
        customer_id=customer_id,
        phone=phone,
        email=email,
        anonymous_ids=frozenset(anon),
        device_ids=frozenset({device_id}) if device_id else frozenset(),
    )


def settle_referrals(referee_ids: list[int] | None) -> int:
    """Reward pending referrals whose new customer now has a qualifying order; idempotent.

    ``None``: every pending referral (after a bulk import). Returns how many were rewarded.
    """
    from ecrm.orders import api as orders

    pending = Referral.objects.filter(state=ReferralState.PENDING)
    if referee_ids is not None:
        if not referee_ids:
            return 0
        pending = pending.filter(referee_id__in=referee_ids)
    rows = list(pending.values_list("pk", "referee_id"))
    if not rows:
        return 0
    from ecrm.loyalty import api as loyalty

    terms = programme()
    rewarded = 0
    for pk, referee_id in rows:
        order = orders.first_order(
            referee_id, statuses=terms.qualifying_statuses, min_total=terms.min_order_total
        )
        if order is None:
            continue
        with transaction.atomic():
            referral = Referral.objects.select_for_update().get(pk=pk)
            if referral.state != ReferralState.PENDING:
                continue
            ref = f"referral:{referral.pk}"
            if terms.referrer_points:
                loyalty.award_points(
                    referral.referrer_id,
                    terms.referrer_points,
                    source="referral",
                    source_ref=f"{ref}:referrer",
                    reason=f"referred customer #{referral.referee_id}",
                    actor=audit.SYSTEM,
                )
                referral.referrer_points = terms.referrer_points
            if terms.referee_points:
                loyalty.award_points(
                    referral.referee_id,
                    terms.referee_points,
                    source="referral",
                    source_ref=f"{ref}:referee",
                    reason=f"referred by customer #{referral.referrer_id}",
                    actor=audit.SYSTEM,
                )
                referral.referee_points = terms.referee_points
            referral.state = ReferralState.REWARDED
            referral.order_ref = order.external_id[:80]
            referral.rewarded_at = clock.now()
            referral.save()
            rewarded += 1
    return rewarded


def orders_changed(customer_ids: list[int]) -> None:
    """``flows.orders_changed``: give back coupon uses of cancelled orders, reward referrals."""
    if not customer_ids:
        return
    release_cancelled(customer_ids)
    settle_referrals(customer_ids)
