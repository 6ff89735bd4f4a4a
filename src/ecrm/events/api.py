"""What other domains may call in events: ingest Segment messages, read a timeline."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from ecrm.core import clock
from ecrm.customers.api import live_id
from ecrm.events import queries, rules, services
from ecrm.events.queries import EventView
from ecrm.events.rules import InvalidMessage
from ecrm.events.services import IngestResult

__all__ = [
    "EventView", "IngestResult", "InvalidMessage", "event_count_of", "events_of", "ingest",
]  # fmt: skip


def ingest(
    messages: list[dict],
    *,
    write_key_id: int | None = None,
    received_at: dt.datetime | None = None,
    source: str = "api",
) -> IngestResult:
    """Validate and store Segment messages (dicts with a ``type``), as ``/v1/batch`` does.

    Raises ``InvalidMessage`` (``field`` like ``batch[3].timestamp``) and stores
    nothing when any message is bad.
    """
    batch = rules.batch_messages(
        {"batch": messages},
        received_at=received_at or clock.now(),
        currency=settings.ECRM["CURRENCY"],
    )
    return services.ingest(batch, write_key_id, source=source)


def events_of(
    customer_id: int, before: dt.datetime | None = None, limit: int = 50
) -> list[EventView]:
    """The profile's events, newest first, at most ``limit`` (1..500).

    ``before`` is exclusive: pass the last item's ``timestamp`` for the next page.
    A merged-away id reads the surviving profile's timeline.
    """
    return queries.events_of(live_id(customer_id), before=before, limit=limit)


def event_count_of(customer_id: int) -> int:
    return queries.event_count_of(live_id(customer_id))


def device_ids_of(customer_id: int, limit: int = 500) -> set[str]:
    """Device ids (``context.device.id``) in the profile's latest ``limit`` events."""
    from ecrm.events.models import Event

    found = set()
    contexts = Event.objects.filter(customer_id=customer_id).order_by("-timestamp")
    for context in contexts.values_list("context", flat=True)[:limit]:
        device = context.get("device") if isinstance(context, dict) else None
        if isinstance(device, dict) and isinstance(device.get("id"), str) and device["id"]:
            found.add(device["id"][:100])
    return found
