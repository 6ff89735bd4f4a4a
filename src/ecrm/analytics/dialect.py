"""The few SQL expressions that differ between SQLite and PostgreSQL.

Shop days: a timestamp's calendar day in the shop's time zone is taken at the zone's offset
now (``day_offset_seconds``), the same on both databases, so both give the same figures; a
zone with summer time shifts its days by an hour for part of the year.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import connection


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


def truncate(table: str) -> str:
    if is_postgres():
        return f"TRUNCATE {table}"
    return f"DELETE FROM {table}"
