"""Group commit for the tracking API.

Every accepted request must be durable before it is answered, and on SQLite each
commit costs a flush to disk. Instead of one commit per request, a server process runs
one writer thread: request threads hand it their validated batches and wait; the
writer takes every batch waiting at that moment, applies each in its own savepoint,
commits once and wakes them all. Under load, N waiting requests cost one flush instead
of N; alone, a request costs what it did before (no added delay).

What follows a commit and costs a flush of its own is done beside the writer, by a second
thread (``_FollowUps``): queueing the worker's segment re-checks of the customers a group
saw, and, on SQLite, checkpointing the write-ahead log into the database file (the writer's
connection checkpoints only once the log has grown large). Measured with py-spy at
100-event batches, those were a sixth of the writer thread's time; now they overlap with
the next group's writes, and a checkpoint copies a page changed by many groups once.

A batch that fails (bad order data, a message-id race) rolls back its own savepoint
and is answered with its own error; the others in the group are unaffected. Tests and
tools that run inside an outer transaction call ``services.ingest`` directly:
``settings.ECRM["GROUP_COMMIT"]`` switches the writer off.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from concurrent.futures import Future

from django.conf import settings
from django.db import (
    IntegrityError,
    OperationalError,
    connection,
    transaction,
)

from ecrm import flows
from ecrm.events import services
from ecrm.events.rules import Message

log = logging.getLogger(__name__)

MAX_GROUP = 32
WAIT_SECONDS = 60.0
CHECKPOINT_EVERY = 0.2  # seconds: at most this often, while groups keep committing
# A passive checkpoint beside a busy writer rarely copies the whole log, and the log only
# starts again from its beginning after one that did. The writer's own connection still
# checkpoints once the log passes this many pages (4 KiB each): by then the follow-up
# thread has copied most of them, and a checkpoint run right after the writer's commit
# completes, so the log restarts and stays within about this size.
WRITER_CHECKPOINT_PAGES = 25_000
_COMMITTED = object()  # what the writer hands ``_FollowUps`` after each commit


class _Background:
    """A daemon thread fed by a queue, started on first use (and again if it died); each
    subclass gives the thread's loop as ``_run``."""

    name = ""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def close_connection(self) -> None:
        """Return once everything handed over so far is done and the thread has closed its
        database connection (it reopens on demand): a test database can only be dropped
        once nobody is connected. The thread takes a ``Future`` in its queue as that order."""
        if self._thread is None or not self._thread.is_alive():
            return
        done: Future = Future()
        self._queue.put(done)
        done.result(timeout=WAIT_SECONDS)


class _FollowUps(_Background):
    """The writer's after-commit work, on its own thread and database connection.

    ``send`` takes the customer ids of a committed group whose segment re-checks the worker
    must run; ids that arrive while a job is being queued go out together in the next one.
    ``committed`` says the writer committed; on SQLite the thread then runs a passive
    checkpoint (no more often than ``CHECKPOINT_EVERY``), which copies committed pages into
    the database file while the writer goes on appending to the log. Where the queue runs
    jobs in line (``ECRM_QUEUE_IMMEDIATE``), jobs are queued on the caller's thread as before.
    """

    name = "ecrm-tracking-follow-ups"

    @staticmethod
    def inline() -> bool:
        from huey.contrib.djhuey import HUEY

        return HUEY.immediate

    def send(self, customer_ids: list[int]) -> None:
        self._ensure_thread()
        self._queue.put(customer_ids)

    def committed(self) -> None:
        if connection.vendor == "sqlite":
            self._ensure_thread()
            self._queue.put(_COMMITTED)

    def _run(self) -> None:
        last_checkpoint = 0.0
        dirty = False
        while True:
            try:
                items = [self._queue.get(timeout=CHECKPOINT_EVERY if dirty else None)]
            except queue.Empty:
                items = []
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            waiting, ids = [], set()
            for item in items:
                if isinstance(item, Future):
                    waiting.append(item)
                elif item is _COMMITTED:
                    dirty = True
                else:
                    ids.update(item)
            try:
                if ids:
                    flows.queue_gathered(sorted(ids))
                now = time.monotonic()
                if dirty and (waiting or now - last_checkpoint >= CHECKPOINT_EVERY):
                    flows.checkpoint_wal()
                    last_checkpoint, dirty = now, False
            except Exception:  # never let the thread die: the next commit tries again
                log.exception("tracking follow-ups failed")
                dirty = False
                connection.close_if_unusable_or_obsolete()
            for done in waiting:
                connection.close()
                done.set_result(None)


class _Writer(_Background):
    name = "ecrm-tracking-writer"

    def submit(self, messages: list[Message], write_key_id: int | None) -> services.IngestResult:
        self._ensure_thread()
        future: Future = Future()
        self._queue.put((messages, write_key_id, future))
        return future.result(timeout=WAIT_SECONDS)

    def close_connection(self) -> None:
        _FOLLOW_UPS.close_connection()
        super().close_connection()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, Future):
                connection.close()
                item.set_result(None)
                continue
            group = [item]
            while len(group) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, Future):
                    self._queue.put(item)
                    break
                group.append(item)
            for attempt in range(services.ATTEMPTS):
                try:
                    self._commit(group)
                    break
                except Exception as exc:  # the whole transaction failed
                    # The writer keeps its connection between groups; after an error it
                    # may be broken, so the next attempt starts on a fresh one.
                    connection.close_if_unusable_or_obsolete()
                    if attempt < services.ATTEMPTS - 1 and services.retryable(exc):
                        log.info("group commit gave way to another process, retrying: %s", exc)
                        continue
                    log.exception("tracking group commit failed")
                    for _, _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    break

    @staticmethod
    def _commit(group) -> None:
        done: list[tuple[Future, services.IngestResult]] = []
        retry = []
        failed: list[tuple[Future, BaseException]] = []
        send = None if _FOLLOW_UPS.inline() else _FOLLOW_UPS.send
        _checkpoints_apart()
        with flows.follow_ups_gathered(send), transaction.atomic():
            for messages, write_key_id, future in group:
                try:
                    with transaction.atomic():
                        done.append((future, services.ingest_once(messages, write_key_id)))
                except (IntegrityError, OperationalError) as exc:
                    if not services.retryable(exc):
                        raise
                    retry.append((messages, write_key_id, future))
                except Exception as exc:
                    failed.append((future, exc))
        _FOLLOW_UPS.committed()
        for future, result in done:
            future.set_result(result)
        for future, exc in failed:
            future.set_exception(exc)
        for messages, write_key_id, future in retry:
            # Raced with another process on a message id: alone, with the usual retries.
            try:
                future.set_result(services.ingest(messages, write_key_id))
            except Exception as exc:
                future.set_exception(exc)


def _checkpoints_apart() -> None:
    """SQLite: the writer's connection leaves most checkpoints to ``_FollowUps`` (set once
    per connection: it may be reopened after an error)."""
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    if getattr(connection, "_ecrm_checkpoints_apart", None) is connection.connection:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
    connection._ecrm_checkpoints_apart = connection.connection


_FOLLOW_UPS = _FollowUps()
_WRITER = _Writer()
# A server process that stops (gunicorn's graceful shutdown has answered every request by
# then) first queues the re-checks still in hand.
atexit.register(_FOLLOW_UPS.close_connection)


def ingest(messages: list[Message], write_key_id: int | None) -> services.IngestResult:
    """Store a request's messages durably: through the group writer in a server process,
    directly (one transaction) where group commit is off."""
    if not settings.ECRM.get("GROUP_COMMIT", True) or connection.in_atomic_block:
        return services.ingest(messages, write_key_id)
    return _WRITER.submit(messages, write_key_id)
