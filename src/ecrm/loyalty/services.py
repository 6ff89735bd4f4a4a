"""Loyalty writes: one function per write, each owning its transaction.

Every change of a member's points locks their ``Membership`` row first (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite's write transactions are serial), then appends ledger
entries, records which lots each debit took from, and moves ``Membership.points`` by the
same amount. So concurrent redemptions queue on the row and never overspend.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext_noop as N_

from ecrm import flows
from ecrm.core import audit, clock
from ecrm.core.messages import REQUIRED_UP_TO
from ecrm.loyalty import queries, rules
from ecrm.loyalty.models import (
    ONCE_KINDS,
    EarningRule,
    EarningRuleVersion,
    Membership,
    PointsDebit,
    PointsEntry,
    Programme,
    Source,
    Tier,
    TierChange,
)
from ecrm.loyalty.rules import InsufficientPoints, LoyaltyError

__all__ = ["InsufficientPoints", "LoyaltyError"]


# --- the programme ---------------------------------------------------------------------


def save_programme(
    *,
    actor: audit.Actor,
    settings: dict | None = None,
    name: str | None = None,
    enabled: bool | None = None,
) -> Programme:
    """Change the programme's settings, name or on/off switch (validated, audited)."""
    with transaction.atomic():
        row = queries.programme_row()
        row = Programme.objects.select_for_update().get(pk=row.pk)
        before = {"name": row.name, "enabled": row.enabled, "settings": row.settings}
        if settings is not None:
            current = rules.validate_settings(row.settings or {}).as_json()
            merged = rules.validate_settings({**current, **settings}).as_json()
            if merged != current:
                row.settings = merged
                row.version += 1
        if name is not None:
            row.name = rules._text(name, "name", 120)
        if enabled is not None:
            row.enabled = bool(enabled)
        row.updated_at = clock.now()
        row.updated_by_id = actor.user_id
        row.save()
        audit.record(
            actor,
            "update",
            "loyalty_programme",
            row.pk,
            before,
            {"name": row.name, "enabled": row.enabled, "settings": row.settings},
        )
    return row


def save_tiers(raw: list[dict], *, actor: audit.Actor) -> tuple[rules.TierDef, ...]:
    """Replace the tier ladder. Members of a removed tier move at their next evaluation."""
    tiers = rules.validate_tiers(raw)
    with transaction.atomic():
        before = [t.code for t in queries.tier_defs()]
        Tier.objects.all().delete()
        Tier.objects.bulk_create(
            Tier(
                code=t.code,
                name=t.name,
                rank=t.rank,
                threshold=t.threshold,
                multiplier=t.multiplier,
                discount_percent=t.discount_percent,
                description=t.description,
            )
            for t in tiers
        )
        audit.record(
            actor,
            "update",
            "loyalty_tiers",
            1,
            {"tiers": before},
            {"tiers": [t.__dict__ for t in tiers]},
        )
    return tiers


def save_rule(
    *,
    name: str,
    definition: dict,
    actor: audit.Actor,
    description: str = "",
    active: bool = True,
    rule_id: int | None = None,
) -> EarningRule:
    """Create a rule or save a new version of it. The definition is validated, and the
    active rules together must not be ambiguous (``rules.check_rule_set``)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise LoyaltyError("name", REQUIRED_UP_TO, limit=120)
    setup = queries.setup()
    rule = rules.validate_rule(
        definition,
        rule_id=rule_id or 0,
        name=name,
        festivals=[f.code for f in setup.settings.festivals],
        tiers=[t.code for t in setup.tiers],
    )
    if rule.when.segments:
        known = queries.segment_names()
        for i, segment_id in enumerate(rule.when.segments):
            if segment_id not in known:
                raise LoyaltyError(f"when.segments[{i}]", N_("no segment #%(id)s"), id=segment_id)
    now = clock.now()
    with transaction.atomic():
        if EarningRule.objects.filter(name=name).exclude(pk=rule_id).exists():
            raise LoyaltyError("name", N_("a rule named %(name)s exists"), name=repr(name))
        if active:
            others = [r for r in setup.rules if r.id != rule_id]
            rules.check_rule_set([*others, rule])
        if rule_id is None:
            row = EarningRule.objects.create(
                name=name,
                description=description,
                definition=definition,
                active=active,
                version=1,
                created_at=now,
                updated_at=now,
                updated_by_id=actor.user_id,
            )
            before = None
        else:
            row = EarningRule.objects.select_for_update().get(pk=rule_id)
            before = {"name": row.name, "version": row.version, "active": row.active}
            if (row.definition, row.active, row.name) != (definition, active, name):
                row.version += 1
            row.name, row.description, row.definition, row.active = (
                name,
                description,
                definition,
                active,
            )
            row.updated_at, row.updated_by_id = now, actor.user_id
            row.save()
        if not EarningRuleVersion.objects.filter(rule=row, version=row.version).exists():
            EarningRuleVersion.objects.create(
                rule=row,
                version=row.version,
                name=name,
                definition=definition,
                active=active,
                created_at=now,
                created_by_label=actor.label[:120],
            )
        audit.record(
            actor,
            "create" if before is None else "update",
            "earning_rule",
            row.pk,
            before,
            {"name": name, "version": row.version, "active": active, "definition": definition},
        )
    return row


def set_rule_active(rule_id: int, active: bool, *, actor: audit.Actor) -> EarningRule:
    row = EarningRule.objects.get(pk=rule_id)
    return save_rule(
        name=row.name,
        definition=row.definition,
        actor=actor,
        description=row.description,
        active=active,
        rule_id=rule_id,
    )


# --- membership ------------------------------------------------------------------------


def _number(customer_id: int) -> str:
    return f"M{customer_id:09d}"


def join(
    customer_id: int,
    *,
    actor: audit.Actor,
    channel: str = "",
    recruited_by: str = "",
    store: str = "",
    at: dt.datetime | None = None,
) -> tuple[Membership, bool]:
    """Make the customer a member (idempotent: a member stays as they are)."""
    with transaction.atomic():
        m, created = _ensure_member(customer_id, channel, recruited_by, store, at)
        if created:
            audit.record(
                actor,
                "join",
                "membership",
                customer_id,
                None,
                {
                    "number": m.number,
                    "channel": channel,
                    "recruited_by": recruited_by,
                    "store": store,
                },
            )
            flows.loyalty_changed([customer_id])
    return m, created


def _ensure_member(customer_id, channel, recruited_by, store, at) -> tuple[Membership, bool]:
    m = Membership.objects.select_for_update().filter(customer_id=customer_id).first()
    if m is not None:
        return m, False
    setup = queries.setup()
    entry = setup.tiers[0].code if setup.tiers else ""
    joined = at or clock.now()
    try:
        with transaction.atomic():
            m = Membership.objects.create(
                customer_id=customer_id,
                number=_number(customer_id),
                joined_at=joined,
                channel=channel[:40],
                recruited_by=recruited_by[:80],
                store=store[:80],
                tier=entry,
                tier_since=joined if entry else None,
            )
    except IntegrityError:  # a concurrent join won
        return Membership.objects.select_for_update().get(customer_id=customer_id), False
    return m, True


def set_special(customer_id: int, special: bool, *, actor: audit.Actor) -> Membership:
    with transaction.atomic():
        m = Membership.objects.select_for_update().get(customer_id=customer_id)
        if m.special != special:
            audit.record(
                actor,
                "update",
                "membership",
                customer_id,
                {"special": m.special},
                {"special": special},
            )
            m.special = special
            m.save(update_fields=["special"])
            flows.loyalty_changed([customer_id])
    return m


def update_member(
    customer_id: int, *, actor: audit.Actor, recruited_by: str, store: str, channel: str
) -> Membership:
    with transaction.atomic():
        m = Membership.objects.select_for_update().get(customer_id=customer_id)
        before = {"recruited_by": m.recruited_by, "store": m.store, "channel": m.channel}
        after = {"recruited_by": recruited_by[:80], "store": store[:80], "channel": channel[:40]}
        if before != after:
            for k, v in after.items():
                setattr(m, k, v)
            m.save(update_fields=list(after))
            audit.record(
                actor, "update", "membership", customer_id, *audit.changed_fields(before, after)
            )
    return m


# --- ledger primitives (inside a transaction, the membership row locked) --------------


def _lock(customer_id: int) -> Membership | None:
    return Membership.objects.select_for_update().filter(customer_id=customer_id).first()


def _add_lot(
    m: Membership,
    *,
    kind: str,
    points: int,
    source: str,
    ref: str,
    reason: str,
    at: dt.datetime,
    expires_at: dt.datetime | None,
    detail: dict | None = None,
    actor: str = "",
) -> PointsEntry:
    entry = PointsEntry.objects.create(
        customer_id=m.customer_id,
        kind=kind,
        points=points,
        source=source,
        source_ref=ref[:120],
        reason=reason[:300],
        detail=detail or {},
        created_at=at,
        expires_at=expires_at,
        actor_label=actor[:120],
    )
    left = points
    debits = []
    # A debt (a clawback of points already spent) exists only while the balance is below
    # zero: lots pay debts as they arrive, so a debt means every lot is used up.
    owing = queries.outstanding_debits(m.customer_id) if m.points < 0 else []
    for debit_id, owed in owing:
        if left <= 0:
            break
        n = min(owed, left)
        debits.append(PointsDebit(debit_id=debit_id, lot_id=entry.pk, points=n))
        left -= n
    PointsDebit.objects.bulk_create(debits)
    m.points += points
    return entry


def _add_debit(
    m: Membership,
    *,
    kind: str,
    points: int,
    source: str,
    ref: str,
    reason: str,
    at: dt.datetime,
    actor: str = "",
    first_lot: int | None = None,
    lots: Sequence[rules.Lot] | None = None,
) -> PointsEntry:
    """Take ``points`` (> 0): from ``first_lot`` if given, then the oldest lots; what they
    cannot cover stays owed and later lots pay it."""
    entry = PointsEntry.objects.create(
        customer_id=m.customer_id,
        kind=kind,
        points=-points,
        source=source,
        source_ref=ref[:120],
        reason=reason[:300],
        created_at=at,
        actor_label=actor[:120],
    )
    pool = list(lots) if lots is not None else queries.lots(m.customer_id)
    takes: list[tuple[int, int]] = []
    left = points
    if first_lot is not None:
        own = next((x for x in pool if x.entry_id == first_lot), None)
        if own is not None and own.remaining > 0:
            n = min(own.remaining, left)
            takes.append((own.entry_id, n))
            own.remaining -= n
            left -= n
    more, _short = rules.take_from_lots(pool, left)
    takes += more
    PointsDebit.objects.bulk_create(
        PointsDebit(debit_id=entry.pk, lot_id=lot_id, points=n) for lot_id, n in takes
    )
    m.points -= points
    return entry


def _save_points(m: Membership) -> None:
    m.save(update_fields=["points"])


def _expiry(setup: queries.Setup, at: dt.datetime) -> dt.datetime | None:
    days = setup.settings.expiry_days
    return at + dt.timedelta(days=days) if days else None


# --- the contract other domains use -----------------------------------------------------


def award_points(
    customer_id: int,
    points: int,
    *,
    source: str,
    source_ref: str,
    reason: str,
    actor: audit.Actor,
    expires_at: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> bool:
    """Give points once per (source, source_ref); False when that source already earned.
    A customer who is not a member yet joins."""
    if points <= 0:
        raise LoyaltyError("points", N_("must be a positive whole number"))
    at = at or clock.now()
    with transaction.atomic():
        m, joined = _ensure_member(customer_id, source, "", "", None)
        if PointsEntry.objects.filter(source=source, source_ref=source_ref, kind="earn").exists():
            return False
        days = queries.current_settings().expiry_days
        default = at + dt.timedelta(days=days) if days else None
        expires = expires_at if expires_at is not None else default
        _add_lot(
            m,
            kind="earn",
            points=points,
            source=source,
            ref=source_ref,
            reason=reason,
            at=at,
            expires_at=expires,
            actor=actor.label,
        )
        _save_points(m)
        flows.loyalty_changed([customer_id])
    return True


def spend_points(
    customer_id: int,
    points: int,
    *,
    source: str,
    source_ref: str,
    reason: str,
    actor: audit.Actor,
) -> int:
    """Redeem ``points`` once per (source, source_ref), oldest lots first; returns the new
    balance (the same balance again when this redemption was already made). Raises
    ``InsufficientPoints`` (with ``.balance``) when the member holds fewer points, and
    ``ReferenceReused`` when the reference redeemed other points or another member's.

    The checkout's hot path: a handful of narrow statements inside one short write
    transaction (the member's row locked first), no model instances."""
    if points <= 0:
        raise LoyaltyError("points", N_("must be a positive whole number"))
    source_ref = source_ref[:120]
    at = clock.now()
    with transaction.atomic(), connection.cursor() as cursor:
        lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
        cursor.execute(
            f"SELECT points FROM loyalty_membership WHERE customer_id = %s{lock}", [customer_id]
        )
        row = cursor.fetchone()
        if row is None:
            raise InsufficientPoints(0, points)
        balance = row[0]
        if balance < points:
            if _spent_before(cursor, source, source_ref, customer_id, points):
                return balance
            raise InsufficientPoints(balance, points)
        # After the lock, so a concurrent redemption of the same reference has committed:
        # the unique (source, reference, kind) index turns this one into a replay.
        once = "', '".join(ONCE_KINDS)
        detail = "CAST(%s AS JSONB)" if connection.vendor == "postgresql" else "%s"
        cursor.execute(
            "INSERT INTO loyalty_pointsentry (customer_id, kind, points, source, source_ref, "
            "reason, detail, created_at, expires_at, actor_label) "
            f"VALUES (%s, 'spend', %s, %s, %s, %s, {detail}, %s, NULL, %s) "
            f"ON CONFLICT (source, source_ref, kind) WHERE kind IN ('{once}') DO NOTHING "
            "RETURNING id",
            [
                customer_id,
                -points,
                source,
                source_ref,
                reason[:300],
                "{}",
                connection.ops.adapt_datetimefield_value(at),
                actor.label[:120],
            ],
        )
        inserted = cursor.fetchone()
        if inserted is None:  # this reference was redeemed already
            _spent_before(cursor, source, source_ref, customer_id, points)
            return balance
        entry_id = inserted[0]
        takes, _short = rules.take_from_lots(queries.spendable_lots(customer_id), points)
        if takes:
            cursor.executemany(
                "INSERT INTO loyalty_pointsdebit (debit_id, lot_id, points) VALUES (%s, %s, %s)",
                [(entry_id, lot_id, n) for lot_id, n in takes],
            )
        cursor.execute(
            "UPDATE loyalty_membership SET points = %s WHERE customer_id = %s",
            [balance - points, customer_id],
        )
        flows.loyalty_changed([customer_id])
    return balance - points


def _spent_before(cursor, source: str, source_ref: str, customer_id: int, points: int) -> bool:
    """Whether this very redemption was made already; ``ReferenceReused`` when its
    reference redeemed something else."""
    cursor.execute(
        "SELECT customer_id, points FROM loyalty_pointsentry WHERE source = %s "
        "AND source_ref = %s AND kind = 'spend'",
        [source, source_ref],
    )
    row = cursor.fetchone()
    if row is None:
        return False
    if (row[0], -row[1]) != (customer_id, points):
        raise rules.ReferenceReused(row[0], -row[1])
    return True


def restore_points(
    customer_id: int, *, source: str, source_ref: str, reason: str, actor: audit.Actor
) -> int:
    """Give back a redemption (an order paid partly with points was cancelled): the points
    return as a new lot with the programme's expiry. Idempotent; returns the balance."""
    with transaction.atomic():
        m = _lock(customer_id)
        if m is None:
            return 0
        spent = PointsEntry.objects.filter(
            customer_id=customer_id, source=source, source_ref=source_ref, kind="spend"
        ).first()
        done = PointsEntry.objects.filter(source=source, source_ref=source_ref, kind="restore")
        if spent is None or done.exists():
            return m.points
        at = clock.now()
        _add_lot(
            m,
            kind="restore",
            points=-spent.points,
            source=source,
            ref=source_ref,
            reason=reason,
            at=at,
            expires_at=_expiry(queries.setup(), at),
            actor=actor.label,
        )
        _save_points(m)
        flows.loyalty_changed([customer_id])
        return m.points


MAX_ADJUSTMENT = rules.MAX_CAP_POINTS  # points in one staff adjustment: a rule's cap at most


def adjust_points(
    customer_id: int,
    points: int,
    *,
    reason: str,
    actor: audit.Actor,
    expires_at: dt.datetime | None = None,
) -> PointsEntry:
    """A staff adjustment (the caller checks the permission): positive adds a lot,
    negative takes from the oldest lots and may not take more than the balance."""
    reason = (reason or "").strip()
    if not reason:
        raise LoyaltyError("reason", N_("say why the points change"))
    if not isinstance(points, int) or points == 0:
        raise LoyaltyError("points", N_("must be a non-zero whole number"))
    if abs(points) > MAX_ADJUSTMENT:
        raise LoyaltyError("points", rules.PLUS_OR_MINUS, max=f"{MAX_ADJUSTMENT:,}")
    ref = uuid.uuid4().hex
    at = clock.now()
    with transaction.atomic():
        m = _lock(customer_id)
        if m is None:
            raise LoyaltyError("customer", N_("the customer is not a member"))
        before = m.points
        if points > 0:
            expires = expires_at if expires_at is not None else _expiry(queries.setup(), at)
            entry = _add_lot(
                m,
                kind="adjust",
                points=points,
                source=Source.STAFF,
                ref=ref,
                reason=reason,
                at=at,
                expires_at=expires,
                actor=actor.label,
            )
        else:
            if m.points < -points:
                raise InsufficientPoints(m.points, -points)
            entry = _add_debit(
                m,
                kind="adjust",
                points=-points,
                source=Source.STAFF,
                ref=ref,
                reason=reason,
                at=at,
                actor=actor.label,
            )
        _save_points(m)
        audit.record(
            actor,
            "adjust_points",
            "membership",
            customer_id,
            {"points": before},
            {"points": m.points, "change": points, "reason": reason},
        )
        flows.loyalty_changed([customer_id])
    return entry


# --- orders: reconcile -------------------------------------------------------------------


@dataclass
class ReconcileResult:
    awarded: int = 0
    clawed_back: int = 0
    joined: int = 0
    tier_changes: int = 0


def reconcile_customers(
    customer_ids: Iterable[int], *, now: dt.datetime | None = None
) -> ReconcileResult:
    """Bring the ledger in line with the customers' orders: award qualifying orders not yet
    awarded, claw back what cancelled, returned or refunded orders earned (a partial return
    claws back its share), join first-time buyers when the programme says so, re-evaluate
    the tier and settle the points copy. Idempotent; runs in the caller's transaction."""
    result = ReconcileResult()
    customer_ids = sorted(set(customer_ids))
    if not customer_ids or not queries.enabled():
        return result
    setup = queries.setup()
    now = now or clock.now()
    for customer_id in customer_ids:
        with transaction.atomic():
            _reconcile_one(customer_id, setup, now, result)
    return result


def _reconcile_one(customer_id: int, setup: queries.Setup, now, result: ReconcileResult) -> None:
    earning = setup.settings.earning_statuses
    m = _lock(customer_id)
    orders = None
    if m is None:
        if setup.settings.join != "first_order":
            return
        orders = queries.customer_orders(customer_id)
        launched = setup.settings.launched_by
        first = next(
            (o for o in orders if o.status in earning and launched(queries.local_day(o.placed_at))),
            None,
        )
        if first is None:
            return
        m, created = _ensure_member(
            customer_id,
            first.channel or "first_order",
            first.employee,
            first.store,
            first.placed_at,
        )
        result.joined += int(created)
    if orders is None:
        orders = queries.customer_orders(customer_id)
    earned = _earned(customer_id)
    pending = [
        o
        for o in orders
        if o.status in earning
        and str(o.id) not in earned
        and setup.settings.launched_by(queries.local_day(o.placed_at))
    ]
    if pending:
        award_orders(m, setup, orders, pending, result)
        earned = _earned(customer_id)
    reversals = [o for o in orders if str(o.id) in earned]
    if reversals:
        _claw_back(m, setup, reversals, earned, now, result)
    _evaluate_tier(m, setup, now, result)
    total = queries.ledger_balance(customer_id)
    if total != m.points:
        m.points = total
    m.save(update_fields=["points", "tier", "tier_since", "below_since"])


def _earned(customer_id: int) -> dict[str, tuple]:
    return {
        ref: (pk, pts, detail)
        for pk, ref, pts, detail in PointsEntry.objects.filter(
            customer_id=customer_id, source=Source.ORDER, kind="earn"
        ).values_list("pk", "source_ref", "points", "detail")
    }


def award_orders(m, setup: queries.Setup, orders, pending, result: ReconcileResult) -> None:
    customer_id = m.customer_id
    member = queries.member_fact(m, setup, queries.birthday_of(customer_id))
    positions = queries.nth_positions(orders, setup.settings.earning_statuses)
    lines = queries.order_lines([o.id for o in pending]) if _needs_lines(setup) else {}
    used = queries.cap_usage(customer_id, setup.rules)
    order_rules = [r for r in setup.rules if r.event == rules.ORDER_COMPLETED]
    for o in pending:
        occ = rules.Occasion(
            event=rules.ORDER_COMPLETED,
            ref=str(o.id),
            day=queries.local_day(o.placed_at),
            label=o.external_id,
            amount=rules.money_units(o.total),
            currency=o.currency,
            lines=lines.get(o.id, ()),
            nth=positions.get(o.id, {}),
        )
        ev = rules.evaluate(order_rules, member, occ, setup.settings, used)
        if ev.points <= 0:
            continue
        _add_lot(
            m,
            kind="earn",
            points=ev.points,
            source=Source.ORDER,
            ref=str(o.id),
            reason=f"订单 {o.external_id}",
            at=o.placed_at,
            expires_at=_expiry(setup, o.placed_at),
            detail=ev.detail(),
        )
        result.awarded += ev.points


def _needs_lines(setup: queries.Setup) -> bool:
    return any(r.when.lines_filtered for r in setup.rules)


def _claw_back(m, setup, candidates, earned, now, result: ReconcileResult) -> None:
    customer_id = m.customer_id
    refs = [str(o.id) for o in candidates]
    clawed = dict(
        PointsEntry.objects.filter(
            customer_id=customer_id, source=Source.ORDER, kind="clawback", source_ref__in=refs
        )
        .values("source_ref")
        .annotate(n=Sum("points"))
        .values_list("source_ref", "n")
    )
    lots = None
    for o in candidates:
        lot_id, points, _detail = earned[str(o.id)]
        if o.status in rules.REVERSED_STATUSES:
            keep = 0
        elif o.returned > 0 and o.total > 0:  # a partial return keeps its share, floored
            left = max(0, rules.money_units(o.total - o.returned))
            keep = points * left // rules.money_units(o.total)
        else:
            keep = points
        if lots is None:
            lots = queries.lots(customer_id)
        expired = _expired_from(lot_id)
        target = min(points - keep, points - expired)
        todo = target - (-(clawed.get(str(o.id)) or 0))
        if todo <= 0:
            continue
        n = len(
            PointsEntry.objects.filter(source=Source.ORDER, source_ref=str(o.id), kind="clawback")
        )
        why = "订单退款" if o.status != "cancelled" else "订单取消"
        _add_debit(
            m,
            kind="clawback",
            points=todo,
            source=Source.ORDER,
            ref=str(o.id),
            reason=f"{why} {o.external_id}" + (f" #{n + 1}" if n else ""),
            at=now,
            first_lot=lot_id,
            lots=lots,
        )
        lots = None
        result.clawed_back += todo


def _expired_from(lot_id: int) -> int:
    return (
        PointsDebit.objects.filter(lot_id=lot_id, debit__kind="expire").aggregate(s=Sum("points"))[
            "s"
        ]
        or 0
    )


# --- activities ----------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    customer_id: int
    kind: str  # one of rules.ACTIVITY_TYPES
    ref: str  # the event's message id, or the caller's own reference
    at: dt.datetime
    label: str = ""


def record_activities(activities: Iterable[Activity]) -> int:
    """Award members for activities (reviews, sign-ins, surveys, campaigns, referrals) by
    the active rules; once per ref. Non-members earn nothing. Returns points awarded."""
    activities = list(activities)
    if not activities:
        return 0
    setup = queries.setup()
    if not setup.enabled:
        return 0
    total = 0
    by_customer: dict[int, list[Activity]] = {}
    for a in activities:
        by_customer.setdefault(a.customer_id, []).append(a)
    for customer_id, acts in sorted(by_customer.items()):
        with transaction.atomic():
            m = _lock(customer_id)
            if m is None:
                continue
            member = queries.member_fact(m, setup, queries.birthday_of(customer_id))
            used = queries.cap_usage(customer_id, setup.rules)
            credited = False
            refs = [a.ref for a in acts]
            done = set(
                PointsEntry.objects.filter(
                    source=Source.EVENT, kind="earn", source_ref__in=refs
                ).values_list("source_ref", flat=True)
            )
            for a in sorted(acts, key=lambda a: (a.at, a.ref)):
                if a.ref in done or a.kind not in rules.ACTIVITY_TYPES:
                    continue
                done.add(a.ref)
                occ = rules.Occasion(
                    event=a.kind, ref=a.ref, day=queries.local_day(a.at), label=a.label
                )
                ev = rules.evaluate(setup.rules, member, occ, setup.settings, used)
                if ev.points <= 0:
                    continue
                _add_lot(
                    m,
                    kind="earn",
                    points=ev.points,
                    source=Source.EVENT,
                    ref=a.ref,
                    reason=a.label or a.kind,
                    at=a.at,
                    expires_at=_expiry(setup, a.at),
                    detail={**ev.detail(), "activity": a.kind},
                )
                total += ev.points
                credited = True
            _save_points(m)
            if credited:
                flows.loyalty_changed([customer_id])
    return total


# --- schedules ---------------------------------------------------------------------------


def expire_points(now: dt.datetime | None = None) -> int:
    """Expire every lot whose time has come with points left; returns points expired."""
    now = now or clock.now()
    customers = (
        PointsEntry.objects.filter(points__gt=0, expires_at__lte=now)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    total = 0
    for customer_id in sorted(set(customers)):
        total += expire_customer(customer_id, now)
    return total


def expire_customer(customer_id: int, now: dt.datetime) -> int:
    total = 0
    with transaction.atomic():
        m = _lock(customer_id)
        if m is None:
            return 0
        for lot in queries.lots(customer_id):
            if lot.remaining <= 0 or lot.expires_at is None or lot.expires_at > now:
                continue
            entry = PointsEntry.objects.create(
                customer_id=customer_id,
                kind="expire",
                points=-lot.remaining,
                source=Source.EXPIRY,
                source_ref=str(lot.entry_id),
                reason="积分过期",
                created_at=lot.expires_at,
            )
            PointsDebit.objects.create(debit=entry, lot_id=lot.entry_id, points=lot.remaining)
            m.points -= lot.remaining
            total += lot.remaining
        _save_points(m)
        if total:
            flows.loyalty_changed([customer_id])
    return total


def _evaluate_tier(m: Membership, setup: queries.Setup, now, result: ReconcileResult) -> None:
    if not setup.tiers:
        return
    measure = queries.tier_measure(m.customer_id, setup.settings, now)
    decision = rules.decide_tier(
        setup.tiers, m.tier, m.below_since, measure, now, setup.settings.tier_grace_days
    )
    if decision.changed:
        TierChange.objects.create(
            customer_id=m.customer_id,
            at=now,
            from_tier=m.tier,
            to_tier=decision.tier,
            reason=decision.reason,
        )
        m.tier, m.tier_since = decision.tier, now
        result.tier_changes += 1
    m.below_since = decision.below_since


def evaluate_tiers(customer_ids: Iterable[int] | None = None, now=None) -> int:
    """The scheduled evaluation (nightly): every member, or the given ones."""
    setup = queries.setup()
    now = now or clock.now()
    ids = (
        list(Membership.objects.values_list("customer_id", flat=True))
        if customer_ids is None
        else list(customer_ids)
    )
    result = ReconcileResult()
    for customer_id in ids:
        with transaction.atomic():
            m = _lock(customer_id)
            if m is None:
                continue
            before = m.tier
            _evaluate_tier(m, setup, now, result)
            m.save(update_fields=["tier", "tier_since", "below_since"])
            if m.tier != before:
                flows.loyalty_changed([customer_id])
    return result.tier_changes


def install_programme(
    *,
    actor: audit.Actor,
    settings: dict,
    tiers: list[dict],
    rule_list: list[tuple[str, str, dict]],
    enabled: bool = True,
    name: str = "会员计划",
) -> Programme:
    """Set up a whole programme at once (the demo shop, a test): settings, tiers, rules
    (saved, or saved as a new version when a rule of that name exists), then the switch."""
    with transaction.atomic():
        save_programme(actor=actor, settings=settings, name=name)
        save_tiers(tiers, actor=actor)
        existing = dict(EarningRule.objects.values_list("name", "pk"))
        for rule_name, description, definition in rule_list:
            save_rule(
                name=rule_name,
                description=description,
                definition=definition,
                actor=actor,
                rule_id=existing.get(rule_name),
            )
        return save_programme(actor=actor, enabled=enabled)
