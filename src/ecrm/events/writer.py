"""Group commit for the tracking API.

Every accepted request must be durable before it is answered, and on SQLite each
commit costs a flush to disk. Instead of one commit per request, a server process runs
one writer thread: request threads hand it their validated batches and wait; the
writer takes every batch waiting at that moment, applies each in its own savepoint,
commits once and wakes them all. Under load, N waiting requests cost one flush instead
of N; alone, a request costs what it did before (no added delay).

A batch that fails (bad order data, a message-id race) rolls back its own savepoint
and is answered with its own error; the others in the group are unaffected. Tests and
tools that run inside an outer transaction call ``services.ingest`` directly:
``settings.ECRM["GROUP_COMMIT"]`` switches the writer off.
"""

from __future__ import annotations

import logging
import queue
import threading
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


class _Writer:
    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, messages: list[Message], write_key_id: int | None) -> services.IngestResult:
        self._ensure_thread()
        future: Future = Future()
        self._queue.put((messages, write_key_id, future))
        return future.result(timeout=WAIT_SECONDS)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="ecrm-tracking-writer", daemon=True
                )
                self._thread.start()

    def close_connection(self) -> None:
        """Have the writer thread close its database connection (it reopens on demand):
        a test database can only be dropped once nobody is connected."""
        if self._thread is None or not self._thread.is_alive():
            return
        done: Future = Future()
        self._queue.put(done)
        done.result(timeout=WAIT_SECONDS)

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
        with flows.follow_ups_gathered(), transaction.atomic():
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


_WRITER = _Writer()


def ingest(messages: list[Message], write_key_id: int | None) -> services.IngestResult:
    """Store a request's messages durably: through the group writer in a server process,
    directly (one transaction) where group commit is off."""
    if not settings.ECRM.get("GROUP_COMMIT", True) or connection.in_atomic_block:
        return services.ingest(messages, write_key_id)
    return _WRITER.submit(messages, write_key_id)
