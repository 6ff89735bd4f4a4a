"""What follows a change to customers' data: the one place that orders the reactions.

Writers call these after their own writes, inside their own transaction, so a reaction
commits or rolls back with the change that caused it:

* ``orders_changed`` — orders or returns of these customers were written or changed status,
  or the customers took part in a merge (``orders.services``, ``events.services``,
  ``customers.services.merge_customers``, the importer);
* ``customers_seen`` — only new behaviour events arrived (``events.services``);
* ``profiles_changed`` — profile fields, attributes, consent or identities changed
  (``customers.services``);
* ``loyalty_changed`` — points, tier or membership changed by anything but an order
  (``loyalty.services``: activities, redemptions, adjustments, expiry, tier review);
* ``scores_changed`` — customer value was recomputed for everyone (``value.services``);
* ``bulk_loaded`` — an import touched many customers at once.

Each reaction is an explicit call to a domain's ``api``, in dependency order: figures first
(loyalty and segments read them), then loyalty (segments read tiers and points), then segment
membership, then promotions (coupon uses of cancelled orders, referral rewards). The report
read model (analytics) is only marked here and refreshed by the worker within a minute.
No signals: reading this module tells the whole story.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from contextlib import contextmanager

from django.db import transaction

# After a bulk load, refreshing the imported customers one set at a time costs more per
# customer than a full rebuild does per customer of the shop, so above a share of the shop
# one full rebuild is cheaper. Measured at 1M customers on SQLite (2026-12-04): figures
# 140 µs (cached) to 350 µs (just imported) per refreshed customer against 23 to 74 µs per
# shop customer for `recompute_all` (about a sixth to a fifth); segment re-checks 190 µs
# per customer against 2.6 µs per shop customer for rebuilding four rule segments (both
# grow with the number of segments: about 1/70).
FIGURES_REFRESH_SHARE = 1 / 6
SEGMENTS_RECHECK_SHARE = 1 / 70
# The worker takes imported customers this many at a time, each chunk its own transaction.
AFTER_IMPORT_CHUNK = 2_000


def checkpoint_wal() -> None:
    """SQLite: copy what the write-ahead log holds into the database file (a bulk load turns
    automatic checkpoints off); a no-op elsewhere, and inside a transaction."""
    from django.db import connection

    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _ids(customer_ids: Iterable[int | None]) -> list[int]:
    return sorted({c for c in customer_ids if c})


def orders_changed(customer_ids: Iterable[int | None], *, guests: bool = False) -> None:
    """``guests``: a guest order (no customer) changed too."""
    from ecrm.analytics import api as analytics
    from ecrm.figures import api as figures
    from ecrm.loyalty import api as loyalty
    from ecrm.promotions import api as promotions
    from ecrm.segments import api as segments

    ids = _ids(customer_ids)
    # The report read model is refreshed off the writer's path, a minute later at most.
    analytics.mark_changed(ids, guests=guests)
    if not ids:
        return
    figures.refresh_customers(ids)
    loyalty.reconcile_customers(ids)
    segments.on_orders(ids)
    promotions.orders_changed(ids)


def customers_seen(seen: Mapping[int, dt.datetime], activities: Iterable[tuple] = ()) -> None:
    """Customers with new behaviour events and nothing else: ``seen`` maps id -> latest time.
    ``activities`` are the new track events of any customer as (customer id, message id,
    event name, timestamp): loyalty awards those its programme counts (reviews, sign-ins…)."""
    from ecrm.figures import api as figures
    from ecrm.loyalty import api as loyalty
    from ecrm.segments import api as segments

    loyalty.record_activities(loyalty.activities_from_events(activities))
    if not seen:
        return
    figures.note_seen(seen)
    segments.queue_events_recheck(seen)  # on the worker, right after this commits


@contextmanager
def follow_ups_gathered(send=None):
    """For a writer that commits many requests in one transaction (``events/writer.py``):
    the worker jobs their reactions queue on commit go out as one job per kind when the
    block ends, instead of one per request. ``send`` (customer ids) queues them instead,
    e.g. from another thread."""
    from ecrm.segments import api as segments

    with segments.events_rechecks_gathered(send):
        yield


def queue_gathered(customer_ids: list[int]) -> None:
    """Queue the jobs ``follow_ups_gathered(send)`` handed to ``send``, from any thread."""
    from ecrm.segments import api as segments

    segments.queue_gathered_rechecks(customer_ids)


def referrals_claimed(claims: list[tuple[int, str, str, str]]) -> None:
    """Identify calls named a referral code: (customer id, code, anonymous id, device id)."""
    from ecrm.promotions import api as promotions

    if claims:
        promotions.referrals_claimed(claims)


def profiles_changed(customer_ids: Iterable[int | None]) -> None:
    from ecrm.segments import api as segments

    ids = _ids(customer_ids)
    if not ids:
        return
    segments.on_profiles(ids)


def loyalty_changed(customer_ids: Iterable[int | None]) -> None:
    """Segments that read points, tier or membership re-check these customers, in the
    writer's transaction (a no-op while no segment reads them)."""
    from ecrm.segments import api as segments

    ids = _ids(customer_ids)
    if ids:
        segments.on_loyalty(ids)


_held = threading.local()  # .scores: None, or whether a held scores_changed came


def scores_changed() -> None:
    """Customer value (RFM groups, predicted value, profit) was recomputed for every
    customer: the segments that test those scores are rebuilt on the worker once the run
    has committed, instead of waiting for the nightly rebuild."""
    from ecrm.segments import api as segments

    if getattr(_held, "scores", None) is not None:
        _held.scores = True
        return
    segments.queue_rebuild_reading(segments.SCORE)


@contextmanager
def scores_changed_once():
    """Runs inside that each call ``scores_changed`` (``value.refresh_all``: RFM,
    predictions and profit one after another) queue one rebuild, when the block ends (also
    when a later run fails: the earlier ones have committed)."""
    outer = getattr(_held, "scores", None)
    _held.scores = False
    try:
        yield
    finally:
        changed = _held.scores
        _held.scores = outer
        if changed:
            scores_changed()


def bulk_loaded(customer_ids: Iterable[int | None]) -> None:
    """After an import: every reaction — the report read model's mark, figures, loyalty,
    segment membership, promotions — queued for the worker (``after_bulk_load``), so an
    import of a million lines returns as soon as its orders are durable and never holds the
    write lock for other domains' work. The worker starts on it at once (within seconds on
    the embedded default). Queued also with no customer: the import may hold guest orders."""
    from ecrm.imports.tasks import after_import

    after_import(_ids(customer_ids))


def after_bulk_load(customer_ids: list[int]) -> None:
    """The worker's half of ``bulk_loaded``, in the same order as ``orders_changed``: the
    SQLite WAL the import left folded back into the database first; then figures, segments
    and promotions for the imported customers in chunks of ``AFTER_IMPORT_CHUNK``, each its
    own transaction, or, where they are more than ``FIGURES_REFRESH_SHARE`` (figures) or
    ``SEGMENTS_RECHECK_SHARE`` (segments and promotions) of the shop, one full rebuild of
    that domain. Loyalty takes the whole set at once in either case: its set-based award
    (``reconcile_bulk``, the same rules as the per-customer path) costs about a third of
    reconciling customer by customer. Both ways end in the same state (a test compares)."""
    from ecrm.analytics import api as analytics
    from ecrm.customers import api as customers
    from ecrm.figures import api as figures
    from ecrm.loyalty import api as loyalty
    from ecrm.promotions import api as promotions
    from ecrm.segments import api as segments

    ids = _ids(customer_ids)
    checkpoint_wal()
    analytics.mark_changed(ids, guests=True)  # guest orders belong to no customer id
    if not ids:
        return
    shop = max(customers.live_count(), 1)
    chunks = [
        ids[start : start + AFTER_IMPORT_CHUNK] for start in range(0, len(ids), AFTER_IMPORT_CHUNK)
    ]
    if len(ids) > FIGURES_REFRESH_SHARE * shop:
        figures.recompute_all()
    else:
        for chunk in chunks:
            with transaction.atomic():
                figures.refresh_customers(chunk)
    loyalty.reconcile_bulk(ids)  # segments may read points and tiers: before them
    if len(ids) > SEGMENTS_RECHECK_SHARE * shop:
        segments.rebuild_all()
        promotions.reconcile_all()
        return
    for chunk in chunks:
        with transaction.atomic():
            segments.on_orders(chunk)
            promotions.orders_changed(chunk)
