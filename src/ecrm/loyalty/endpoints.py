"""JSON API for loyalty: the programme and its rules (staff), the simulator, checkout quote
and redeem, and the member-facing reads under ``/api/members/{customer_id}/``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from ecrm.config.api import Key, name_text, require
from ecrm.core.audit import Actor
from ecrm.customers.models import Customer
from ecrm.loyalty import queries, rules, services
from ecrm.loyalty.models import EarningRule, EntryKind, Source
from ecrm.staff import rules as perms

router = Router(tags=["loyalty"])
members = Router(tags=["members"])


# --- programme ------------------------------------------------------------------------


class TierOut(Schema):
    code: str
    name: str
    rank: int
    threshold: Decimal
    multiplier: Decimal
    discount_percent: Decimal
    description: str


class ProgrammeOut(Schema):
    name: str
    enabled: bool
    version: int
    settings: dict
    tiers: list[TierOut]


class ProgrammeIn(Schema):
    name: str | None = None
    enabled: bool | None = None
    settings: dict | None = None


def _programme() -> ProgrammeOut:
    row = queries.programme_row()
    return ProgrammeOut(
        name=row.name,
        enabled=row.enabled,
        version=row.version,
        settings=rules.validate_settings(row.settings or {}).as_json(),
        tiers=[TierOut(**t.__dict__) for t in queries.tier_defs()],
    )


@router.get("/programme", response=ProgrammeOut, summary="The programme: settings and tiers")
def get_programme(request):
    require(request, perms.VIEW_CUSTOMERS)
    return _programme()


@router.put("/programme", response=ProgrammeOut, summary="Change settings, name or switch")
def put_programme(request, payload: ProgrammeIn):
    require(request, perms.MANAGE_LOYALTY)
    services.save_programme(
        actor=Actor.of(request.user),
        settings=payload.settings,
        name=payload.name,
        enabled=payload.enabled,
    )
    return _programme()


@router.put("/tiers", response=ProgrammeOut, summary="Replace the tier ladder (lowest first)")
def put_tiers(request, payload: list[dict]):
    require(request, perms.MANAGE_LOYALTY)
    services.save_tiers(payload, actor=Actor.of(request.user))
    return _programme()


# --- rules ----------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    name: str
    description: str
    active: bool
    version: int
    definition: dict
    text: str = Field(description="the rule in words, in the request's language")
    updated_at: dt.datetime


RuleName = name_text(120)


class RuleIn(Schema):
    name: RuleName
    description: str = ""
    active: bool = True
    definition: dict


class RuleVersionOut(Schema):
    version: int
    name: str
    active: bool
    definition: dict
    created_at: dt.datetime
    created_by: str


def _rule_out(row: EarningRule, setup: queries.Setup) -> RuleOut:
    rule = queries.rule_of(row)
    return RuleOut(
        id=row.pk,
        name=row.name,
        description=row.description,
        active=row.active,
        version=row.version,
        definition=row.definition,
        text=rules.describe_rule(rule, setup.settings, setup.tier_names(), queries.segment_names()),
        updated_at=row.updated_at,
    )


@router.get("/rules", response=list[RuleOut], summary="Earning rules")
def list_rules(request):
    require(request, perms.VIEW_CUSTOMERS)
    setup = queries.setup()
    return [_rule_out(r, setup) for r in EarningRule.objects.order_by("-active", "name")]


@router.post("/rules", response={201: RuleOut}, summary="Create an earning rule")
def create_rule(request, payload: RuleIn):
    require(request, perms.MANAGE_LOYALTY)
    row = services.save_rule(
        name=payload.name,
        definition=payload.definition,
        description=payload.description,
        active=payload.active,
        actor=Actor.of(request.user),
    )
    return Status(201, _rule_out(row, queries.setup()))


@router.get("/rules/{rule_id}", response=RuleOut)
def get_rule(request, rule_id: int):
    require(request, perms.VIEW_CUSTOMERS)
    return _rule_out(get_object_or_404(EarningRule, pk=rule_id), queries.setup())


@router.put("/rules/{rule_id}", response=RuleOut, summary="Save a new version of a rule")
def put_rule(request, rule_id: int, payload: RuleIn):
    require(request, perms.MANAGE_LOYALTY)
    get_object_or_404(EarningRule, pk=rule_id)
    row = services.save_rule(
        name=payload.name,
        definition=payload.definition,
        description=payload.description,
        active=payload.active,
        actor=Actor.of(request.user),
        rule_id=rule_id,
    )
    return _rule_out(row, queries.setup())


@router.get("/rules/{rule_id}/versions", response=list[RuleVersionOut])
def rule_versions(request, rule_id: int):
    require(request, perms.VIEW_CUSTOMERS)
    row = get_object_or_404(EarningRule, pk=rule_id)
    return [
        RuleVersionOut(
            version=v.version,
            name=v.name,
            active=v.active,
            definition=v.definition,
            created_at=v.created_at,
            created_by=v.created_by_label,
        )
        for v in row.versions.order_by("-version")
    ]


# --- simulator ------------------------------------------------------------------------


class SimulatedLineIn(Schema):
    sku: str
    amount: Decimal


class SimulateIn(Schema):
    customer_id: int
    event: str = rules.ORDER_COMPLETED
    order_number: str = Field("", description="an existing order to evaluate")
    date: dt.date | None = None
    amount: Decimal | None = None
    currency: str = "CNY"
    lines: list[SimulatedLineIn] = []
    draft: dict | None = Field(None, description="an unsaved rule definition to preview")
    draft_rule_id: Key | None = None


class OutcomeOut(Schema):
    rule_id: int
    rule: str
    fired: bool
    applied: bool
    points: int
    reason: str
    text: str


class SimulationOut(Schema):
    customer_id: int
    member: bool
    tier: str
    points: int
    tier_bonus: int
    tier_reason: str
    rules: list[OutcomeOut]


@router.post("/simulate", response=SimulationOut, summary="Which rules fire, and why")
def simulate(request, payload: SimulateIn):
    require(request, perms.VIEW_CUSTOMERS)
    draft = None
    if payload.draft is not None:
        s = queries.setup()
        draft = rules.validate_rule(
            payload.draft,
            rule_id=payload.draft_rule_id or -1,
            name="draft",
            festivals=[f.code for f in s.settings.festivals],
            tiers=[t.code for t in s.tiers],
        )
    sim = queries.simulate(
        customer_id=payload.customer_id,
        event=payload.event,
        day=payload.date,
        amount=payload.amount,
        currency=payload.currency,
        lines=[{"sku": x.sku, "amount": x.amount} for x in payload.lines],
        order_number=payload.order_number,
        draft=draft,
    )
    ev = sim.evaluation
    return SimulationOut(
        customer_id=sim.customer_id,
        member=sim.member,
        tier=sim.tier,
        points=ev.points,
        tier_bonus=ev.tier_bonus,
        tier_reason=ev.tier_reason,
        rules=[
            OutcomeOut(
                rule_id=o.rule.id,
                rule=o.rule.name,
                fired=o.fired,
                applied=o.applied,
                points=o.points,
                reason=o.reason,
                text=sim.texts.get(o.rule.id, ""),
            )
            for o in ev.outcomes
        ],
    )


# --- checkout -------------------------------------------------------------------------


class QuoteIn(Schema):
    customer_id: int
    order_total: Decimal
    currency: str = "CNY"
    points: int | None = Field(None, description="points the customer wants to use")


class PointsQuoteOut(Schema):
    customer_id: int
    balance: int
    point_value: Decimal
    max_points: int
    points: int
    value: Decimal


class PointsRedeemIn(Schema):
    customer_id: Key
    points: int = Field(..., gt=0)
    reference: str = Field(..., min_length=1, max_length=120, description="checkout or order id")
    reason: str = ""


class BalanceOut(Schema):
    customer_id: int
    balance: int


@router.post("/checkout/quote", response=PointsQuoteOut, summary="Points an order may use")
def checkout_quote(request, payload: QuoteIn):
    require(request, perms.VIEW_CUSTOMERS)
    get_object_or_404(Customer, pk=payload.customer_id)
    q = rules.quote(
        queries.ledger_balance(payload.customer_id),
        payload.order_total,
        queries.current_settings(),
        payload.points,
    )
    return PointsQuoteOut(customer_id=payload.customer_id, **q.__dict__)


@router.post(
    "/checkout/redeem",
    response={200: BalanceOut},
    summary=(
        "Redeem points once per reference (409 with the balance when short, or when "
        "the reference redeemed other points)"
    ),
)
def checkout_redeem(request, payload: PointsRedeemIn):
    require(request, perms.REDEEM_POINTS)
    try:
        balance = services.spend_points(
            payload.customer_id,
            payload.points,
            source=Source.CHECKOUT,
            source_ref=payload.reference,
            reason=payload.reason or f"下单抵扣 {payload.reference}",
            actor=Actor.of(request.user),
        )
    except services.InsufficientPoints:
        # Only a member can redeem, so the customer is looked up only when refused.
        if not Customer.objects.filter(pk=payload.customer_id).exists():
            raise Http404("No Customer matches the given query.") from None
        raise
    return BalanceOut(customer_id=payload.customer_id, balance=balance)


class RestoreIn(Schema):
    customer_id: Key
    reference: str = Field(..., min_length=1, max_length=120)
    reason: str = ""


@router.post("/checkout/restore", response=BalanceOut, summary="Give back a redemption")
def checkout_restore(request, payload: RestoreIn):
    require(request, perms.REDEEM_POINTS)
    # As redeem does: a customer who does not exist is a 404, not "balance 0".
    get_object_or_404(Customer, pk=payload.customer_id)
    balance = services.restore_points(
        payload.customer_id,
        source=Source.CHECKOUT,
        source_ref=payload.reference,
        reason=payload.reason or f"订单取消退回积分 {payload.reference}",
        actor=Actor.of(request.user),
    )
    return BalanceOut(customer_id=payload.customer_id, balance=balance)


class AdjustIn(Schema):
    points: int
    reason: str


@router.post("/members/{customer_id}/adjust", response=BalanceOut, summary="Staff adjustment")
def adjust(request, customer_id: int, payload: AdjustIn):
    require(request, perms.ADJUST_POINTS)
    services.adjust_points(
        customer_id, payload.points, reason=payload.reason, actor=Actor.of(request.user)
    )
    return BalanceOut(customer_id=customer_id, balance=queries.ledger_balance(customer_id))


# --- member-facing --------------------------------------------------------------------


class LoyaltyMemberOut(Schema):
    customer_id: int
    member: bool
    number: str | None
    joined_at: dt.datetime | None
    tier: str | None
    special: bool
    balance: int
    point_value: Decimal
    balance_value: Decimal


class EntryOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    kind_label: str
    points: int
    source: str
    reference: str
    reason: str
    expires_at: dt.datetime | None


class HistoryOut(Schema):
    items: list[EntryOut]
    next: int | None = Field(None, description="pass as ?before= for older movements")


class ExpiringOut(Schema):
    within_days: int
    total: int
    lots: list[dict]


class TierProgressOut(Schema):
    tier: str
    tier_name: str
    since: dt.datetime | None
    metric: str
    window_days: int
    measure: Decimal
    multiplier: Decimal
    discount_percent: Decimal
    benefits: str
    next_tier: str | None
    next_tier_name: str | None
    next_threshold: Decimal | None
    needed: Decimal | None
    progress: float
    downgrade_on: dt.datetime | None


def _customer(customer_id: int) -> None:
    get_object_or_404(Customer, pk=customer_id)


@members.get("/{customer_id}/points", response=LoyaltyMemberOut, summary="Membership and balance")
def member_points(request, customer_id: int):
    require(request, perms.VIEW_CUSTOMERS)
    _customer(customer_id)
    m = queries.membership(customer_id)
    balance = queries.ledger_balance(customer_id)
    value = queries.current_settings().point_value
    return LoyaltyMemberOut(
        customer_id=customer_id,
        member=m is not None,
        number=m.number if m else None,
        joined_at=m.joined_at if m else None,
        tier=m.tier if m else None,
        special=m.special if m else False,
        balance=balance,
        point_value=value,
        balance_value=balance * value,
    )


@members.get("/{customer_id}/points/history", response=HistoryOut, summary="Points history")
def member_history(
    request, customer_id: int, before: Key | None = None, limit: int = Query(50, ge=1, le=200)
):
    require(request, perms.VIEW_CUSTOMERS)
    _customer(customer_id)
    rows = queries.history(customer_id, limit + 1, before)
    labels = dict(EntryKind.choices)
    items = [
        EntryOut(
            id=e.pk,
            at=e.created_at,
            kind=e.kind,
            kind_label=str(labels.get(e.kind, e.kind)),
            points=e.points,
            source=e.source,
            reference=e.source_ref,
            reason=e.reason,
            expires_at=e.expires_at,
        )
        for e in rows[:limit]
    ]
    return HistoryOut(items=items, next=items[-1].id if len(rows) > limit else None)


@members.get("/{customer_id}/points/expiring", response=ExpiringOut, summary="Expiring soon")
def member_expiring(
    request,
    customer_id: int,
    within_days: int | None = Query(
        None, ge=1, le=3660, description="default: the programme's expiring_soon_days"
    ),
):
    require(request, perms.VIEW_CUSTOMERS)
    _customer(customer_id)
    days = within_days or queries.setup().settings.expiring_soon_days
    lots = queries.expiring(customer_id, days)
    return ExpiringOut(within_days=days, total=sum(x["points"] for x in lots), lots=lots)


@members.get("/{customer_id}/tier", response=TierProgressOut, summary="Tier and progress")
def member_tier(request, customer_id: int):
    require(request, perms.VIEW_CUSTOMERS)
    _customer(customer_id)
    progress = queries.tier_progress(customer_id)
    if progress is None:
        from django.http import Http404

        raise Http404(f"customer #{customer_id} is not a member")
    return TierProgressOut(**progress)
