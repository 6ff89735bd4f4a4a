"""Helpers for tests of any domain (imported by tests only)."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def worker_in_line():
    """Run the worker's jobs in line, as soon as they are queued (huey's immediate mode):
    a test then sees what a shop sees once the worker has caught up, e.g. after an import
    (``flows.bulk_loaded`` queues figures, loyalty, segments and promotions)."""
    from huey.contrib.djhuey import HUEY

    immediate, HUEY.immediate = HUEY.immediate, True
    try:
        yield
    finally:
        HUEY.immediate = immediate
