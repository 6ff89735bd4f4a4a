"""Segment definitions: the schema (version 1), its validation and the in-memory predicate.

Pure: no ORM, no request. ``queries.to_q`` compiles the same validated ``Definition`` to
SQL; a test runs every kind of condition both ways and compares. The schema is described
in docs/SEGMENTS.md.

Semantics shared by both targets:
- a condition on a value the customer does not have (blank text, no date, no attribute,
  no figures row for a date figure) is false for every operator except ``is_not_set``;
  ``ne`` and ``not_in`` included. Wrap in ``not`` to include the unknown ones.
- text comparisons are exact and case-sensitive.
- ``days_since_*`` are whole days, ``max(0, (now - moment).days)``, as in figures.rules.
- a behaviour window is ``now - within_days days < timestamp <= now``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_noop as N_

from ecrm.core import clock
from ecrm.core.messages import (
    AT_LEAST,
    AT_MOST,
    NOT_A_DATE,
    NOT_NEGATIVE,
    ONE_OF,
    OUT_OF_CALENDAR,
    REQUIRED,
    Problem,
)
from ecrm.core.text import MAX_KEY

SCHEMA_VERSION = 1

# Counts and day spans a condition may name: far beyond any shop, inside what SQL stores.
MAX_WHOLE = 1_000_000_000


class DefinitionError(Problem):
    """A definition was refused; ``path`` names the bad part, e.g. ``match.all[1].op``."""

    @property
    def path(self) -> str:
        return self.field


# ---------------------------------------------------------------------------------------
# The schema as data

TEXT, DATE, DATETIME, MONTH, BOOL, NUMBER, COUNT, DAYS = (
    "text",
    "date",
    "datetime",
    "month",
    "bool",
    "number",
    "count",
    "days",
)

PROFILE_TYPES = {
    "name": TEXT,
    "gender": TEXT,
    "birthday": DATE,
    "birthday_month": MONTH,
    "country": TEXT,
    "province": TEXT,
    "city": TEXT,
    "registration_channel": TEXT,
    "registered_at": DATETIME,
    "is_anonymous": BOOL,
}
FIGURE_TYPES = {
    "order_count": COUNT,
    "revenue": NUMBER,
    "average_order_value": NUMBER,
    "return_count": COUNT,
    "distinct_products": COUNT,
    "last_order_at": DATETIME,
    "last_seen_at": DATETIME,
    "days_since_last_order": DAYS,
    "days_since_last_seen": DAYS,
}
# Where a days_since figure is measured from.
DAYS_SINCE = {"days_since_last_order": "last_order_at", "days_since_last_seen": "last_seen_at"}
CONSENT_CHANNELS = ("email", "sms", "phone", "wechat", "push")
CONSENT_STATUSES = ("granted", "denied", "unknown")
GENDERS = ("f", "m", "o")

SET_OPS = ("is_set", "is_not_set")
ORDER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
OPS = {
    TEXT: ("eq", "ne", "in", "not_in", "contains", "starts_with", *SET_OPS),
    DATE: (*ORDER_OPS, *SET_OPS),
    DATETIME: (*ORDER_OPS, *SET_OPS),
    MONTH: ("eq", "ne", "in", "not_in", *ORDER_OPS[2:], *SET_OPS),
    BOOL: ("eq", "ne"),
    NUMBER: ORDER_OPS,
    COUNT: ORDER_OPS,
    DAYS: (*ORDER_OPS, *SET_OPS),
}
ATTRIBUTE_OPS = ("eq", "ne", "in", "not_in", "contains", "starts_with", *SET_OPS)
COUNT_OPS = ORDER_OPS
MAX_WINDOW_DAYS = 3660


# ---------------------------------------------------------------------------------------
# The validated tree


@dataclass(frozen=True)
class All:
    children: tuple


@dataclass(frozen=True)
class AnyOf:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: Any


@dataclass(frozen=True)
class Profile:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Attribute:
    key: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Figure:
    figure: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class ConsentIs:
    channel: str
    status: str


@dataclass(frozen=True)
class Behaviour:
    """Events of ``kind`` ("track" or "page") named ``name`` ("" = any page) in a window."""

    kind: str
    name: str
    within_days: int
    count_op: str = "gte"
    count_value: Any = 1
    category_prefix: str | None = None


@dataclass(frozen=True)
class Registered:
    """A field another domain publishes for segments (``source`` "score" or "loyalty")."""

    source: str
    field: str
    kind: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Definition:
    version: int
    match: Any


@dataclass(frozen=True)
class FieldSpec:
    """One published field of a registry: its type (text, number, bool, date) and choices."""

    kind: str
    label: str = ""
    choices: tuple = ()


@dataclass(frozen=True)
class EventFact:
    type: str
    name: str
    category: str | None
    timestamp: dt.datetime


@dataclass(frozen=True)
class CustomerFacts:
    """What a definition can look at, for one customer, as plain data.

    ``profile`` holds the fields of PROFILE_TYPES except birthday_month (blank text is "",
    missing dates None); ``figures`` the stored figures (numbers 0 and dates None when the
    customer has none yet); ``consents`` channel -> "granted" | "denied" (absent = unknown).
    """

    customer_id: int
    profile: dict
    attributes: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    consents: dict = field(default_factory=dict)
    events: tuple = ()
    # source ("score", "loyalty") -> field -> value, from the registries' segment_facts
    registered: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# Validation


# Condition kinds whose fields other domains publish: key in the JSON -> what it is.
REGISTRIES = {"score": "RFM scores and predicted values", "loyalty": "loyalty tier and points"}
# "no <REGISTRIES[source]> are available in this installation", whole for its translation.
UNAVAILABLE = {
    "score": N_("no RFM scores and predicted values are available in this installation"),
    "loyalty": N_("no loyalty tier and points are available in this installation"),
}
REGISTRY_TYPES = {"text": TEXT, "number": NUMBER, "bool": BOOL, "date": DATE}


def validate(definition, registries: dict | None = None) -> Definition:
    """Check a raw JSON definition and return the frozen tree, or raise DefinitionError.

    ``registries`` maps "score" / "loyalty" to ``{field: FieldSpec}`` (what the value and
    loyalty domains publish); a source that is absent refuses its conditions by path.
    """
    registries = registries or {}
    if not isinstance(definition, dict):
        raise DefinitionError("$", N_("a definition is an object with version and match"))
    _only(definition, "$", {"version", "match"})
    version = definition.get("version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise DefinitionError(
            "version",
            N_("must be %(version)s, not %(value)s"),
            version=SCHEMA_VERSION,
            value=repr(version),
        )
    if "match" not in definition:
        raise DefinitionError("match", REQUIRED)
    return Definition(version=SCHEMA_VERSION, match=_node(definition["match"], "match", registries))


def _only(raw: dict, path: str, allowed: set) -> None:
    for key in raw:
        if key not in allowed:
            where = f"{path}.{key}" if path != "$" else str(key)
            raise DefinitionError(
                where,
                N_("unknown field; expected one of %(expected)s"),
                expected=str(sorted(allowed)),
            )


def _node(raw, path: str, registries: dict):
    if not isinstance(raw, dict):
        raise DefinitionError(path, N_("must be an object (a group or a condition)"))
    if "all" in raw or "any" in raw:
        key = "all" if "all" in raw else "any"
        _only(raw, path, {key})
        children = raw[key]
        if not isinstance(children, list):
            raise DefinitionError(f"{path}.{key}", N_("must be a list of conditions"))
        if not children:
            raise DefinitionError(f"{path}.{key}", N_("an empty group matches nothing useful"))
        nodes = tuple(_node(c, f"{path}.{key}[{i}]", registries) for i, c in enumerate(children))
        return All(nodes) if key == "all" else AnyOf(nodes)
    if "not" in raw:
        _only(raw, path, {"not"})
        return Not(_node(raw["not"], f"{path}.not", registries))
    if "profile" in raw:
        return _profile(raw, path)
    if "attribute" in raw:
        return _attribute(raw, path)
    if "figure" in raw:
        return _figure(raw, path)
    if "consent" in raw:
        return _consent(raw, path)
    if "event" in raw or "page" in raw:
        return _behaviour(raw, path)
    for source in REGISTRIES:
        if source in raw:
            return _registered(raw, path, source, registries.get(source))
    raise DefinitionError(
        path,
        N_(
            "expected one of all, any, not, profile, attribute, figure, consent, event, page, "
            "score, loyalty"
        ),
    )


def _op(raw: dict, path: str, allowed: tuple) -> str:
    op = raw.get("op")
    if op is None:
        raise DefinitionError(f"{path}.op", REQUIRED)
    if op not in allowed:
        raise DefinitionError(f"{path}.op", ONE_OF, value=repr(op), choices=", ".join(allowed))
    return op


def _value(raw: dict, path: str, op: str, kind: str):
    """The operand of ``op`` for a value of ``kind``, parsed; refused by path when wrong."""
    where = f"{path}.value"
    if op in SET_OPS:
        if "value" in raw:
            raise DefinitionError(where, N_("%(op)s takes no value"), op=op)
        return None
    if "value" not in raw:
        raise DefinitionError(where, N_("is required for %(op)s"), op=op)
    value = raw["value"]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise DefinitionError(where, N_("%(op)s needs a non-empty list"), op=op)
        return tuple(_scalar(v, f"{where}[{i}]", kind) for i, v in enumerate(value))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise DefinitionError(where, N_("between needs a list of two values [low, high]"))
        low, high = (_scalar(v, f"{where}[{i}]", kind) for i, v in enumerate(value))
        if low > high:
            raise DefinitionError(where, N_("the low end is above the high end"))
        return (low, high)
    if op in ("contains", "starts_with") and not isinstance(value, str):
        raise DefinitionError(where, N_("%(op)s needs text"), op=op)
    return _scalar(value, where, kind)


def _some_text(value: str, where: str) -> str:
    """``value`` unless it is blank: an empty operand matches nobody (``eq``, ``in``) or
    everybody with a value (``ne``, ``contains``), never what was meant."""
    if not value.strip():
        raise DefinitionError(
            where, N_("is empty; to find customers without a value, choose “is unknown”")
        )
    return value


def _scalar(value, where: str, kind: str):
    if kind == TEXT:
        if not isinstance(value, str):
            raise DefinitionError(where, N_("must be text"))
        return _some_text(value, where)
    if kind == "attribute":
        if not isinstance(value, str | int | float | bool) or value is None:
            raise DefinitionError(where, N_("must be text, a number or true/false"))
        # A whole number past 64 bits failed in the query (SQLite: OverflowError).
        if isinstance(value, int) and value > MAX_KEY:
            raise DefinitionError(where, AT_MOST, max=f"{MAX_KEY:,}")
        if isinstance(value, int) and value < -MAX_KEY:
            raise DefinitionError(where, AT_LEAST, min=f"{-MAX_KEY:,}")
        return _some_text(value, where) if isinstance(value, str) else value
    if kind == BOOL:
        if not isinstance(value, bool):
            raise DefinitionError(where, N_("must be true or false"))
        return value
    if kind in (MONTH, COUNT, DAYS):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DefinitionError(where, N_("must be a whole number"))
        if kind == MONTH and not 1 <= value <= 12:
            raise DefinitionError(where, N_("a month is 1 to 12"))
        if value < 0:
            raise DefinitionError(where, NOT_NEGATIVE)
        if value > MAX_WHOLE:
            raise DefinitionError(where, AT_MOST, max=f"{MAX_WHOLE:,}")
        return value
    if kind == NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise DefinitionError(where, N_("must be a number"))
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise DefinitionError(
                where, N_("%(value)s is not a number"), value=repr(value)
            ) from exc
        if not number.is_finite():
            raise DefinitionError(where, N_("must be a finite number"))
        return number
    if kind == DATE:
        try:
            return dt.date.fromisoformat(value) if isinstance(value, str) else _bad()
        except (ValueError, TypeError) as exc:
            raise DefinitionError(where, NOT_A_DATE, value=repr(value)) from exc
    if kind == DATETIME:
        try:
            moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else _bad()
        except (ValueError, TypeError) as exc:
            raise DefinitionError(
                where, N_("%(value)s is not a date and time (ISO 8601)"), value=repr(value)
            ) from exc
        # Year 9999 at -08:00 is past Python's calendar in UTC: the query failed (OverflowError).
        if not clock.in_calendar(moment.date()):
            raise DefinitionError(
                where, OUT_OF_CALENDAR, first=clock.FIRST_DAY, last=clock.LAST_DAY
            )
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    raise DefinitionError(where, N_("no values of kind %(kind)s"), kind=kind)


def _bad():
    raise TypeError("not text")


def _known(name, names: dict) -> bool:
    """Whether ``name`` is one of ``names``; a list or an object (unhashable) is not, where
    looking it up raised TypeError, a 500."""
    return isinstance(name, str) and name in names


def _profile(raw: dict, path: str) -> Profile:
    _only(raw, path, {"profile", "op", "value"})
    name = raw["profile"]
    if not _known(name, PROFILE_TYPES):
        raise DefinitionError(
            f"{path}.profile",
            N_("unknown profile field %(name)s; known: %(known)s"),
            name=repr(name),
            known=", ".join(PROFILE_TYPES),
        )
    kind = PROFILE_TYPES[name]
    op = _op(raw, path, OPS[kind])
    value = _value(raw, path, op, kind)
    if name == "gender" and op in ("eq", "ne", "in", "not_in"):
        for v in value if isinstance(value, tuple) else (value,):
            if v not in GENDERS:
                raise DefinitionError(
                    f"{path}.value", N_("gender is one of f, m, o; not %(value)s"), value=repr(v)
                )
    return Profile(name, op, value)


def _attribute(raw: dict, path: str) -> Attribute:
    _only(raw, path, {"attribute", "op", "value"})
    key = raw["attribute"]
    if not isinstance(key, str) or not key or not key.replace("_", "").isalnum():
        raise DefinitionError(
            f"{path}.attribute", N_("an attribute name is letters, digits and underscores")
        )
    op = _op(raw, path, ATTRIBUTE_OPS)
    return Attribute(key, op, _value(raw, path, op, "attribute"))


def _figure(raw: dict, path: str) -> Figure:
    _only(raw, path, {"figure", "op", "value"})
    name = raw["figure"]
    if not _known(name, FIGURE_TYPES):
        raise DefinitionError(
            f"{path}.figure",
            N_("unknown figure %(name)s; known: %(known)s"),
            name=repr(name),
            known=", ".join(FIGURE_TYPES),
        )
    kind = FIGURE_TYPES[name]
    op = _op(raw, path, OPS[kind])
    return Figure(name, op, _value(raw, path, op, kind))


def _consent(raw: dict, path: str) -> ConsentIs:
    _only(raw, path, {"consent", "status"})
    if raw["consent"] not in CONSENT_CHANNELS:
        raise DefinitionError(
            f"{path}.consent",
            ONE_OF,
            value=repr(raw["consent"]),
            choices=", ".join(CONSENT_CHANNELS),
        )
    status = raw.get("status")
    if status not in CONSENT_STATUSES:
        raise DefinitionError(
            f"{path}.status", ONE_OF, value=repr(status), choices=", ".join(CONSENT_STATUSES)
        )
    return ConsentIs(raw["consent"], status)


def _behaviour(raw: dict, path: str) -> Behaviour:
    key = "event" if "event" in raw else "page"
    _only(raw, path, {key, "where", "count", "within_days"})
    name = raw[key]
    if not isinstance(name, str) or (key == "event" and not name.strip()):
        raise DefinitionError(f"{path}.{key}", N_("must be the event name"))
    if "within_days" not in raw:
        raise DefinitionError(f"{path}.within_days", N_("a behaviour condition needs a window"))
    days = raw["within_days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
        raise DefinitionError(
            f"{path}.within_days",
            N_("must be a whole number of days, 1 to %(max)s"),
            max=MAX_WINDOW_DAYS,
        )
    count_op, count_value = "gte", 1
    if "count" in raw:
        count = raw["count"]
        where = f"{path}.count"
        if not isinstance(count, dict):
            raise DefinitionError(where, N_('must be an object like {"op": "gte", "value": 3}'))
        _only(count, where, {"op", "value"})
        count_op = _op(count, where, COUNT_OPS)
        count_value = _value(count, where, count_op, COUNT)
    prefix = None
    if "where" in raw:
        where_raw = raw["where"]
        if not isinstance(where_raw, dict):
            raise DefinitionError(f"{path}.where", N_("must be an object"))
        _only(where_raw, f"{path}.where", {"category_prefix"})
        prefix = where_raw.get("category_prefix")
        if not isinstance(prefix, str) or not prefix:
            raise DefinitionError(f"{path}.where.category_prefix", N_("must be non-empty text"))
    kind = "track" if key == "event" else "page"
    return Behaviour(kind, name, days, count_op, count_value, prefix)


def _registered(raw: dict, path: str, source: str, fields: dict | None) -> Registered:
    _only(raw, path, {source, "op", "value"})
    if not fields:
        raise DefinitionError(f"{path}.{source}", UNAVAILABLE[source])
    name = raw[source]
    if not _known(name, fields):
        raise DefinitionError(
            f"{path}.{source}",
            N_("unknown %(source)s field %(name)s; known: %(known)s"),
            source=source,
            name=repr(name),
            known=", ".join(fields),
        )
    spec = fields[name]
    kind = REGISTRY_TYPES[spec.kind]
    op = _op(raw, path, OPS[kind] if kind != NUMBER else (*ORDER_OPS, *SET_OPS))
    value = _value(raw, path, op, kind)
    if spec.choices and op in ("eq", "ne", "in", "not_in"):
        for v in value if isinstance(value, tuple) else (value,):
            if v not in spec.choices:
                raise DefinitionError(
                    f"{path}.value",
                    ONE_OF,
                    value=repr(v),
                    choices=", ".join(map(str, spec.choices)),
                )
    return Registered(source, name, kind, op, value)


# ---------------------------------------------------------------------------------------
# What a definition depends on

PROFILE, ATTRIBUTES, FIGURES, SEEN, CONSENT, EVENTS = (
    "profile",
    "attributes",
    "figures",
    "seen",
    "consent",
    "events",
)
SCORE, LOYALTY = "score", "loyalty"
# The figures an event without an order changes (figures.api.note_seen).
SEEN_FIGURES = frozenset({"last_seen_at", "days_since_last_seen"})


@dataclass(frozen=True)
class Dependencies:
    """What data a definition reads, and whether its answer changes with time alone."""

    reads: frozenset
    ages: bool  # a relative-time condition: days since, or a behaviour window
    window_days: int  # the longest behaviour window (0: none)
    event_kinds: frozenset  # ("track", name) / ("page", name) pairs; name "" = any page

    def touches(self, changed) -> bool:
        return bool(self.reads & set(changed))


def dependencies(definition: Definition) -> Dependencies:
    reads: set[str] = set()
    ages = False
    window = 0
    kinds: set[tuple[str, str]] = set()
    stack = [definition.match]
    while stack:
        node = stack.pop()
        if isinstance(node, All | AnyOf):
            stack.extend(node.children)
        elif isinstance(node, Not):
            stack.append(node.child)
        elif isinstance(node, Profile):
            reads.add(PROFILE)
        elif isinstance(node, Attribute):
            reads.add(ATTRIBUTES)
        elif isinstance(node, Figure):
            reads.add(SEEN if node.figure in SEEN_FIGURES else FIGURES)
            ages = ages or node.figure in DAYS_SINCE
        elif isinstance(node, ConsentIs):
            reads.add(CONSENT)
        elif isinstance(node, Behaviour):
            reads.add(EVENTS)
            ages = True
            window = max(window, node.within_days)
            kinds.add((node.kind, node.name))
        elif isinstance(node, Registered):
            reads.add(node.source)
    return Dependencies(frozenset(reads), ages, window, frozenset(kinds))


# ---------------------------------------------------------------------------------------
# The in-memory predicate


def evaluate(definition: Definition, facts: CustomerFacts, now: dt.datetime) -> bool:
    """Whether the customer described by ``facts`` is a member at ``now``."""
    return _eval(definition.match, facts, now)


def _eval(node, facts: CustomerFacts, now: dt.datetime) -> bool:
    if isinstance(node, All):
        return all(_eval(c, facts, now) for c in node.children)
    if isinstance(node, AnyOf):
        return any(_eval(c, facts, now) for c in node.children)
    if isinstance(node, Not):
        return not _eval(node.child, facts, now)
    if isinstance(node, Profile):
        if node.field == "birthday_month":
            birthday = facts.profile.get("birthday")
            actual = birthday.month if birthday else None
        else:
            actual = facts.profile.get(node.field)
        return compare(node.op, actual, node.value)
    if isinstance(node, Attribute):
        return compare(node.op, facts.attributes.get(node.key), node.value)
    if isinstance(node, Figure):
        return compare(node.op, figure_value(node.figure, facts.figures, now), node.value)
    if isinstance(node, ConsentIs):
        return facts.consents.get(node.channel, "unknown") == node.status
    if isinstance(node, Behaviour):
        count = sum(1 for e in facts.events if event_matches(node, e, now))
        return compare(node.count_op, count, node.count_value)
    if isinstance(node, Registered):
        actual = facts.registered.get(node.source, {}).get(node.field)
        return compare(node.op, registered_value(node.kind, actual), node.value)
    raise TypeError(f"not a definition node: {node!r}")


def figure_value(name: str, figures: dict, now: dt.datetime):
    if name in DAYS_SINCE:
        moment = figures.get(DAYS_SINCE[name])
        return None if moment is None else max(0, (now - moment).days)
    default = None if FIGURE_TYPES[name] == DATETIME else 0
    value = figures.get(name, default)
    return Decimal(value) if FIGURE_TYPES[name] == NUMBER else value


def registered_value(kind: str, actual):
    """A registry's fact in the type its condition compares: numbers as Decimal, dates."""
    if actual is None or isinstance(actual, bool) and kind != BOOL:
        return actual
    if kind == NUMBER:
        return Decimal(str(actual))
    if kind == DATE and isinstance(actual, dt.datetime):
        return actual.date()
    return actual


def window_start(node: Behaviour, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=node.within_days)


def event_matches(node: Behaviour, event: EventFact, now: dt.datetime) -> bool:
    if event.type != node.kind or (node.name and event.name != node.name):
        return False
    if not window_start(node, now) < event.timestamp <= now:
        return False
    if node.category_prefix is not None:
        return isinstance(event.category, str) and event.category.startswith(node.category_prefix)
    return True


def is_set(value) -> bool:
    return value is not None and value != ""


def compare(op: str, actual, operand) -> bool:
    """One operator over one value; unknown values match only ``is_not_set``."""
    if op == "is_set":
        return is_set(actual)
    if op == "is_not_set":
        return not is_set(actual)
    if not is_set(actual):
        return False
    if op in ("contains", "starts_with"):
        if not isinstance(actual, str):
            return False
        return operand in actual if op == "contains" else actual.startswith(operand)
    if op == "eq":
        return actual == operand
    if op == "ne":
        return actual != operand
    if op == "in":
        return actual in operand
    if op == "not_in":
        return actual not in operand
    if op == "between":
        return operand[0] <= actual <= operand[1]
    return {
        "gt": actual > operand,
        "gte": actual >= operand,
        "lt": actual < operand,
        "lte": actual <= operand,
    }[op]


def days_range(op: str, operand) -> tuple[int, int | None] | list[tuple[int, int | None]]:
    """The whole-day ranges [low, high] (high None = no end) a days_since op accepts."""
    if op == "eq":
        return [(operand, operand)]
    if op == "ne":
        return [r for r in ((0, operand - 1), (operand + 1, None)) if r[1] is None or r[1] >= 0]
    if op == "gt":
        return [(operand + 1, None)]
    if op == "gte":
        return [(operand, None)]
    if op == "lt":
        return [(0, operand - 1)] if operand > 0 else []
    if op == "lte":
        return [(0, operand)]
    return [(operand[0], operand[1])]
