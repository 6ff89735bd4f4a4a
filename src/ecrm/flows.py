"""What follows a change to customers' data: the one place that orders the reactions.

Writers call these after their own writes, inside their own transaction, so a reaction
commits or rolls back with the change that caused it:

* ``orders_changed`` — orders or returns of these customers were written or changed status,
  or the customers took part in a merge (``orders.services``, ``events.services``,
  ``customers.services.merge_customers``, the importer);
* ``customers_seen`` — only new behaviour events arrived (``events.services``);
* ``profiles_changed`` — profile fields, attributes, consent or identities changed
  (``customers.services``);
* ``bulk_loaded`` — an import touched many customers at once.

Each reaction is an explicit call to a domain's ``api``, in dependency order: figures first
(loyalty and segments read them), then loyalty (segments read tiers and points), then segment
membership. No signals: reading this module tells the whole story.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

# Above this many customers one full rebuild is cheaper than refreshing each.
REBUILD_ABOVE = 50_000


def _ids(customer_ids: Iterable[int | None]) -> list[int]:
    return sorted({c for c in customer_ids if c})


def orders_changed(customer_ids: Iterable[int | None]) -> None:
    from ecrm.figures import api as figures

    ids = _ids(customer_ids)
    if not ids:
        return
    figures.refresh_customers(ids)


def customers_seen(seen: Mapping[int, dt.datetime]) -> None:
    """Customers with new behaviour events and nothing else: ``seen`` maps id -> latest time."""
    from ecrm.figures import api as figures

    if not seen:
        return
    figures.note_seen(seen)


def profiles_changed(customer_ids: Iterable[int | None]) -> None:
    ids = _ids(customer_ids)
    if not ids:
        return


def bulk_loaded(customer_ids: Iterable[int | None]) -> None:
    """After an import: one full rebuild above ``REBUILD_ABOVE`` customers, else per customer."""
    from ecrm.figures import api as figures

    ids = _ids(customer_ids)
    if len(ids) > REBUILD_ABOVE:
        figures.recompute_all()
    elif ids:
        orders_changed(ids)
