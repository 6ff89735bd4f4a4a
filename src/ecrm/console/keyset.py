"""Keyset pagination, newest first, on (a timestamp, the id): no OFFSET, no COUNT.

A cursor is the last row of the page already shown, written ``<ISO time>~<id>`` in a
link; a malformed cursor is treated as "first page" rather than an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

SEPARATOR = "~"


@dataclass(frozen=True)
class Cursor:
    at: dt.datetime
    pk: int | None = None
    rank: int | None = None

    def encode(self) -> str:
        parts = [self.at.isoformat()]
        if self.rank is not None:
            parts.append(str(self.rank))
        parts.append(str(self.pk))
        return SEPARATOR.join(parts)


def decode(raw: str | None, *, ranked: bool = False) -> Cursor | None:
    if not raw:
        return None
    parts = raw.strip().split(SEPARATOR)
    if len(parts) != (3 if ranked else 2):
        return None
    try:
        at = dt.datetime.fromisoformat(parts[0].replace(" ", "+"))
        numbers = [int(p) for p in parts[1:]]
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    if ranked:
        return Cursor(at=at, rank=numbers[0], pk=numbers[1])
    return Cursor(at=at, pk=numbers[0])


def older_than(
    qs: QuerySet, field: str, at: dt.datetime, pk: int | None, ties: str = "pk"
) -> QuerySet:
    """Rows strictly after (at, pk) in newest-first order.

    ``ties`` says what to do with rows at exactly ``at``: ``"pk"`` keeps those with a
    lower id, ``"all"`` keeps them all, ``"none"`` drops them. The ``<=`` bound lets
    the database walk its (customer, time) or (time) index.
    """
    if ties == "all":
        return qs.filter(**{f"{field}__lte": at})
    if ties == "none":
        return qs.filter(**{f"{field}__lt": at})
    return qs.filter(**{f"{field}__lte": at}).filter(Q(**{f"{field}__lt": at}) | Q(pk__lt=pk))


def page(qs: QuerySet, field: str, cursor: Cursor | None, limit: int) -> tuple[list, str | None]:
    """One page of ``qs`` newest first by ``field`` then id, and the next page's cursor."""
    if cursor is not None:
        qs = older_than(qs, field, cursor.at, cursor.pk)
    rows = list(qs.order_by(f"-{field}", "-pk")[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, Cursor(at=getattr(last, field), pk=last.pk).encode()


def id_page(qs: QuerySet, after: int | None, limit: int) -> tuple[list, int | None]:
    """One page newest first by id; ``after`` is the last id already shown."""
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs.order_by("-pk")[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, rows[-1].pk
