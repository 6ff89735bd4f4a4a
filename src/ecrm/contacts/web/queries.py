"""Reads of the contact log for the console, keyset-paged newest first."""

from __future__ import annotations

from ecrm.console.keyset import Cursor, id_page, older_than
from ecrm.contacts.models import Contact

PAGE = 50


def contacts_of(
    customer_id: int, *, before: Cursor | None = None, ties: str = "pk", limit: int = PAGE
) -> list[Contact]:
    qs = Contact.objects.filter(customer_id=customer_id).select_related("employee")
    if before is not None:
        qs = older_than(qs, "occurred_at", before.at, before.pk, ties)
    return list(qs.order_by("-occurred_at", "-pk")[:limit])


def contact_list(
    *, channel: str = "", after: int | None = None, limit: int = PAGE
) -> tuple[list[Contact], int | None]:
    """The whole log, newest recorded first, paged on the id."""
    qs = Contact.objects.select_related("customer", "employee")
    if channel:
        qs = qs.filter(channel=channel)
    return id_page(qs, after, limit)
