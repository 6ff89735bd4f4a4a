"""Segment reads: a validated definition compiled to SQL, and the facts for the predicate.

This is a read model over other domains' tables (customers, figures, consents, events):
membership is a read across the whole customer base that no per-domain ``api.py`` call
could answer in one query. It only reads; every write stays in its owning domain.

Every leaf compiles to a two-valued condition (an ``Exists`` subquery or a column test
guarded by "is set"), so ``not`` means exactly what ``rules.evaluate`` means by it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import FieldError
from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    Field,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, StrIndex, Substr, TruncDate
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)

from ecrm.core import clock
from ecrm.customers.models import Consent, Customer
from ecrm.events.models import Event
from ecrm.figures.models import CustomerFigures
from ecrm.segments import fields, rules
from ecrm.segments.models import ChangeKind, Member, MembershipChange, Segment, SegmentSize
from ecrm.segments.rules import (
    All,
    AnyOf,
    Attribute,
    Behaviour,
    ConsentIs,
    CustomerFacts,
    Definition,
    EventFact,
    Figure,
    Not,
    Profile,
    Registered,
)

NOTHING = Q(pk__in=[])
DEFAULT_SAMPLE = 20


class _IsJsonText(Func):
    """True when ``column`` holds a JSON string under ``key`` (not a number or boolean)."""

    output_field = BooleanField()

    def __init__(self, column: str, key: str):
        super().__init__(F(column), Value(key))

    def as_sqlite(self, compiler, connection, **extra):
        column, column_params = compiler.compile(self.source_expressions[0])
        key = self.source_expressions[1].value
        return f"(JSON_TYPE({column}, %s) = 'text')", (*column_params, f'$."{key}"')

    def as_postgresql(self, compiler, connection, **extra):
        column, column_params = compiler.compile(self.source_expressions[0])
        key = self.source_expressions[1].value
        return f"(jsonb_typeof({column} -> %s) = 'string')", (*column_params, key)


class _Unindexed(Func):
    """A column SQLite must not pick an index for (unary ``+``); plain elsewhere.

    ``merged_into IS NULL`` holds for nearly every profile, yet SQLite would walk the
    merged_into index for it and then fetch each row: twice the work of a table scan.
    """

    output_field = IntegerField()
    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(+{sql})", params


class EventCategory(Func):
    """``properties.category`` when it is a JSON string, else NULL.

    Written exactly as the expression of ``event_segment_idx`` (events migration 0003), so
    both databases match it to the index: SQLite then reads a behaviour window's events
    from the index alone.
    """

    output_field = CharField()

    def __init__(self):
        super().__init__(F("properties"))

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(CASE json_type({column}, '$.category') WHEN 'text' "
            f"THEN json_extract({column}, '$.category') END)"
        )
        return sql, params

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(CASE WHEN jsonb_typeof({column} -> 'category') = 'string' "
            f"THEN {column} ->> 'category' END)"
        )
        return sql, params


def live_customers():
    """The population a segment is drawn from: profiles not merged into another."""
    return Customer.objects.filter(IsNull(_Unindexed(F("merged_into")), True))


def to_q(definition: Definition, now: dt.datetime) -> Q:
    """The definition as a filter over ``Customer`` at ``now``."""
    return _q(definition.match, now, _Published())


class _Published:
    """The registries' expressions, read once per compilation and only when needed."""

    def __init__(self):
        self._by_source: dict[str, dict] = {}

    def expression(self, source: str, name: str):
        if source not in self._by_source:
            self._by_source[source] = fields.published(source)
        return self._by_source[source][name]["expression"]


def _q(node, now: dt.datetime, published: _Published) -> Q:
    if isinstance(node, All):
        result = Q()
        together = [c for c in node.children if isinstance(c, Figure)]
        for child in node.children:
            if not isinstance(child, Figure):
                result &= _q(child, now, published)
        if together:
            result &= _figures_together(together, now)
        return result
    if isinstance(node, AnyOf):
        result = NOTHING
        for child in node.children:
            result |= _q(child, now, published)
        return result
    if isinstance(node, Not):
        return ~_q(node.child, now, published)
    if isinstance(node, Profile):
        return _profile(node)
    if isinstance(node, Attribute):
        return _attribute(node)
    if isinstance(node, Figure):
        return _figure(node, now)
    if isinstance(node, ConsentIs):
        return _consent(node)
    if isinstance(node, Behaviour):
        return _behaviour(node, now)
    if isinstance(node, Registered):
        return _registered(node, published.expression(node.source, node.field))
    raise TypeError(f"not a definition node: {node!r}")


def _lookups(column: str, op: str, operand) -> Q:
    """``column op operand`` for a column that is known to be set."""
    if op == "eq":
        return Q(**{f"{column}__exact": operand})
    if op == "ne":
        return ~Q(**{f"{column}__exact": operand})
    if op == "in":
        return Q(**{f"{column}__in": list(operand)})
    if op == "not_in":
        return ~Q(**{f"{column}__in": list(operand)})
    if op == "between":
        return Q(**{f"{column}__gte": operand[0], f"{column}__lte": operand[1]})
    return Q(**{f"{column}__{op}": operand})


def _compare(expression, op: str, operand) -> Q:
    """``expression op operand`` for an expression that is never NULL."""
    if op == "between":
        return Q(GreaterThanOrEqual(expression, Value(operand[0]))) & Q(
            LessThanOrEqual(expression, Value(operand[1]))
        )
    lookup = {
        "eq": Exact,
        "ne": Exact,
        "gt": GreaterThan,
        "gte": GreaterThanOrEqual,
        "lt": LessThan,
        "lte": LessThanOrEqual,
    }[op]
    result = Q(lookup(expression, Value(operand)))
    return ~result if op == "ne" else result


def _text_op(column, op: str, operand) -> Q:
    if op == "contains":
        return Q(GreaterThan(StrIndex(column, Value(operand)), Value(0)))
    return Q(Exact(Substr(column, 1, len(operand)), Value(operand)))


def _profile(node: Profile) -> Q:
    kind = rules.PROFILE_TYPES[node.field]
    base = "birthday" if node.field == "birthday_month" else node.field
    column = "birthday__month" if node.field == "birthday_month" else node.field
    if kind == rules.BOOL:
        return _lookups(column, node.op, node.value)
    is_set = ~Q(**{base: ""}) if kind == rules.TEXT else Q(**{f"{base}__isnull": False})
    if node.op == "is_set":
        return is_set
    if node.op == "is_not_set":
        return ~is_set
    if node.op in ("contains", "starts_with"):
        return is_set & _text_op(F(node.field), node.op, node.value)
    return is_set & _lookups(column, node.op, node.value)


class _AttributeValue(Func):
    """SQLite: ``json_extract(attributes, '$."key"')`` — NULL when absent or JSON null,
    the text of a string, the number of a number, 1 / 0 for true / false."""

    output_field = Field()  # values compare as they are: no conversion to text

    def __init__(self, key: str):
        super().__init__(F("attributes"))
        self.key = key  # letters, digits and underscores (rules.validate)

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"json_extract({column}, '$.\"{self.key}\"')", params


def _attribute(node: Attribute) -> Q:
    if connection.vendor == "sqlite" and node.op not in ("contains", "starts_with"):
        return _attribute_sqlite(node)
    key = f"attributes__{node.key}"
    is_set = (
        Q(attributes__has_key=node.key)
        & ~Q(**{f"{key}__exact": None})
        & ~Q(**{f"{key}__exact": ""})
    )
    if node.op == "is_set":
        return is_set
    if node.op == "is_not_set":
        return ~is_set
    if node.op in ("contains", "starts_with"):
        text = KeyTextTransform(node.key, "attributes")
        return is_set & Q(_IsJsonText("attributes", node.key)) & _text_op(text, node.op, node.value)
    return is_set & _lookups(key, node.op, node.value)


def _attribute_sqlite(node: Attribute) -> Q:
    """One JSON call per test instead of Django's four: a scan of a million profiles costs
    a third. Same meaning: SQLite compares a number or 1/0 (a boolean) never equal to
    text, as Python compares 7 with "7"; and 1 == True in both."""
    value = _AttributeValue(node.key)
    is_set = ~Q(Exact(Coalesce(value, Value(""), output_field=Field()), Value("")))
    if node.op == "is_set":
        return is_set
    if node.op == "is_not_set":
        return ~is_set
    operands = node.value if node.op in ("in", "not_in") else (node.value,)
    operands = [v for v in operands if v != ""]  # "" is "not set": it never matches
    found = Q(In(value, [Value(v) for v in operands])) if operands else NOTHING
    if node.op in ("eq", "in"):
        return is_set & found
    return is_set & ~found


def _figure(node: Figure, now: dt.datetime) -> Q:
    return _figures_together([node], now)


def _figures_together(nodes: list[Figure], now: dt.datetime) -> Q:
    """Figure conditions of one AND group as one ``Exists`` on the customer's figures row
    (one probe per customer instead of one per condition). A customer without a row yet
    matches when every condition accepts "nothing" (zero counts, no dates)."""
    rows = CustomerFigures.objects.filter(customer_id=OuterRef("pk"))
    on_row = Q()
    without_row = True
    for node in nodes:
        condition, accepts_nothing = _figure_row(node, now)
        on_row &= condition
        without_row = without_row and accepts_nothing
    result = Q(Exists(rows.filter(on_row)))
    return result | ~Q(Exists(rows)) if without_row else result


def _figure_row(node: Figure, now: dt.datetime) -> tuple[Q, bool]:
    """The condition on the figures row, and whether a customer with no row matches."""
    kind = rules.FIGURE_TYPES[node.figure]
    if kind in (rules.NUMBER, rules.COUNT):
        zero = rules.compare(node.op, rules.figure_value(node.figure, {}, now), node.value)
        return _lookups(node.figure, node.op, node.value), zero
    column = rules.DAYS_SINCE.get(node.figure, node.figure)
    is_set = Q(**{f"{column}__isnull": False})
    if node.op == "is_set":
        return is_set, False
    if node.op == "is_not_set":
        return Q(**{f"{column}__isnull": True}), True
    if kind == rules.DATETIME:
        return is_set & _lookups(column, node.op, node.value), False
    within = NOTHING
    for low, high in rules.days_range(node.op, node.value):
        part = is_set
        if low > 0:
            part &= Q(**{f"{column}__lte": now - dt.timedelta(days=low)})
        if high is not None:
            part &= Q(**{f"{column}__gt": now - dt.timedelta(days=high + 1)})
        within |= part
    return within, False


def _consent(node: ConsentIs) -> Q:
    rows = Consent.objects.filter(customer_id=OuterRef("pk"), channel=node.channel)
    if node.status == "unknown":
        return ~Q(Exists(rows))
    return Q(Exists(rows.filter(status=node.status)))


def _events(node: Behaviour, now: dt.datetime):
    """The customers' events a behaviour condition counts (never those of no customer)."""
    rows = Event.objects.filter(
        type=node.kind,
        timestamp__gt=rules.window_start(node, now),
        timestamp__lte=now,
        customer_id__isnull=False,
    )
    if node.name:
        rows = rows.filter(name=node.name)
    if node.category_prefix is not None:
        prefix = node.category_prefix
        rows = rows.filter(Q(Exact(Substr(EventCategory(), 1, len(prefix)), Value(prefix))))
    return rows


def _behaviour(node: Behaviour, now: dt.datetime) -> Q:
    """Set-based: one pass over the window's events (``event_segment_idx``), grouped by
    customer, instead of counting each customer's events in turn."""
    rows = _events(node, now)
    op, value = node.count_op, node.count_value
    if (op, value) in (("gte", 1), ("gt", 0)):
        return Q(pk__in=rows.values("customer_id"))
    if (op, value) in (("eq", 0), ("lt", 1), ("lte", 0)):
        return ~Q(pk__in=rows.values("customer_id"))
    counted = rows.order_by().values("customer_id").annotate(n=Count("customer_id"))
    if rules.compare(op, 0, value):
        # Zero events satisfy the count: members are all but those whose count fails.
        failing = counted.filter(~_lookups("n", op, value)).values("customer_id")
        return ~Q(pk__in=failing)
    return Q(pk__in=counted.filter(_lookups("n", op, value)).values("customer_id"))


def _output(expression):
    try:
        return expression.output_field
    except (AttributeError, FieldError):
        return None


def _operand(kind: str, value):
    if kind == rules.NUMBER:
        return Value(float(value), output_field=FloatField())
    return Value(value)


def _registered(node: Registered, expression) -> Q:
    """A published field: set means not NULL (and not blank text), as in the predicate."""
    if node.kind == rules.DATE and isinstance(_output(expression), DateTimeField):
        # A moment compared with a date: its day in UTC, as ``rules.registered_value``.
        expression = TruncDate(expression, tzinfo=dt.UTC)
    is_set = Q(IsNull(expression, False))
    if node.kind == rules.TEXT:
        is_set &= ~Q(Exact(expression, Value("")))
    if node.op == "is_set":
        return is_set
    if node.op == "is_not_set":
        return ~is_set
    if node.op in ("contains", "starts_with"):
        return is_set & _text_op(expression, node.op, node.value)
    if node.op in ("in", "not_in"):
        found = Q(In(expression, [_operand(node.kind, v) for v in node.value]))
        return is_set & (found if node.op == "in" else ~found)
    if node.op == "between":
        low, high = (_operand(node.kind, v) for v in node.value)
        return (
            is_set & Q(GreaterThanOrEqual(expression, low)) & Q(LessThanOrEqual(expression, high))
        )
    lookup = {
        "eq": Exact,
        "ne": Exact,
        "gt": GreaterThan,
        "gte": GreaterThanOrEqual,
        "lt": LessThan,
        "lte": LessThanOrEqual,
    }[node.op]
    result = Q(lookup(expression, _operand(node.kind, node.value)))
    return is_set & (~result if node.op == "ne" else result)


# ---------------------------------------------------------------------------------------
# Reading members and facts


def members(
    definition: Definition, now: dt.datetime, limit: int = 1000, after: int = 0
) -> list[int]:
    """One keyset page of member ids in ascending order, those above ``after``."""
    rows = live_customers().filter(to_q(definition, now), pk__gt=after).order_by("pk")
    return list(rows.values_list("pk", flat=True)[:limit])


@dataclass(frozen=True)
class Preview:
    size: int
    sample: tuple[int, ...]


def preview(
    definition: Definition, now: dt.datetime | None = None, sample: int = DEFAULT_SAMPLE
) -> Preview:
    """Size (an exact count: a preview is asked for explicitly) and the first member ids."""
    now = now or clock.now()
    rows = live_customers().filter(to_q(definition, now))
    ids = tuple(rows.order_by("pk").values_list("pk", flat=True)[:sample])
    return Preview(size=rows.count(), sample=ids)


FIGURE_COLUMNS = (
    "order_count",
    "revenue",
    "average_order_value",
    "return_count",
    "distinct_products",
    "last_order_at",
    "last_seen_at",
)
PROFILE_COLUMNS = tuple(f for f in rules.PROFILE_TYPES if f != "birthday_month")


EVERYTHING = rules.Dependencies(
    reads=frozenset(
        {
            rules.PROFILE,
            rules.ATTRIBUTES,
            rules.FIGURES,
            rules.SEEN,
            rules.CONSENT,
            rules.EVENTS,
            rules.SCORE,
            rules.LOYALTY,
        }
    ),
    ages=True,
    window_days=0,  # 0: every event, however old
    event_kinds=frozenset(),  # empty: every track and page event
)


def facts_of(customer_id: int) -> CustomerFacts:
    """Everything a definition can look at for one customer, as plain data."""
    return facts_for([customer_id], EVERYTHING, clock.now())[customer_id]


def facts_for(
    customer_ids, needs: rules.Dependencies, now: dt.datetime
) -> dict[int, CustomerFacts]:
    """The facts of live customers among ``customer_ids``, only the parts ``needs`` reads.

    One query per kind of data for the whole batch (profiles, figures, consents, events in
    the longest window of the definitions), plus the registries' ``segment_facts`` per
    customer when a definition reads scores or loyalty.
    """
    ids = sorted(set(customer_ids))
    reads = needs.reads
    # The figures row comes in the same query (a LEFT JOIN on the one-to-one key).
    joined = (
        [f"figures__{c}" for c in FIGURE_COLUMNS] if reads & {rules.FIGURES, rules.SEEN} else []
    )
    profiles = {
        row["pk"]: row
        for row in live_customers()
        .filter(pk__in=ids)
        .values("pk", "attributes", *PROFILE_COLUMNS, *joined)
    }
    ids = list(profiles)
    figures_of: dict[int, dict] = {}
    for cid, row in profiles.items():
        if joined and row["figures__order_count"] is not None:
            figures_of[cid] = {c: row[f"figures__{c}"] for c in FIGURE_COLUMNS}
    consents_of: dict[int, dict] = {}
    if rules.CONSENT in reads:
        for cid, channel, status in Consent.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "channel", "status"
        ):
            consents_of.setdefault(cid, {})[channel] = status
    events_of: dict[int, list] = {}
    if rules.EVENTS in reads:
        for cid, kind, name, category, at in _event_rows(ids, needs, now):
            events_of.setdefault(cid, []).append(
                EventFact(type=kind, name=name, category=category, timestamp=at)
            )
    registered: dict[int, dict] = {}
    for source in (rules.SCORE, rules.LOYALTY):
        if source in reads:
            for cid in ids:
                registered.setdefault(cid, {})[source] = fields.facts(source, cid)
    return {
        cid: CustomerFacts(
            customer_id=cid,
            profile={f: row[f] for f in PROFILE_COLUMNS},
            attributes=dict(row["attributes"] or {}),
            figures=figures_of.get(cid, {}),
            consents=consents_of.get(cid, {}),
            events=tuple(events_of.get(cid, ())),
            registered=registered.get(cid, {}),
        )
        for cid, row in profiles.items()
    }


def _event_rows(ids: list[int], needs: rules.Dependencies, now: dt.datetime):
    """The customers' track and page events in the longest window, by the (customer,
    timestamp) index: type and name are filtered here, in Python, so that no database is
    tempted by the (type, name, timestamp) index, which would read everyone's events."""
    rows = Event.objects.filter(customer_id__in=ids)
    if needs.window_days:
        rows = rows.filter(
            timestamp__gt=now - dt.timedelta(days=needs.window_days), timestamp__lte=now
        )
    kinds = needs.event_kinds
    any_page = not kinds or ("page", "") in kinds
    names = {name for _, name in kinds}
    rows = rows.annotate(category=EventCategory())
    for cid, kind, name, category, at in rows.values_list(
        "customer_id", "type", "name", "category", "timestamp"
    ):
        if (
            kind == "page"
            and any_page
            or kind in ("track", "page")
            and (not kinds or name in names)
        ):
            yield cid, kind, name, category, at


# ---------------------------------------------------------------------------------------
# Reading membership


def sizes(segment_ids) -> dict[int, int]:
    """Each segment's current size without counting its members: the latest size-history
    point plus the entries and exits logged after it (every change of ``Member`` is)."""
    out = {}
    for segment_id in segment_ids:
        point = (
            SegmentSize.objects.filter(segment_id=segment_id)
            .order_by("-at", "-pk")
            .values_list("at", "size")
            .first()
        )
        if point is None:
            out[segment_id] = Member.objects.filter(segment_id=segment_id).count()
            continue
        at, size = point
        moves = dict(
            MembershipChange.objects.filter(segment_id=segment_id, at__gt=at)
            .values("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
        out[segment_id] = size + moves.get(ChangeKind.ENTERED, 0) - moves.get(ChangeKind.LEFT, 0)
    return out


def size_of(segment_id: int) -> int:
    return Member.objects.filter(segment_id=segment_id).count()


@dataclass(frozen=True)
class MemberRow:
    customer_id: int
    entered_at: dt.datetime
    name: str
    email: str
    phone: str
    city: str


def member_page(
    segment_id: int, after: int = 0, limit: int = 50
) -> tuple[list[MemberRow], int | None]:
    """Members by ascending customer id, from the (segment, customer) index; keyset."""
    rows = list(
        Member.objects.filter(segment_id=segment_id, customer_id__gt=after)
        .order_by("customer_id")
        .values_list("customer_id", "entered_at")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    people = {
        c["pk"]: c
        for c in Customer.objects.filter(pk__in=[r[0] for r in rows]).values(
            "pk", "name", "email", "phone", "city"
        )
    }
    items = []
    for cid, entered in rows:
        person = people.get(cid, {})
        items.append(
            MemberRow(
                customer_id=cid,
                entered_at=entered,
                name=person.get("name", ""),
                email=person.get("email", ""),
                phone=person.get("phone", ""),
                city=person.get("city", ""),
            )
        )
    return items, (rows[-1][0] if more and rows else None)


@dataclass(frozen=True)
class ChangeRow:
    id: int
    customer_id: int
    kind: str
    at: dt.datetime
    reason: str


def change_page(segment_id: int, before: int | None = None, limit: int = 50):
    """The change log of a segment, newest first; keyset on the log id."""
    rows = MembershipChange.objects.filter(segment_id=segment_id).order_by("-pk")
    if before is not None:
        rows = rows.filter(pk__lt=before)
    items = [
        ChangeRow(*row)
        for row in rows.values_list("pk", "customer_id", "kind", "at", "reason")[: limit + 1]
    ]
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].id if more and items else None)


def size_history(segment_id: int, limit: int = 500) -> list[tuple[dt.datetime, int]]:
    """The latest ``limit`` size points, oldest first."""
    rows = list(
        SegmentSize.objects.filter(segment_id=segment_id)
        .order_by("-at", "-pk")
        .values_list("at", "size")[:limit]
    )
    return rows[::-1]


def segments_list():
    return Segment.objects.order_by("name")


def member_names(customer_ids) -> dict[int, str]:
    """Display names of customers (name, else e-mail, else mobile)."""
    out = {}
    for row in Customer.objects.filter(pk__in=list(customer_ids)).values(
        "pk", "name", "email", "phone"
    ):
        out[row["pk"]] = row["name"] or row["email"] or row["phone"]
    return out


def trends(segment_ids, span: dt.timedelta) -> dict[int, int]:
    """Size change over ``span``: now against the last size point at or before its start
    (segments with no point that old are absent)."""
    since = clock.now() - span
    current = sizes(segment_ids)
    out = {}
    for segment_id in segment_ids:
        then = (
            SegmentSize.objects.filter(segment_id=segment_id, at__lte=since)
            .order_by("-at", "-pk")
            .values_list("size", flat=True)
            .first()
        )
        if then is not None:
            out[segment_id] = current[segment_id] - then
    return out
