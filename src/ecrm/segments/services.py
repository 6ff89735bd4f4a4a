"""Segment writes: one function per write, each owning its transaction.

Membership is kept in three tables: ``Member`` (who is in now), ``MembershipChange``
(append-only: entered / left, when, why) and ``SegmentSize`` (the size history). Every
change of ``Member`` goes through a function here and is logged in the same transaction.

Two ways to bring membership up to date:

* ``build_segment`` — set-based, for one whole segment: the compiled query is materialised
  once into a temporary table and diffed against the current members with four
  statements (log entries, log exits, delete, insert). Saving a new version, the scheduled
  refresh of time-dependent segments, big imports and ``ecrm segment refresh`` use it.
* ``recheck_customers`` — for a few customers after their data changed (``flows``): the
  segments that read what changed are evaluated with the in-memory predicate over the
  customers' facts, loaded with one query per kind of data for the whole batch.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext_noop as N_

from ecrm.core import audit, clock
from ecrm.core.messages import MUST_BE_ONE_OF, REQUIRED_UP_TO, Message, Problem
from ecrm.segments import fields, queries, rules
from ecrm.segments.models import (
    ChangeKind,
    ChangeReason,
    Member,
    MembershipChange,
    Segment,
    SegmentKind,
    SegmentSize,
    SegmentVersion,
)

log = logging.getLogger(__name__)

BUILD_TABLE = "segments_build"
CHUNK = 500
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class SegmentError(Problem):
    """Refused input to a segment write; ``field_name`` names the field."""

    @property
    def field_name(self) -> str:
        return self.field


TOO_LARGE = N_("is larger than %(size)s MB")


# ---------------------------------------------------------------------------------------
# Saving definitions


def save_segment(
    *,
    name: str,
    definition: dict | None = None,
    actor: audit.Actor,
    description: str = "",
    segment_id: int | None = None,
    kind: str = SegmentKind.RULES,
    build: bool = True,
) -> Segment:
    """Create a segment, or save a new version of one; the definition is validated first.

    Saving the same definition again changes name or description but adds no version.
    A new version of a rule segment is built at once (``build=False`` leaves that to the
    caller, e.g. a queued job). A static list has no definition. Raises
    ``rules.DefinitionError`` (with the JSON path) or ``SegmentError``.
    """
    if kind not in SegmentKind.values:
        raise SegmentError("kind", MUST_BE_ONE_OF, choices=", ".join(SegmentKind.values))
    if kind == SegmentKind.RULES:
        fields.validate(definition)
    elif definition:
        raise SegmentError("definition", N_("a static list has no definition"))
    else:
        definition = {}
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise SegmentError("name", REQUIRED_UP_TO, limit=120)
    now = clock.now()
    with transaction.atomic():
        clash = Segment.objects.filter(name=name).exclude(pk=segment_id).exists()
        if clash:
            raise SegmentError("name", N_("a segment named %(name)s exists"), name=repr(name))
        changed = True
        if segment_id is None:
            segment = Segment.objects.create(
                name=name,
                description=description,
                kind=kind,
                definition=definition,
                version=1,
                created_at=now,
                created_by_id=actor.user_id,
                updated_at=now,
                updated_by_id=actor.user_id,
            )
            before = None
        else:
            segment = Segment.objects.select_for_update().get(pk=segment_id)
            if segment.kind != kind:
                raise SegmentError("kind", N_("a segment's kind cannot change"))
            before = {"name": segment.name, "version": segment.version}
            changed = segment.definition != definition
            if changed:
                segment.version += 1
                segment.definition = definition
            segment.name, segment.description = name, description
            segment.updated_at, segment.updated_by_id = now, actor.user_id
            segment.save()
        if not SegmentVersion.objects.filter(segment=segment, version=segment.version).exists():
            SegmentVersion.objects.create(
                segment=segment,
                version=segment.version,
                definition=definition,
                created_at=now,
                created_by_id=actor.user_id,
            )
        audit.record(
            actor,
            "create" if before is None else "update",
            "segment",
            segment.pk,
            before,
            {"name": segment.name, "version": segment.version, "definition": definition},
        )
        if build and changed and kind == SegmentKind.RULES:
            build_segment(segment.pk, reason=ChangeReason.REBUILD)
        elif before is None:
            _record_size(segment.pk, now)
    return segment


def delete_segment(segment_id: int, *, actor: audit.Actor) -> None:
    """Remove a segment with its members, change log and size history (audited)."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        snapshot = {"name": segment.name, "kind": segment.kind, "version": segment.version}
        # Members, changes and sizes have nothing depending on them: Django deletes each
        # table with one DELETE, never loading a million members.
        segment.delete()
        audit.record(actor, "delete", "segment", segment_id, snapshot, None)


# ---------------------------------------------------------------------------------------
# Set-based build of one segment


@dataclass(frozen=True)
class BuildResult:
    segment_id: int
    entered: int
    left: int
    size: int


def build_segment(segment_id: int, *, reason: str = ChangeReason.REBUILD, now=None) -> BuildResult:
    """Bring one rule segment's members up to date with its definition, set-based.

    Members who no longer match leave and customers who match enter, each logged with
    ``reason``; a size-history point is written. The segment row is locked for the
    duration, so two builds of one segment run one after the other.
    """
    now = now or clock.now()
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        if segment.kind != SegmentKind.RULES:
            raise SegmentError("kind", N_("a static list is changed by hand, not built"))
        definition = fields.validate(segment.definition)
        matching = queries.live_customers().filter(queries.to_q(definition, now)).values("pk")
        select_sql, select_params = matching.query.sql_with_params()
        at = connection.ops.adapt_datetimefield_value(now)
        members = Member._meta.db_table
        changes = MembershipChange._meta.db_table
        with connection.cursor() as cursor:
            _fresh_build_table(cursor)
            cursor.execute(f"INSERT INTO {BUILD_TABLE} (customer_id) {select_sql}", select_params)
            absent = (
                f"NOT EXISTS (SELECT 1 FROM {members} m WHERE m.segment_id = %s "
                f"AND m.customer_id = b.customer_id)"
            )
            gone = (
                f"NOT EXISTS (SELECT 1 FROM {BUILD_TABLE} b WHERE b.customer_id = "
                f"{members}.customer_id)"
            )
            cursor.execute(
                f"INSERT INTO {changes} (segment_id, customer_id, kind, at, reason) "
                f"SELECT %s, {members}.customer_id, %s, %s, %s FROM {members} "
                f"WHERE {members}.segment_id = %s AND {gone}",
                [segment_id, ChangeKind.LEFT, at, reason, segment_id],
            )
            left = cursor.rowcount
            cursor.execute(
                f"INSERT INTO {changes} (segment_id, customer_id, kind, at, reason) "
                f"SELECT %s, b.customer_id, %s, %s, %s FROM {BUILD_TABLE} b WHERE {absent}",
                [segment_id, ChangeKind.ENTERED, at, reason, segment_id],
            )
            entered = cursor.rowcount
            if left:
                cursor.execute(
                    f"DELETE FROM {members} WHERE segment_id = %s AND {gone}", [segment_id]
                )
            if entered:
                cursor.execute(
                    f"INSERT INTO {members} (segment_id, customer_id, entered_at) "
                    f"SELECT %s, b.customer_id, %s FROM {BUILD_TABLE} b WHERE {absent}",
                    [segment_id, at, segment_id],
                )
            cursor.execute(f"SELECT COUNT(*) FROM {BUILD_TABLE}")
            size = cursor.fetchone()[0]
            cursor.execute(f"DELETE FROM {BUILD_TABLE}")
        SegmentSize.objects.create(segment_id=segment_id, at=now, size=size)
    return BuildResult(segment_id, entered, left, size)


def _fresh_build_table(cursor) -> None:
    """The per-connection temporary table a build materialises its query into."""
    kind = "INTEGER PRIMARY KEY" if connection.vendor == "sqlite" else "BIGINT PRIMARY KEY"
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {BUILD_TABLE} (customer_id {kind})")
    cursor.execute(f"DELETE FROM {BUILD_TABLE}")


def build_all(
    *, reason: str = ChangeReason.REBUILD, aging_only: bool = False, reading: str | None = None
) -> list[BuildResult]:
    """Build every rule segment (or only those whose conditions age with time, or only those
    that read ``reading``: a source of published fields such as ``rules.SCORE``).

    A segment whose stored definition no longer validates (a published field was
    withdrawn) is skipped and logged, never stops the others.
    """
    results = []
    for segment_id, definition in _rule_definitions():
        if definition is None:
            continue
        needs = rules.dependencies(definition)
        if aging_only and not needs.ages:
            continue
        if reading is not None and reading not in needs.reads:
            continue
        results.append(build_segment(segment_id, reason=reason))
    return results


def refresh_segments(segment_ids: Iterable[int] | None = None) -> list[BuildResult]:
    """The scheduled refresh: segments whose conditions age with time (or those given)."""
    if segment_ids is None:
        return build_all(reason=ChangeReason.SCHEDULE, aging_only=True)
    return [build_segment(pk, reason=ChangeReason.SCHEDULE) for pk in segment_ids]


# ---------------------------------------------------------------------------------------
# Live re-check of a few customers


@dataclass(frozen=True)
class _Compiled:
    segment_id: int
    definition: rules.Definition
    needs: rules.Dependencies


_compiled_cache: dict[str, tuple[rules.Definition, rules.Dependencies] | None] = {}


def _compile(text: str) -> tuple[rules.Definition, rules.Dependencies] | None:
    """A stored definition (its JSON text) validated once per process and kept."""
    if text not in _compiled_cache:
        if len(_compiled_cache) > 1000:
            _compiled_cache.clear()
        try:
            definition = fields.validate(json.loads(text))
        except (rules.DefinitionError, ValueError) as exc:
            log.warning("segment definition no longer valid, skipped: %s", exc)
            _compiled_cache[text] = None
        else:
            _compiled_cache[text] = (definition, rules.dependencies(definition))
    return _compiled_cache[text]


def _stored_rules():
    """(id, definition as JSON text) of every rule segment: the text is the cache key, so a
    re-check parses nothing it has seen before."""
    return (
        Segment.objects.filter(kind=SegmentKind.RULES)
        .order_by("pk")
        .annotate(text=Cast("definition", TextField()))
        .values_list("pk", "text")
    )


def _rule_definitions() -> list[tuple[int, rules.Definition | None]]:
    out = []
    for pk, text in _stored_rules():
        compiled = _compile(text)
        out.append((pk, compiled[0] if compiled else None))
    return out


def _watching(changed: frozenset) -> list[_Compiled]:
    out = []
    for pk, text in _stored_rules():
        compiled = _compile(text)
        if compiled is not None and compiled[1].touches(changed):
            out.append(_Compiled(pk, *compiled))
    return out


def _union(needs: Iterable[rules.Dependencies]) -> rules.Dependencies:
    needs = list(needs)
    kinds = frozenset().union(*(n.event_kinds for n in needs))
    return rules.Dependencies(
        reads=frozenset().union(*(n.reads for n in needs)),
        ages=any(n.ages for n in needs),
        window_days=max((n.window_days for n in needs), default=0),
        event_kinds=kinds,
    )


@dataclass(frozen=True)
class Recheck:
    segments: int  # segments evaluated
    customers: int
    entered: int
    left: int


def recheck_customers(
    customer_ids: Iterable[int], *, changed: Iterable[str], reason: str, now=None
) -> Recheck:
    """Re-evaluate, for these customers only, the rule segments that read ``changed``.

    ``changed`` names kinds of data (``rules.PROFILE``, ``rules.FIGURES``, ``rules.EVENTS``
    ...). Runs inside the caller's transaction (``flows``), so the membership changes
    commit with the change that caused them. A customer no longer live (merged away)
    leaves every rule segment.
    """
    ids = sorted({c for c in customer_ids if c})
    watching = _watching(frozenset(changed))
    if not ids or not watching:
        return Recheck(len(watching), len(ids), 0, 0)
    now = now or clock.now()
    facts = queries.facts_for(ids, _union(w.needs for w in watching), now)
    segment_ids = [w.segment_id for w in watching]
    current: set[tuple[int, int]] = set()
    for start in range(0, len(ids), CHUNK):
        current.update(
            Member.objects.filter(
                customer_id__in=ids[start : start + CHUNK], segment_id__in=segment_ids
            ).values_list("segment_id", "customer_id")
        )
    enter, leave = [], []
    for cid in ids:
        customer = facts.get(cid)
        for w in watching:
            member = customer is not None and rules.evaluate(w.definition, customer, now)
            was = (w.segment_id, cid) in current
            if member and not was:
                enter.append((w.segment_id, cid))
            elif was and not member:
                leave.append((w.segment_id, cid))
    _apply(enter, leave, reason, now)
    return Recheck(len(watching), len(ids), len(enter), len(leave))


def _apply(enter: list[tuple[int, int]], leave: list[tuple[int, int]], reason, now) -> None:
    if enter:
        Member.objects.bulk_create(
            [Member(segment_id=s, customer_id=c, entered_at=now) for s, c in enter],
            batch_size=CHUNK,
        )
    by_segment: dict[int, list[int]] = {}
    for s, c in leave:
        by_segment.setdefault(s, []).append(c)
    for s, cids in by_segment.items():
        for start in range(0, len(cids), CHUNK):
            Member.objects.filter(
                segment_id=s, customer_id__in=cids[start : start + CHUNK]
            ).delete()
    log_rows = [
        MembershipChange(
            segment_id=s, customer_id=c, kind=ChangeKind.ENTERED, at=now, reason=reason
        )
        for s, c in enter
    ] + [
        MembershipChange(segment_id=s, customer_id=c, kind=ChangeKind.LEFT, at=now, reason=reason)
        for s, c in leave
    ]
    if log_rows:
        MembershipChange.objects.bulk_create(log_rows, batch_size=CHUNK)


def fold_memberships(source_id: int, target_id: int) -> int:
    """A merge: ``source`` leaves every segment; the target takes its places in static
    lists (rule segments re-check the target after the merge). Returns rows moved."""
    now = clock.now()
    rows = list(
        Member.objects.filter(customer_id=source_id).values_list("segment_id", "segment__kind")
    )
    if not rows:
        return 0
    held = set(Member.objects.filter(customer_id=target_id).values_list("segment_id", flat=True))
    leave = [(s, source_id) for s, _ in rows]
    enter = [(s, target_id) for s, kind in rows if kind == SegmentKind.STATIC and s not in held]
    _apply(enter, leave, ChangeReason.MERGE, now)
    return len(enter)


# ---------------------------------------------------------------------------------------
# Static lists


@dataclass(frozen=True)
class ListChange:
    added: int
    removed: int
    unchanged: int


def _static(segment_id: int) -> Segment:
    segment = Segment.objects.select_for_update().get(pk=segment_id)
    if segment.kind != SegmentKind.STATIC:
        raise SegmentError("segment", N_("only a static list takes members by hand"))
    return segment


def add_members(segment_id: int, customer_ids: Iterable[int], *, actor: audit.Actor) -> ListChange:
    """Put live customers into a static list; ids of merged profiles lead to the survivor."""
    wanted = sorted({int(c) for c in customer_ids})
    now = clock.now()
    with transaction.atomic():
        _static(segment_id)
        live = _live_ids(wanted)
        missing = [c for c in wanted if c not in live]
        if missing:
            raise SegmentError("customer_ids", N_("no customer #%(id)s"), id=missing[0])
        targets = sorted(set(live.values()))
        held = _held(segment_id, targets)
        enter = [(segment_id, c) for c in targets if c not in held]
        _apply(enter, [], ChangeReason.MANUAL, now)
        if enter:
            audit.record(
                actor, "add_members", "segment", segment_id, None, {"customers": len(enter)}
            )
    return ListChange(len(enter), 0, len(targets) - len(enter))


def remove_members(
    segment_id: int, customer_ids: Iterable[int], *, actor: audit.Actor
) -> ListChange:
    wanted = sorted({int(c) for c in customer_ids})
    now = clock.now()
    with transaction.atomic():
        _static(segment_id)
        held = _held(segment_id, wanted)
        leave = [(segment_id, c) for c in wanted if c in held]
        _apply([], leave, ChangeReason.MANUAL, now)
        if leave:
            audit.record(
                actor, "remove_members", "segment", segment_id, {"customers": len(leave)}, None
            )
    return ListChange(0, len(leave), len(wanted) - len(leave))


def _held(segment_id: int, customer_ids: list[int]) -> set[int]:
    held: set[int] = set()
    for start in range(0, len(customer_ids), CHUNK):
        held.update(
            Member.objects.filter(
                segment_id=segment_id, customer_id__in=customer_ids[start : start + CHUNK]
            ).values_list("customer_id", flat=True)
        )
    return held


def _live_ids(customer_ids: list[int]) -> dict[int, int]:
    from ecrm.customers import api as customers

    found = customers.find_customers("customer_id", [str(c) for c in customer_ids])
    return {int(raw): next(iter(ids)) for raw, ids in found.items()}


# Header of the first column -> the kind of identifier the upload holds.
UPLOAD_COLUMNS = {
    "customer_id": "customer_id",
    "id": "customer_id",
    "email": "email",
    "e-mail": "email",
    "mobile": "phone",
    "phone": "phone",
    "user_id": "user_id",
    "userid": "user_id",
}


@dataclass(frozen=True)
class Reject:
    """A line of an upload that names no single live customer; ``str(reason)`` is
    English (the API), ``reason.localized()`` the language of the page showing it."""

    line: int
    value: str
    reason: Message


@dataclass(frozen=True)
class UploadResult:
    kind: str
    lines: int
    added: int
    already: int
    rejects: tuple[Reject, ...]


def upload_members(segment_id: int, data: bytes, *, actor: audit.Actor) -> UploadResult:
    """Add the customers a CSV names to a static list.

    The first column's header says what the column holds (customer_id, email, mobile,
    user_id); other columns are ignored. Every line that names no single live customer
    is rejected with its line number and reason; the rest are added, all in one
    transaction. UTF-8 (with or without BOM) or GB18030.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise SegmentError("file", TOO_LARGE, size=MAX_UPLOAD_BYTES // (1024 * 1024))
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not header[0].strip():
        raise SegmentError("file", N_("line 1: the header names the column, e.g. email"))
    kind = UPLOAD_COLUMNS.get(header[0].strip().lower())
    if kind is None:
        raise SegmentError(
            "file",
            N_("line 1: %(value)s is not one of customer_id, email, mobile, user_id"),
            value=repr(header[0].strip()),
        )
    rows: list[tuple[int, str]] = []
    rejects: list[Reject] = []
    for row in reader:
        line = reader.line_num
        value = row[0].strip() if row else ""
        if not value:
            if any(cell.strip() for cell in row):
                empty = Message(N_("%(column)s is empty"), column=header[0].strip())
                rejects.append(Reject(line, "", empty))
            continue
        rows.append((line, value))
    from ecrm.customers import api as customers

    found = customers.find_customers(kind, [v for _, v in rows])
    chosen: list[int] = []
    for line, value in rows:
        ids = found.get(value)
        if not ids:
            rejects.append(Reject(line, value, _not_found(kind, value)))
        elif len(ids) > 1:
            listing = ", ".join(f"#{i}" for i in sorted(ids))
            several = Message(N_("names several customers (%(ids)s)"), ids=listing)
            rejects.append(Reject(line, value, several))
        else:
            chosen.append(next(iter(ids)))
    now = clock.now()
    with transaction.atomic():
        _static(segment_id)
        targets = sorted(set(chosen))
        held = _held(segment_id, targets)
        enter = [(segment_id, c) for c in targets if c not in held]
        _apply(enter, [], ChangeReason.MANUAL, now)
        audit.record(
            actor,
            "upload_members",
            "segment",
            segment_id,
            None,
            {"kind": kind, "lines": len(rows), "added": len(enter), "rejected": len(rejects)},
        )
    rejects.sort(key=lambda r: r.line)
    return UploadResult(kind, len(rows), len(enter), len(targets) - len(enter), tuple(rejects))


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise SegmentError("file", N_("is neither UTF-8 nor GB18030 text")) from exc


def _not_found(kind: str, value: str) -> Message:
    from ecrm.customers import api as customers

    if kind == "customer_id" and customers.customer_number(value) is None:
        return Message(N_("a customer id is a whole number"))
    if kind in ("email", "phone"):
        try:
            customers.make_claim(kind, value)
        except customers.ProfileError as exc:
            return exc.text
    return Message(N_("no customer has it"))


# ---------------------------------------------------------------------------------------
# Size history


def _record_size(segment_id: int, now) -> SegmentSize:
    size = Member.objects.filter(segment_id=segment_id).count()
    return SegmentSize.objects.create(segment_id=segment_id, at=now, size=size)


def record_sizes() -> int:
    """A size-history point for every segment (hourly): counted from the member index."""
    now = clock.now()
    with transaction.atomic():
        ids = list(Segment.objects.values_list("pk", flat=True))
        for segment_id in ids:
            _record_size(segment_id, now)
    return len(ids)


# ---------------------------------------------------------------------------------------
# Demo

DEMO_SEGMENTS = (
    (
        "高价值客户",
        "累计消费 3000 元以上的客户。",
        {"version": 1, "match": {"all": [{"figure": "revenue", "op": "gte", "value": 3000}]}},
    ),
    (
        "近30天浏览家电未下单",
        "近 30 天浏览家电类商品至少 2 次，且 30 天内没有下单。",
        {
            "version": 1,
            "match": {
                "all": [
                    {
                        "event": "Product Viewed",
                        "where": {"category_prefix": "家电"},
                        "count": {"op": "gte", "value": 2},
                        "within_days": 30,
                    },
                    {
                        "any": [
                            {"figure": "days_since_last_order", "op": "gte", "value": 30},
                            {"figure": "order_count", "op": "eq", "value": 0},
                        ]
                    },
                ]
            },
        },
    ),
    (
        "沉睡客户（90天未购）",
        "买过但 90 天没有再下单、且没有拒收邮件的客户：唤醒活动的对象。",
        {
            "version": 1,
            "match": {
                "all": [
                    {"figure": "order_count", "op": "gte", "value": 1},
                    {"figure": "days_since_last_order", "op": "gt", "value": 90},
                    {"not": {"consent": "email", "status": "denied"}},
                ]
            },
        },
    ),
    (
        "广东金卡及钻石会员",
        "广东省的金卡、钻石会员。",
        {
            "version": 1,
            "match": {
                "all": [
                    {"profile": "province", "op": "eq", "value": "广东省"},
                    {"attribute": "member_level", "op": "in", "value": ["金卡会员", "钻石会员"]},
                ]
            },
        },
    ),
    (
        "高价值流失风险客户",
        "RFM 分组为流失风险或重要挽留、且没有拒收短信的客户：电话和短信挽回的对象。",
        {
            "version": 1,
            "match": {
                "all": [
                    {"score": "rfm_group", "op": "in", "value": ["at_risk", "cant_lose"]},
                    {"not": {"consent": "sms", "status": "denied"}},
                ]
            },
        },
    ),
)
DEMO_LIST = ("双十一 VIP 邀请名单", "手工挑选的双十一预售邀请客户。")


def load_demo(progress=lambda message: None) -> list[int]:
    """The demo shop's segments, built; membership history starts afresh (the demo's
    customers replaced the old ones). Cost at a million customers: the builds, ~10-30 s."""
    progress("  building demo segments …")
    with transaction.atomic():
        MembershipChange.objects.all().delete()
        Member.objects.all().delete()
        SegmentSize.objects.all().delete()
    actor = audit.Actor("demo")
    ids = []
    for name, description, definition in DEMO_SEGMENTS:
        existing = Segment.objects.filter(name=name).values_list("pk", flat=True).first()
        segment = save_segment(
            name=name,
            description=description,
            definition=definition,
            actor=actor,
            segment_id=existing,
            build=False,
        )
        ids.append(segment.pk)
    build_all(reason=ChangeReason.REBUILD)
    existing = Segment.objects.filter(name=DEMO_LIST[0]).values_list("pk", flat=True).first()
    static = save_segment(
        name=DEMO_LIST[0],
        description=DEMO_LIST[1],
        kind=SegmentKind.STATIC,
        actor=actor,
        segment_id=existing,
    )
    top = list(
        Member.objects.filter(segment_id=ids[0])
        .order_by("customer_id")
        .values_list("customer_id", flat=True)[:20]
    )
    if top:
        add_members(static.pk, top, actor=actor)
    _record_size(static.pk, clock.now())
    return [*ids, static.pk]
