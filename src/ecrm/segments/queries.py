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

from django.db.models import BooleanField, Count, Exists, F, Func, OuterRef, Q, Subquery, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, StrIndex, Substr
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)

from ecrm.core import clock
from ecrm.customers.models import Consent, Customer
from ecrm.events.models import Event
from ecrm.figures.models import CustomerFigures
from ecrm.segments import rules
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


def live_customers():
    """The population a segment is drawn from: profiles not merged into another."""
    return Customer.objects.filter(merged_into__isnull=True)


def to_q(definition: Definition, now: dt.datetime) -> Q:
    """The definition as a filter over ``Customer`` at ``now``."""
    return _q(definition.match, now)


def _q(node, now: dt.datetime) -> Q:
    if isinstance(node, All):
        result = Q()
        for child in node.children:
            result &= _q(child, now)
        return result
    if isinstance(node, AnyOf):
        result = NOTHING
        for child in node.children:
            result |= _q(child, now)
        return result
    if isinstance(node, Not):
        return ~_q(node.child, now)
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


def _attribute(node: Attribute) -> Q:
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


def _figure(node: Figure, now: dt.datetime) -> Q:
    kind = rules.FIGURE_TYPES[node.figure]
    rows = CustomerFigures.objects.filter(customer_id=OuterRef("pk"))
    if kind in (rules.NUMBER, rules.COUNT):
        result = Q(Exists(rows.filter(_lookups(node.figure, node.op, node.value))))
        if rules.compare(node.op, rules.figure_value(node.figure, {}, now), node.value):
            result |= ~Q(Exists(rows))  # no figures yet: counts and amounts are zero
        return result
    column = rules.DAYS_SINCE.get(node.figure, node.figure)
    is_set = Q(Exists(rows.filter(**{f"{column}__isnull": False})))
    if node.op == "is_set":
        return is_set
    if node.op == "is_not_set":
        return ~is_set
    if kind == rules.DATETIME:
        return Q(
            Exists(
                rows.filter(
                    Q(**{f"{column}__isnull": False}), _lookups(column, node.op, node.value)
                )
            )
        )
    within = NOTHING
    for low, high in rules.days_range(node.op, node.value):
        part = Q(**{f"{column}__isnull": False})
        if low > 0:
            part &= Q(**{f"{column}__lte": now - dt.timedelta(days=low)})
        if high is not None:
            part &= Q(**{f"{column}__gt": now - dt.timedelta(days=high + 1)})
        within |= part
    return Q(Exists(rows.filter(within)))


def _consent(node: ConsentIs) -> Q:
    rows = Consent.objects.filter(customer_id=OuterRef("pk"), channel=node.channel)
    if node.status == "unknown":
        return ~Q(Exists(rows))
    return Q(Exists(rows.filter(status=node.status)))


def _events(node: Behaviour, now: dt.datetime):
    rows = Event.objects.filter(
        customer_id=OuterRef("pk"),
        type=node.kind,
        timestamp__gt=rules.window_start(node, now),
        timestamp__lte=now,
    )
    if node.name:
        rows = rows.filter(name=node.name)
    if node.category_prefix is not None:
        category = KeyTextTransform("category", "properties")
        rows = rows.filter(
            Q(_IsJsonText("properties", "category")),
            Q(Exact(Substr(category, 1, len(node.category_prefix)), Value(node.category_prefix))),
        )
    return rows


def _behaviour(node: Behaviour, now: dt.datetime) -> Q:
    rows = _events(node, now)
    op, value = node.count_op, node.count_value
    if (op, value) in (("gte", 1), ("gt", 0)):
        return Q(Exists(rows))
    if (op, value) in (("eq", 0), ("lt", 1), ("lte", 0)):
        return ~Q(Exists(rows))
    counted = Subquery(
        rows.order_by().values("customer_id").annotate(n=Count("pk")).values("n")[:1]
    )
    return _compare(Coalesce(counted, Value(0)), op, value)


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


def facts_of(customer_id: int) -> CustomerFacts:
    """Everything a definition can look at for one customer, as plain data."""
    customer = Customer.objects.get(pk=customer_id)
    figures = (
        CustomerFigures.objects.filter(customer_id=customer_id).values(*FIGURE_COLUMNS).first()
    )
    consents = dict(
        Consent.objects.filter(customer_id=customer_id).values_list("channel", "status")
    )
    events = tuple(
        EventFact(type=t, name=n, category=_category(p), timestamp=ts)
        for t, n, p, ts in Event.objects.filter(
            customer_id=customer_id, type__in=("track", "page")
        ).values_list("type", "name", "properties", "timestamp")
    )
    return CustomerFacts(
        customer_id=customer_id,
        profile={f: getattr(customer, f) for f in PROFILE_COLUMNS},
        attributes=dict(customer.attributes or {}),
        figures=figures or {},
        consents=consents,
        events=events,
    )


def _category(properties) -> str | None:
    value = properties.get("category") if isinstance(properties, dict) else None
    return value if isinstance(value, str) else None
