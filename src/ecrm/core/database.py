"""The database itself: whether it is busy, and its planner statistics.

SQLite lets one connection write at a time; the others wait for the lock up to the busy
timeout (30 s, ``config/settings.py``) and then fail with "database is locked". A long
job (the full rebuild of the reports after ``ecrm demo`` of a large shop, about six
minutes at 1M customers; the nightly recompute) holds it longer than that: ``busy`` tells
that failure apart, so that a request answers 503 (``config/middleware.py``) and a job
runs again later (``core/jobs.py``).

SQLite plans a query from the statistics ``ANALYZE`` stores (``sqlite_stat1``) and, where
there are none, from fixed guesses under which an index on a column of a few values (a
ledger entry's kind, an event's type) looks as selective as one on a reference: a look-up
by reference can then read millions of rows (the loyalty ledger's did; ``loyalty.models``).
Nothing runs ``ANALYZE`` as a shop's database grows through imports and tracking (the demo
does once, after its load), so the worker does every hour (``core/tasks.py``). With
``analysis_limit`` SQLite samples about 1,000 rows of each index: about 0.1 s at 1M
customers (a 12 GB file). PostgreSQL's autovacuum keeps its statistics current itself.
"""

from __future__ import annotations

from django.db import OperationalError, connection


def busy(exception: BaseException) -> bool:
    """Another connection held SQLite's write lock for the whole busy timeout."""
    return isinstance(exception, OperationalError) and "database is locked" in str(exception)


def refresh_planner_statistics(*, postgresql: bool = False) -> bool:
    """Sampled statistics for every table on SQLite; on PostgreSQL only when asked (a full
    ``ANALYZE`` right after a bulk load, before autovacuum comes round). Returns whether
    it ran."""
    vendor = connection.vendor
    if vendor != "sqlite" and not (postgresql and vendor == "postgresql"):
        return False
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
        cursor.execute("ANALYZE")
    return True
