"""The contact log: every interaction with a customer lands on the profile."""

from __future__ import annotations

import datetime as dt

from ecrm.contacts.models import Contact, ContactChannel, Direction
from ecrm.core import audit, clock


class ContactError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def log_contact(
    *,
    customer_id: int,
    channel: str,
    direction: str,
    summary: str,
    actor: audit.Actor,
    occurred_at: dt.datetime | None = None,
) -> Contact:
    from ecrm.customers import api as customers

    if channel not in ContactChannel.values:
        raise ContactError("channel", f"unknown channel {channel!r}")
    if direction not in Direction.values:
        raise ContactError("direction", "must be 'in' or 'out'")
    summary = (summary or "").strip()
    if not summary:
        raise ContactError("summary", "is empty")
    now = clock.now()
    contact = Contact.objects.create(
        customer_id=customers.live_id(customer_id),
        channel=channel,
        direction=direction,
        employee_id=actor.user_id,
        summary=summary[:10000],
        occurred_at=occurred_at or now,
        created_at=now,
    )
    audit.record(
        actor,
        "log_contact",
        "customer",
        contact.customer_id,
        None,
        {"contact": contact.pk, "channel": channel, "direction": direction},
    )
    return contact
