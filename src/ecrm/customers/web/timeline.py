"""One timeline per customer: events, orders, returns and contacts, newest first.

Each source is read newest first from its (customer, time) index; the pages are merged
in Python. The cursor is (time, source rank, id) of the last item shown, so items that
share a timestamp across sources are neither repeated nor skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from ecrm.console.keyset import Cursor
from ecrm.contacts.web import queries as contacts
from ecrm.events import api as events
from ecrm.orders.web import queries as orders

EVENT, CONTACT, RETURN, ORDER = 0, 1, 2, 3
PAGE = 30
MAX_EVENTS_READ = 500


@dataclass(frozen=True)
class Item:
    kind: str
    rank: int
    at: dt.datetime
    pk: int
    title: str
    detail: str = ""
    url: str = ""
    amount: object = None
    currency: str = ""
    badge: str = ""

    @property
    def sort_key(self):
        return (self.at, self.rank, self.pk)


def _ties(rank: int, cursor: Cursor | None) -> str:
    if cursor is None or cursor.rank is None:
        return "pk"
    if rank < cursor.rank:
        return "all"
    if rank > cursor.rank:
        return "none"
    return "pk"


def _source_cursor(rank: int, cursor: Cursor | None) -> Cursor | None:
    if cursor is None:
        return None
    return Cursor(at=cursor.at, pk=cursor.pk if _ties(rank, cursor) == "pk" else None)


def _event_detail(event) -> str:
    props = event.properties or {}
    parts = []
    for key in ("name", "product_id", "sku", "order_id", "query", "category"):
        value = props.get(key)
        if value not in (None, "") and isinstance(value, str | int | float):
            parts.append(f"{key}: {value}")
    if event.page_url:
        parts.append(event.page_url)
    if event.channel:
        parts.append(event.channel)
    return " · ".join(parts[:4])


def _events(customer_id: int, cursor: Cursor | None, wanted: int) -> list:
    """Events strictly after the cursor, read through ``events.api`` (which pages on time).

    Rows at exactly the cursor's time are asked for again and filtered here, so a page
    boundary between two events of the same instant loses neither.
    """
    if cursor is None:
        return events.events_of(customer_id, limit=wanted)
    ties = _ties(EVENT, cursor)
    if ties == "none":
        return events.events_of(customer_id, before=cursor.at, limit=wanted)
    just_after = cursor.at + dt.timedelta(microseconds=1)
    ask = wanted
    while True:
        rows = events.events_of(customer_id, before=just_after, limit=ask)
        kept = [e for e in rows if ties == "all" or e.timestamp < cursor.at or e.id < cursor.pk]
        if len(kept) >= wanted or len(rows) < ask or ask >= MAX_EVENTS_READ:
            return kept[:wanted]
        ask = min(ask * 2 + (len(rows) - len(kept)), MAX_EVENTS_READ)


def timeline(
    customer_id: int, cursor: Cursor | None = None, limit: int = PAGE
) -> tuple[list[Item], str | None]:
    """One page of the merged timeline and the cursor of the next page (None at the end)."""
    items: list[Item] = []
    for e in _events(customer_id, cursor, limit + 1):
        items.append(
            Item(
                "event", EVENT, e.timestamp, e.id, e.name or e.type, _event_detail(e), badge=e.type
            )
        )
    for o in orders.orders_of(
        customer_id,
        before=_source_cursor(ORDER, cursor),
        ties=_ties(ORDER, cursor),
        limit=limit + 1,
    ):
        items.append(
            Item(
                "order",
                ORDER,
                o.placed_at,
                o.pk,
                _("Order %(number)s") % {"number": o.external_id},
                " · ".join(x for x in (o.channel, o.store, o.city) if x),
                reverse("console:order", args=[o.pk]),
                o.total,
                o.currency,
                o.get_status_display(),
            )
        )
    for r in orders.returns_of(
        customer_id,
        before=_source_cursor(RETURN, cursor),
        ties=_ties(RETURN, cursor),
        limit=limit + 1,
    ):
        items.append(
            Item(
                "return",
                RETURN,
                r.returned_at,
                r.pk,
                _("Return %(number)s") % {"number": r.external_id},
                r.reason,
                reverse("console:order", args=[r.order_id]) if r.order_id else "",
                r.amount,
                r.currency,
            )
        )
    for k in contacts.contacts_of(
        customer_id,
        before=_source_cursor(CONTACT, cursor),
        ties=_ties(CONTACT, cursor),
        limit=limit + 1,
    ):
        who = k.employee.get_username() if k.employee else ""
        items.append(
            Item(
                "contact",
                CONTACT,
                k.occurred_at,
                k.pk,
                f"{k.get_channel_display()} · {k.get_direction_display()}",
                k.summary,
                badge=who,
            )
        )
    items.sort(key=lambda i: i.sort_key, reverse=True)
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    last = items[-1]
    return items, Cursor(at=last.at, rank=last.rank, pk=last.pk).encode()
