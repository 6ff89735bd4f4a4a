"""Reads of the event store, shaped for the Customer 360 timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ecrm.events.models import Event


@dataclass(frozen=True)
class EventView:
    id: int
    message_id: str
    type: str
    name: str
    timestamp: dt.datetime
    received_at: dt.datetime
    channel: str
    page_url: str
    referrer: str
    user_agent: str
    anonymous_id: str
    user_id: str
    properties: dict


_FIELDS = [f for f in EventView.__dataclass_fields__]


def events_of(
    customer_id: int, *, before: dt.datetime | None = None, limit: int = 50
) -> list[EventView]:
    """A profile's events, newest first; ``before`` pages on (exclusive) event time."""
    limit = max(1, min(int(limit), 500))
    qs = Event.objects.filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(timestamp__lt=before)
    rows = qs.order_by("-timestamp", "-pk").values_list(*_FIELDS)[:limit]
    return [EventView(*row) for row in rows]


def event_count_of(customer_id: int) -> int:
    return Event.objects.filter(customer_id=customer_id).count()
