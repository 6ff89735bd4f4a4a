"""Member analytics (issue 3, part 6): read queries over memberships and the points ledger.

Everything is computed in the database for a period ``[start, end]`` of local dates:
members in total and new per day, week or month; members by tier, join channel and
recruiting store; the staff KPI (new members per recruiting employee and what they have
spent since); points issued, redeemed and expired; the outstanding points as a money
liability; the redemption rate; and active members (ordered since the period began).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import CharField, Count, F, Func, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from ecrm.core import clock
from ecrm.core.messages import MUST_BE_ONE_OF, NOT_A_DATE, OUT_OF_CALENDAR, Problem
from ecrm.figures import api as figures
from ecrm.loyalty import queries
from ecrm.loyalty.models import TOTALS, EntryKind, Membership, PointsEntry

GRAINS = ("day", "week", "month")
_TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# Ledger kinds as the report groups them.
ISSUED_KINDS = ("earn", "restore")
REDEEMED_KINDS = ("spend",)
EXPIRED_KINDS = ("expire",)
MAX_DAYS = 3 * 366


class PeriodError(Problem):
    """A report period the query string got wrong: ``field`` names the parameter."""


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    grain: str

    @property
    def since(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))

    @property
    def until(self) -> dt.datetime:
        """Exclusive end: midnight after ``end``."""
        return timezone.make_aware(
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min)
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period(start: str = "", end: str = "", grain: str = "") -> Period:
    """A report period from query-string text; defaults: the last 90 days up to today,
    by day up to 92 days, by week up to a year, else by month."""
    today = timezone.localdate(clock.now())

    def day(text: str, name: str, default: dt.date) -> dt.date:
        if not text:
            return default
        try:
            parsed = dt.date.fromisoformat(text)
        except ValueError:
            raise PeriodError(name, NOT_A_DATE, value=repr(text)) from None
        if not clock.in_calendar(parsed):
            raise PeriodError(name, OUT_OF_CALENDAR, first=clock.FIRST_DAY, last=clock.LAST_DAY)
        return parsed

    last = day(end, "end", today)
    first = day(start, "start", last - dt.timedelta(days=89))
    if first > last:
        raise PeriodError("start", N_("must not be after the end"))
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError("start", N_("a report covers at most %(days)s days"), days=MAX_DAYS)
    if grain and grain not in GRAINS:
        raise PeriodError("by", MUST_BE_ONE_OF, choices=", ".join(GRAINS))
    span = (last - first).days + 1
    grain = grain or ("day" if span <= 92 else "week" if span <= 371 else "month")
    return Period(first, last, grain)


def _bucket(moment: dt.date | dt.datetime, grain: str) -> dt.date:
    if isinstance(moment, dt.datetime):
        moment = timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()
    if grain == "week":
        return moment - dt.timedelta(days=moment.weekday())
    if grain == "month":
        return moment.replace(day=1)
    return moment


def buckets(p: Period) -> list[dt.date]:
    """Every bucket start of the period, so days without joins show as 0."""
    out, current = [], _bucket(p.start, p.grain)
    while current <= p.end:
        out.append(current)
        if p.grain == "day":
            current += dt.timedelta(days=1)
        elif p.grain == "week":
            current += dt.timedelta(days=7)
        else:
            current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def _slot_or_trunc(field: str, grain: str):
    """What a series groups ``field`` by before ``_bucket`` places each group: Django's
    Trunc in the shop's zone, or on SQLite the UTC quarter hour cut from the stored text
    (``2026-11-11 03:`` and the quarter, 0-3). There Trunc calls a Python function per row
    (9.4 s for a year of the ledger at 1M members), and SQLite's date functions cost 1.7 s
    for the 1.1M movements of 90 days, cutting the text 0.8 s. Every zone's midnight falls
    on a UTC quarter hour, so the Python bucketing stays exact."""
    if connection.vendor == "sqlite":
        return Func(
            F(field),
            # Django stores datetimes on SQLite as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
            template="substr(%(expressions)s, 1, 14)"
            " || (CAST(substr(%(expressions)s, 15, 2) AS INTEGER) / 15)",
            output_field=CharField(),
        )
    return _TRUNC[grain](field, tzinfo=timezone.get_current_timezone())


def _moment(value):
    """A group key of ``_slot_or_trunc`` as a date or an aware datetime."""
    if isinstance(value, str):
        return dt.datetime(
            int(value[0:4]),
            int(value[5:7]),
            int(value[8:10]),
            int(value[11:13]),
            int(value[14:]) * 15,
            tzinfo=dt.UTC,
        )
    return value


def _bucketer(grain: str):
    """``_bucket(_moment(key), grain)`` of group keys, worked out once per key: a series of
    90 days groups by quarter hour and kind, some 35,000 rows over 8,640 keys, and the
    time zone conversion per row took 0.5 s of the member analytics page at 1M members."""
    known: dict = {}

    def bucket(key) -> dt.date:
        found = known.get(key)
        if found is None:
            found = known[key] = _bucket(_moment(key), grain)
        return found

    return bucket


def _series(rows, p: Period) -> dict[dt.date, int]:
    found: dict[dt.date, int] = {}
    bucket = _bucketer(p.grain)
    for at, n in rows:
        key = bucket(at)
        found[key] = found.get(key, 0) + (n or 0)
    return found


# --- members -------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    members: int
    new_members: int
    members_at_start: int
    active_members: int
    points_outstanding: int
    liability: Decimal
    point_value: Decimal
    issued: int
    redeemed: int
    expired: int
    redemption_rate: float | None  # redeemed / issued in the period
    currency: str


def overview(p: Period) -> Overview:
    from django.conf import settings

    agg = Membership.objects.aggregate(
        members=Count("pk"),
        new=Count("pk", filter=Q(joined_at__gte=p.since, joined_at__lt=p.until)),
        before=Count("pk", filter=Q(joined_at__lt=p.since)),
        points=Coalesce(Sum("points"), Value(0)),
    )
    active = (
        Membership.objects.annotate(last=figures.figure("last_order_at", OuterRef("customer_id")))
        .filter(last__gte=p.since)
        .count()
    )
    moved = points_by_kind(p)
    issued = sum(moved.get(k, 0) for k in ISSUED_KINDS)
    redeemed = -sum(moved.get(k, 0) for k in REDEEMED_KINDS)
    expired = -sum(moved.get(k, 0) for k in EXPIRED_KINDS)
    value = queries.setup().settings.point_value
    outstanding = max(agg["points"], 0)
    return Overview(
        members=agg["members"],
        new_members=agg["new"],
        members_at_start=agg["before"],
        active_members=active,
        points_outstanding=outstanding,
        liability=(Decimal(outstanding) * value).quantize(Decimal("0.01")),
        point_value=value,
        issued=issued,
        redeemed=redeemed,
        expired=expired,
        redemption_rate=(redeemed / issued) if issued else None,
        currency=settings.ECRM["CURRENCY"],
    )


def _movements(p: Period):
    """The ledger's movements of the period. Naming every kind lets the database read them
    from the (kind, created_at, points) index, one range per kind (at 1M members, 1.1M
    movements in 90 days: 0.2 s instead of 6.6 s reading the table); ``TOTALS`` names the
    index's condition."""
    return PointsEntry.objects.filter(
        TOTALS, kind__in=EntryKind.values, created_at__gte=p.since, created_at__lt=p.until
    )


def points_by_kind(p: Period) -> dict[str, int]:
    rows = _movements(p).values("kind").annotate(n=Sum("points")).values_list("kind", "n")
    return {kind: n or 0 for kind, n in rows}


@dataclass(frozen=True)
class SeriesRow:
    bucket: dt.date
    new_members: int
    members: int  # running total at the end of the bucket
    issued: int
    redeemed: int
    expired: int


def series(p: Period) -> list[SeriesRow]:
    """Per bucket: new members, the running total, points issued / redeemed / expired."""
    joins = (
        Membership.objects.filter(joined_at__gte=p.since, joined_at__lt=p.until)
        .annotate(b=_slot_or_trunc("joined_at", p.grain))
        .values("b")
        .annotate(n=Count("*"))
        .values_list("b", "n")
    )
    new = _series(joins, p)
    entries = (
        _movements(p)
        .annotate(b=_slot_or_trunc("created_at", p.grain))
        .values("b", "kind")
        .annotate(n=Sum("points"))
        .values_list("b", "kind", "n")
    )
    moved: dict[str, dict[dt.date, int]] = {"issued": {}, "redeemed": {}, "expired": {}}
    bucket = _bucketer(p.grain)
    for at, kind, n in entries:
        key = bucket(at)
        if kind in ISSUED_KINDS:
            moved["issued"][key] = moved["issued"].get(key, 0) + n
        elif kind in REDEEMED_KINDS:
            moved["redeemed"][key] = moved["redeemed"].get(key, 0) - n
        elif kind in EXPIRED_KINDS:
            moved["expired"][key] = moved["expired"].get(key, 0) - n
    running = Membership.objects.filter(joined_at__lt=p.since).count()
    out = []
    for key in buckets(p):
        running += new.get(key, 0)
        out.append(
            SeriesRow(
                bucket=key,
                new_members=new.get(key, 0),
                members=running,
                issued=moved["issued"].get(key, 0),
                redeemed=moved["redeemed"].get(key, 0),
                expired=moved["expired"].get(key, 0),
            )
        )
    return out


@dataclass(frozen=True)
class Breakdown:
    key: str
    label: str
    members: int
    new_members: int
    points: int


def _group_key(field: str):
    """What a breakdown groups by: the column, on SQLite as ``+column`` (the same value),
    which no index serves. Grouped by the bare ``tier``, SQLite read the memberships in the
    order of the (tier, points) index and fetched each one's join date from the table:
    0.57 s at 534,000 members against 0.28 s for one pass over the table."""
    if connection.vendor == "sqlite":
        return Func(F(field), template="+%(expressions)s", output_field=CharField())
    return F(field)


def _breakdown(field: str, p: Period, labels: dict[str, str] | None = None) -> list[Breakdown]:
    rows = (
        Membership.objects.annotate(key=_group_key(field))
        .values("key")
        .annotate(
            members=Count("pk"),
            new=Count("pk", filter=Q(joined_at__gte=p.since, joined_at__lt=p.until)),
            points=Coalesce(Sum("points"), Value(0)),
        )
        .order_by("-members", "key")
    )
    labels = labels or {}
    return [
        Breakdown(
            key=r["key"],
            label=labels.get(r["key"], r["key"]),
            members=r["members"],
            new_members=r["new"],
            points=r["points"],
        )
        for r in rows
    ]


def by_tier(p: Period) -> list[Breakdown]:
    """Members per tier, in the programme's tier order (tiers with nobody included)."""
    tiers = queries.tier_defs()
    found = {b.key: b for b in _breakdown("tier", p, {t.code: t.name for t in tiers})}
    ordered = [found.pop(t.code, Breakdown(t.code, t.name, 0, 0, 0)) for t in tiers]
    return ordered + sorted(found.values(), key=lambda b: -b.members)


def by_channel(p: Period) -> list[Breakdown]:
    return _breakdown("channel", p)


def by_store(p: Period) -> list[Breakdown]:
    return _breakdown("store", p)


@dataclass(frozen=True)
class EmployeeKpi:
    employee: str
    new_members: int
    buyers: int  # new members who have ordered
    revenue: Decimal  # what those new members have spent (net of returns), to date
    points_held: int


def staff_kpis(p: Period) -> list[EmployeeKpi]:
    """New members per recruiting employee in the period, and their value: how many have
    bought and what they have spent to date (the customer figures' net revenue)."""
    revenue = figures.figure("revenue", OuterRef("customer_id"))
    orders = figures.figure("order_count", OuterRef("customer_id"))
    rows = (
        Membership.objects.filter(joined_at__gte=p.since, joined_at__lt=p.until)
        .exclude(recruited_by="")
        .annotate(rev=Coalesce(revenue, Value(Decimal(0))), n=Coalesce(orders, Value(0)))
        .values("recruited_by")
        .annotate(
            members=Count("pk"),
            buyers=Count("pk", filter=Q(n__gt=0)),
            value=Sum("rev"),
            held=Sum(F("points")),
        )
        .order_by("-members", "recruited_by")
    )
    return [
        EmployeeKpi(
            employee=r["recruited_by"],
            new_members=r["members"],
            buyers=r["buyers"],
            revenue=Decimal(r["value"] or 0).quantize(Decimal("0.01")),
            points_held=r["held"] or 0,
        )
        for r in rows
    ]
