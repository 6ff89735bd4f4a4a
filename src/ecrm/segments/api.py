"""What other domains (flows, campaigns, journeys, promotions, analytics) may ask of segments.

Plain data only: ids, frozen dataclasses and querysets of customer ids.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from ecrm.segments import queries, rules, services
from ecrm.segments.models import ChangeReason, Member, MembershipChange, Segment, SegmentKind
from ecrm.segments.rules import SCORE, DefinitionError
from ecrm.segments.services import SegmentError

__all__ = [
    "ChangeReason",
    "DefinitionError",
    "SegmentError",
    "MembershipEvent",
    "SegmentChoice",
    "changes_since",
    "is_member",
    "load_demo",
    "member_ids",
    "on_events",
    "on_orders",
    "on_profiles",
    "SCORE",
    "queue_rebuild_reading",
    "rebuild_all",
    "recheck",
    "segment_choices",
    "segments_of",
]

# What each kind of change can alter, for ``recheck_customers``.
ORDER_DATA = frozenset({rules.FIGURES, rules.SEEN, rules.EVENTS, rules.SCORE, rules.LOYALTY})
EVENT_DATA = frozenset({rules.SEEN, rules.EVENTS})
PROFILE_DATA = frozenset({rules.PROFILE, rules.ATTRIBUTES, rules.CONSENT})
LOYALTY_DATA = frozenset({rules.LOYALTY})
ALL_DATA = ORDER_DATA | EVENT_DATA | PROFILE_DATA


def on_orders(customer_ids) -> services.Recheck:
    """Orders or returns of these customers changed (figures are already refreshed)."""
    return services.recheck_customers(customer_ids, changed=ORDER_DATA, reason=ChangeReason.ORDER)


def on_events(customer_ids) -> services.Recheck:
    """Only behaviour events arrived for these customers ("last seen" already moved)."""
    return services.recheck_customers(customer_ids, changed=EVENT_DATA, reason=ChangeReason.EVENT)


def on_loyalty(customer_ids) -> services.Recheck:
    """Points, tier, membership or the special flag of these customers changed, by anything
    but an order (activities, checkout redemptions, staff adjustments, expiry, tier review)."""
    return services.recheck_customers(
        customer_ids, changed=LOYALTY_DATA, reason=ChangeReason.POINTS
    )


def queue_events_recheck(customer_ids) -> None:
    """``on_events`` on the worker, once the caller's transaction has committed: a batch of
    tracking events does not wait for a re-check per customer (tens of ms per batch with
    twenty segments), and the worker reads the committed events."""
    from django.db import transaction

    ids = sorted({int(i) for i in customer_ids if i})
    if ids:
        transaction.on_commit(lambda: _queue_recheck(ids))


_GATHERING = threading.local()


def _queue_recheck(ids: list[int]) -> None:
    from ecrm.segments.tasks import recheck_after_events

    gathered = getattr(_GATHERING, "ids", None)
    if gathered is not None:
        gathered.update(ids)
    else:
        recheck_after_events(ids)


@contextmanager
def events_rechecks_gathered(send=None):
    """Inside: the re-checks ``queue_events_recheck`` queues as transactions commit are
    gathered and queued as one job when the block ends. The tracking writer commits many
    requests at once; one job instead of one per request saves a queue write (an fsync
    on the embedded queue) per request. Re-checks of a rolled-back savepoint are never
    queued (``on_commit`` drops them). ``send``: what takes the gathered customer ids
    instead of queueing them here (the tracking writer hands them to another thread)."""
    from ecrm.segments.tasks import recheck_after_events

    if getattr(_GATHERING, "ids", None) is not None:  # nested: the outer block queues
        yield
        return
    _GATHERING.ids = set()
    try:
        yield
    finally:
        ids = sorted(_GATHERING.ids)
        _GATHERING.ids = None
        if ids:
            (send or recheck_after_events)(ids)


def queue_gathered_rechecks(customer_ids: list[int]) -> None:
    """Queue the worker's re-check of what ``events_rechecks_gathered(send)`` gathered."""
    from ecrm.segments.tasks import recheck_after_events

    recheck_after_events(customer_ids)


def on_profiles(customer_ids) -> services.Recheck:
    """Profile fields, attributes, consent or identities of these customers changed."""
    return services.recheck_customers(
        customer_ids, changed=PROFILE_DATA, reason=ChangeReason.PROFILE
    )


def rebuild_all() -> list[services.BuildResult]:
    """Every rule segment built set-based (after a big import's full figures rebuild)."""
    return services.build_all(reason=ChangeReason.REBUILD)


def queue_rebuild_reading(source: str) -> None:
    """Rebuild, on the worker once the caller's transaction has committed, the rule segments
    that test ``source``'s published fields (``"score"``: RFM group, predicted value,
    profit): a run that rescored every customer changes them all at once."""
    from django.db import transaction

    from ecrm.segments.tasks import rebuild_reading

    transaction.on_commit(lambda: rebuild_reading(source))


def recheck(customer_ids, changed=ALL_DATA, *, reason: str) -> services.Recheck:
    """For a domain whose change flows does not cover (e.g. points adjusted by hand)."""
    return services.recheck_customers(customer_ids, changed=changed, reason=reason)


def is_member(segment_id: int, customer_id: int) -> bool:
    return Member.objects.filter(segment_id=segment_id, customer_id=customer_id).exists()


def member_ids(segment_id: int):
    """A queryset of the member customer ids (use it in ``filter(customer_id__in=...)``)."""
    return Member.objects.filter(segment_id=segment_id).values_list("customer_id", flat=True)


@dataclass(frozen=True)
class SegmentChoice:
    id: int
    name: str
    kind: str  # "rules" or "static"


def segments_of(customer_id: int) -> list[SegmentChoice]:
    """The segments a customer is in now, by name."""
    rows = (
        Segment.objects.filter(
            pk__in=Member.objects.filter(customer_id=customer_id).values("segment_id")
        )
        .order_by("name")
        .values_list("pk", "name", "kind")
    )
    return [SegmentChoice(*row) for row in rows]


def segment_choices(kind: str | None = None) -> list[SegmentChoice]:
    """Every segment by name, for pickers (campaign audience, promotion target, report filter)."""
    rows = Segment.objects.order_by("name")
    if kind is not None:
        rows = rows.filter(kind=kind)
    return [SegmentChoice(*row) for row in rows.values_list("pk", "name", "kind")]


@dataclass(frozen=True)
class MembershipEvent:
    id: int  # increasing: a consumer keeps the last one it handled
    segment_id: int
    customer_id: int
    kind: str  # "entered" or "left"
    at: dt.datetime
    reason: str


def changes_since(after_id: int = 0, *, segment_id: int | None = None, limit: int = 1000):
    """Entries into and exits from segments after the change ``after_id``, oldest first.

    Campaigns and journeys that trigger on entering or leaving poll this with the last id
    they handled (the log is append-only, ids only grow).
    """
    rows = MembershipChange.objects.filter(pk__gt=after_id).order_by("pk")
    if segment_id is not None:
        rows = rows.filter(segment_id=segment_id)
    return [
        MembershipEvent(*row)
        for row in rows.values_list("pk", "segment_id", "customer_id", "kind", "at", "reason")[
            :limit
        ]
    ]


load_demo = services.load_demo
STATIC = SegmentKind.STATIC
RULES = SegmentKind.RULES
preview = queries.preview
