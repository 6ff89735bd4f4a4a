"""What other domains may call in loyalty: membership, points and the segment fields.

Points are an append-only ledger; ``balance`` is its sum. ``award_points`` and
``spend_points`` are idempotent per (source, source_ref) and safe under concurrency on
SQLite and PostgreSQL (the member's row is locked for every change of points).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import BooleanField, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from ecrm.core.messages import MUST_BE_ONE_OF
from ecrm.loyalty import queries, rules, services
from ecrm.loyalty.models import Membership, Source
from ecrm.loyalty.rules import InsufficientPoints, LoyaltyError, ReferenceReused
from ecrm.loyalty.services import (
    Activity,
    adjust_points,
    award_points,
    expire_points,
    join,
    record_activities,
    restore_points,
    spend_points,
)

__all__ = [
    "Activity",
    "InsufficientPoints",
    "LoyaltyError",
    "ReferenceReused",
    "Source",
    "activities_from_events",
    "adjust_points",
    "award_points",
    "balance",
    "expire_points",
    "is_member",
    "join",
    "point_value",
    "points_redeemed_value",
    "reconcile_customers",
    "record_activities",
    "restore_points",
    "segment_facts",
    "segment_fields",
    "spend_points",
    "tier_of",
]


def balance(customer_id: int) -> int:
    """The member's points: the sum of their ledger (0 for a non-member)."""
    return queries.ledger_balance(customer_id)


def tier_of(customer_id: int) -> str | None:
    """The member's tier code, or None for a non-member."""
    return Membership.objects.filter(customer_id=customer_id).values_list("tier", flat=True).first()


def is_member(customer_id: int) -> bool:
    return Membership.objects.filter(customer_id=customer_id).exists()


def point_value() -> Decimal:
    """What one point is worth at checkout, in the shop's currency."""
    return queries.setup().settings.point_value


def points_redeemed_value(customer_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    """Money value of the points each customer redeemed (net of returned redemptions)."""
    return queries.redeemed_value(customer_ids)


def reconcile_customers(customer_ids: Iterable[int]) -> None:
    """``flows`` calls this after orders of these customers changed."""
    services.reconcile_customers(customer_ids)


def reconcile_bulk(customer_ids: Iterable[int] | None = None) -> None:
    """After an import or the demo load: the set-based path, same rules."""
    from ecrm.loyalty import bulk

    bulk.award_all(customer_ids=None if customer_ids is None else list(customer_ids))


def activities_from_events(events: Iterable[tuple]) -> list[Activity]:
    """(customer_id, message_id, event name, timestamp) of tracked events -> the activities
    the programme counts (by its event names)."""
    events = list(events)
    if not events:
        return []
    settings = queries.settings_if_enabled()
    if settings is None:
        return []
    out = []
    for customer_id, message_id, name, at in events:
        kind = settings.activity_for(name)
        if kind is not None and customer_id:
            out.append(Activity(customer_id, kind, message_id, at, name))
    return out


def record_activity(
    customer_id: int, kind: str, *, ref: str, at: dt.datetime, label: str = ""
) -> int:
    """One activity (e.g. ``referral`` from the referral programme): points by the rules."""
    if kind not in rules.ACTIVITY_TYPES:
        raise LoyaltyError("kind", MUST_BE_ONE_OF, choices=", ".join(rules.ACTIVITY_TYPES))
    return record_activities([Activity(customer_id, kind, ref, at, label)])


# --- segments -----------------------------------------------------------------------------


def _member(field: str):
    return Membership.objects.filter(customer_id=OuterRef("pk")).values(field)[:1]


def segment_fields() -> dict[str, dict]:
    tiers = queries.tier_defs()
    return {
        "member": {
            "type": "bool",
            "expression": Exists(Membership.objects.filter(customer_id=OuterRef("pk"))),
            "label": _("Loyalty member"),
        },
        "tier": {
            "type": "text",
            "expression": Coalesce(Subquery(_member("tier")), Value("")),
            "label": _("Membership tier"),
            "choices": [(t.code, t.name) for t in tiers],
        },
        "points": {
            "type": "number",
            "expression": Coalesce(
                Subquery(_member("points"), output_field=IntegerField()), Value(0)
            ),
            "label": _("Points balance"),
        },
        "special": {
            "type": "bool",
            "expression": Coalesce(
                Subquery(_member("special"), output_field=BooleanField()), Value(False)
            ),
            "label": _("Special member"),
        },
        "member_since": {
            "type": "date",
            "expression": Subquery(_member("joined_at")),
            "label": _("Member since"),
        },
    }


def segment_facts(customer_id: int) -> dict[str, object]:
    m = Membership.objects.filter(customer_id=customer_id).first()
    if m is None:
        return {"member": False, "tier": "", "points": 0, "special": False, "member_since": None}
    return {
        "member": True,
        "tier": m.tier,
        "points": m.points,
        "special": m.special,
        "member_since": m.joined_at,
    }


# --- added for promotions (coupon targeting by tier) ---------------------------------------


def tier_choices() -> list[tuple[str, str]]:
    """(code, name) of every tier, lowest first: for pickers such as a coupon's target tiers."""
    return [(t.code, t.name) for t in queries.tier_defs()]


def load_demo(*, seed: int = 42, progress=lambda message: None) -> None:
    """The demo shop's programme (``ecrm demo``), run over the demo orders."""
    from ecrm.loyalty import demo

    demo.load_demo(seed=seed, progress=progress)


# --- added for analytics (member composition and staff KPIs) -------------------------------


def tier_counts() -> list[tuple[str, str, int]]:
    """(code, name, members) of every tier, lowest first; members whose tier is no longer
    defined follow under their code."""
    from django.db.models import Count

    counts = dict(Membership.objects.values_list("tier").annotate(n=Count("pk")))
    rows = [(t.code, t.name, counts.pop(t.code, 0)) for t in queries.tier_defs()]
    return rows + [(code, code or "—", n) for code, n in sorted(counts.items()) if n]


def recruits_by_employee(date_from: dt.date | None = None, date_to: dt.date | None = None):
    """New members per recruiting employee (``recruited_by``) who joined between the two shop
    days (inclusive; open when None)."""
    from django.db.models import Count

    rows = Membership.objects.exclude(recruited_by="")
    if date_from:
        rows = rows.filter(joined_at__date__gte=date_from)
    if date_to:
        rows = rows.filter(joined_at__date__lte=date_to)
    return dict(rows.values_list("recruited_by").annotate(n=Count("pk")))
