"""The contact log: every interaction with a customer lands on the profile."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_noop as N_

from ecrm.contacts.models import Contact, ContactChannel, Direction
from ecrm.core import audit, clock
from ecrm.core.messages import EMPTY, Problem


class ContactError(Problem):
    """Refused input to the contact log; ``field`` names the field."""


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
        raise ContactError("channel", N_("unknown channel %(channel)s"), channel=repr(channel))
    if direction not in Direction.values:
        raise ContactError("direction", N_("must be 'in' or 'out'"))
    summary = (summary or "").strip()
    if not summary:
        raise ContactError("summary", EMPTY)
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
