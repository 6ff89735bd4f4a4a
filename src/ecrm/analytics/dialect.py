"""The few SQL expressions that differ between SQLite and PostgreSQL.

Shop days: a timestamp's calendar day in the shop's time zone is taken at the zone's offset
now (``day_offset_seconds``), the same on both databases, so both give the same figures; a
zone with summer time shifts its days by an hour for part of the year.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import connection, transaction


def day_offset_seconds() -> int:
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    offset = dt.datetime.now(zone).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds())


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def local_day(column: str) -> str:
    """The shop's calendar day of a timestamp column."""
    offset = day_offset_seconds()
    if is_postgres():
        return f"(({column} AT TIME ZONE 'UTC') + interval '{offset} seconds')::date"
    return f"date({column}, '{offset:+d} seconds')"


def start_of(level: str, date_expr: str) -> str:
    """The first day of the year / quarter / month / week (Monday) / day of a date."""
    if level == "day":
        return date_expr
    if is_postgres():
        return f"date_trunc('{level}', {date_expr})::date"
    if level == "year":
        return f"date({date_expr}, 'start of year')"
    if level == "month":
        return f"date({date_expr}, 'start of month')"
    if level == "quarter":
        return (
            f"printf('%04d-%02d-01', CAST(strftime('%Y', {date_expr}) AS INTEGER), "
            f"((CAST(strftime('%m', {date_expr}) AS INTEGER) - 1) / 3) * 3 + 1)"
        )
    if level == "week":
        return (
            f"date({date_expr}, '-' || ((CAST(strftime('%w', {date_expr}) AS INTEGER) + 6) % 7)"
            f" || ' days')"
        )
    raise ValueError(level)


def month_number(date_expr: str) -> str:
    """YYYYMM as an integer."""
    if is_postgres():
        return f"CAST(to_char({date_expr}, 'YYYYMM') AS INTEGER)"
    return f"CAST(strftime('%Y%m', {date_expr}) AS INTEGER)"


def as_text(date_expr: str) -> str:
    if is_postgres():
        return f"to_char({date_expr}, 'YYYY-MM-DD')"
    return date_expr


def char(code: int) -> str:
    """The one-character text of a code point."""
    if is_postgres():
        return f"chr({int(code)})"
    return f"char({int(code)})"


def truncate(table: str) -> str:
    if is_postgres():
        return f"TRUNCATE {table}"
    return f"DELETE FROM {table}"


def covering_scan(cursor, table: str, alias: str, index: str) -> str:
    """A table to read whole through one of its covering indexes (SQLite's planner scans
    the table itself, rows and all, when a query has no usable condition)."""
    if is_postgres():
        return f"{table} {alias}"
    cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = %s", [index])
    if cursor.fetchone() is None:
        return f"{table} {alias}"
    return f"{table} {alias} INDEXED BY {index}"


@contextlib.contextmanager
def report_session():
    """One report's reads. On PostgreSQL in a transaction with 64 MB for each sort and
    hash instead of the default 4 MB: a distinct count over a quarter's order facts at 1M
    customers spilled its sort to disk (672 ms; 531 ms in memory)."""
    if not is_postgres():
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


@contextlib.contextmanager
def bulk_session(cursor):
    """Settings for one large set-based rewrite: on SQLite a page cache of 1 GiB (the
    rewrite's tables and sorts stay in memory instead of spilling) and helper threads for
    its sorts; the connection's own settings come back afterwards."""
    if is_postgres():
        cursor.execute("SET LOCAL work_mem = '256MB'")
        yield
        return
    cursor.execute("PRAGMA cache_size")
    cache = cursor.fetchone()[0]
    cursor.execute("PRAGMA threads")
    threads = cursor.fetchone()[0]
    cursor.execute("PRAGMA cache_size=-1048576")
    cursor.execute("PRAGMA threads=2")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size={int(cache)}")
        cursor.execute(f"PRAGMA threads={int(threads)}")
