"""The worker's jobs: Huey's ``db_task`` and ``db_periodic_task``, run again while the
database is busy.

On SQLite a job that needs to write while a long one holds the lock (``core.database``)
failed with "database is locked" and was gone: after ``ecrm demo --customers 1000000`` the
customer-value scoring queued beside the report rebuild never ran, and the figures of
customers who ordered during a rebuild would not have been refreshed. A job that meets a
busy database now runs again a minute later (Huey's ``RetryTask``), as often as it takes;
every job is a refresh or a rebuild that a second run completes. Any other error fails
the job as before.
"""

from __future__ import annotations

from functools import wraps

from huey.contrib.djhuey import db_periodic_task, db_task
from huey.exceptions import RetryTask

from ecrm.core import database

BUSY_RETRY_SECONDS = 60


def _again_when_busy(fn):
    @wraps(fn)  # the same name, so jobs already queued under it still run
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not database.busy(exc):
                raise
            raise RetryTask(f"the database is busy ({exc})", delay=BUSY_RETRY_SECONDS) from exc

    return run


def task(**options):
    """``db_task``, run again a minute later when the database is busy."""
    return lambda fn: db_task(**options)(_again_when_busy(fn))


def periodic_task(schedule, **options):
    """``db_periodic_task``, run again a minute later when the database is busy."""
    return lambda fn: db_periodic_task(schedule, **options)(_again_when_busy(fn))
