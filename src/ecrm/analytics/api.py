"""What other domains may ask of analytics: keeping the read model current, and the
headline figures the console's home page shows."""

from __future__ import annotations

from ecrm.analytics.queries import headline
from ecrm.analytics.services import (
    mark_changed,
    rebuild,
    rebuild_members,
    refresh_customers,
    refresh_pending,
)

__all__ = [
    "headline",
    "mark_changed",
    "queue_rebuild",
    "rebuild",
    "rebuild_members",
    "refresh_customers",
    "refresh_guests",
    "refresh_pending",
]


def queue_rebuild() -> None:
    """Rebuild the whole read model on the worker (after a large load)."""
    from ecrm.analytics.tasks import rebuild_read_model

    rebuild_read_model()


def refresh_guests() -> int:
    """Guest orders (no customer) after an import: they are refreshed as one group."""
    return refresh_customers([], guests=True)
