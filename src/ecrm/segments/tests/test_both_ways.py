"""One definition, two targets: SQL (``members``) and the predicate (``evaluate``) agree.

A fixed population of six customers with exact data; for every kind of condition the
member set is computed both ways at a pinned ``now`` and compared with the set written
here by hand.
"""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.core.audit import SYSTEM
from ecrm.customers import api as customers
from ecrm.customers.tests import factories
from ecrm.events.models import Event
from ecrm.figures import api as figures
from ecrm.figures.models import CustomerFigures
from ecrm.loyalty import api as loyalty
from ecrm.orders import api as orders
from ecrm.segments import fields, queries, rules
from ecrm.value import api as value

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
EVERYONE = {"A", "B", "C", "D", "E", "F"}


def _ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def _event(customer_id, key, kind, name, at, category=None):
    Event.objects.create(
        message_id=key,
        type=kind,
        name=name,
        customer_id=customer_id,
        timestamp=at,
        received_at=at,
        properties={} if category is None else {"category": category},
    )


@pytest.fixture
def population():
    """A..F: see each customer's comment for the data the cases below rely on."""
    # A: 广东 深圳, male, born 1990-03-15, gold member, 3 orders (last 10 days ago),
    # email granted, 3 views of 家电 within 30 days, a Home page view 2 days ago.
    a = factories.customer(
        name="张伟",
        gender="m",
        birthday="1990-03-15",
        country="CN",
        province="广东",
        city="深圳",
        registration_channel="app",
        registered_at="2024-01-10T08:00:00Z",
    )
    # B: 北京, female, born 1985-07-02, silver, one 500 order 111 days ago, a 100 return;
    # email denied, sms granted; views: 家电 2 within 30 days, 2 more 40-45 days ago,
    # 服装 once, and one with a numeric category.
    b = factories.customer(
        name="李娜",
        gender="f",
        birthday="1985-07-02",
        country="CN",
        province="北京",
        city="北京",
        registration_channel="web",
        registered_at="2025-06-01T00:00:00Z",
    )
    # C: 广东 广州, no gender, birthday or channel; member_level "" and score "7" (text);
    # no orders; 4 views of 服装/女装, a Home page view 31 days minus an hour ago.
    c = factories.customer(name="王芳", province="广东", city="广州")
    # D: an anonymous visitor; one unnamed page view 100 days ago.
    d = factories.customer(name="", anonymous_id="anon-d")
    # E: 广西 南宁, male, born 2000-03-01, gold-plus and vip; orders 1000 (60 days ago,
    # exactly) and 200; email granted, sms denied; no events.
    e = factories.customer(
        name="赵磊",
        gender="m",
        birthday="2000-03-01",
        country="CN",
        province="广西",
        city="南宁",
        registration_channel="app",
        registered_at="2026-11-01T00:00:00Z",
    )
    attributes = {
        a.pk: {"member_level": "gold", "score": 7},
        b.pk: {"member_level": "silver"},
        c.pk: {"member_level": "", "score": "7"},
        e.pk: {"member_level": "gold-plus", "vip": True},
    }
    for pk, values in attributes.items():
        customers.update_profile(pk, {}, actor=SYSTEM, attributes=values)

    factories.order(a.pk, "A-1", placed_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    factories.order(a.pk, "A-2", placed_at=dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    factories.order(a.pk, "A-3", sku="SKU-2", placed_at=_ago(10))
    factories.order(b.pk, "B-1", total="500.00", placed_at=_ago(111))
    orders.record_return(
        orders.ReturnInput(
            external_id="R-B",
            order_external_id="B-1",
            currency="CNY",
            returned_at=_ago(107),
            amount=Decimal("100.00"),
        ),
        customer_id=None,
    )
    factories.order(e.pk, "E-1", total="1000.00", placed_at=_ago(60))
    factories.order(e.pk, "E-2", total="200.00", placed_at=_ago(80))

    for channel, status, who in [
        ("email", "granted", a),
        ("email", "denied", b),
        ("sms", "granted", b),
        ("email", "granted", e),
        ("sms", "denied", e),
    ]:
        customers.set_consent(who.pk, channel, status, source="test", actor=SYSTEM)

    viewed = "Product Viewed"
    for n, days in enumerate((1, 5, 29)):
        _event(a.pk, f"a{n}", "track", viewed, _ago(days), "家电/冰箱")
    _event(a.pk, "a-home", "page", "Home", _ago(2))
    for n, days in enumerate((3, 10, 40, 45)):
        _event(b.pk, f"b{n}", "track", viewed, _ago(days), "家电/电视")
    _event(b.pk, "b-cloth", "track", viewed, _ago(2), "服装")
    _event(b.pk, "b-number", "track", viewed, _ago(1), 12)
    for n, days in enumerate((1, 2, 3, 4)):
        _event(c.pk, f"c{n}", "track", viewed, _ago(days), "服装/女装")
    _event(c.pk, "c-home", "page", "Home", _ago(31) + dt.timedelta(hours=1))
    _event(d.pk, "d-page", "page", "", _ago(100))

    figures.recompute_all()
    # F: born 1992-03-31, member_level null; registered after the last recompute, so
    # nothing else at all, not even a figures row.
    f = factories.customer(name="陈静", birthday="1992-03-31")
    customers.update_profile(f.pk, {}, actor=SYSTEM, attributes={"member_level": None})
    return {"A": a.pk, "B": b.pk, "C": c.pk, "D": d.pk, "E": e.pk, "F": f.pk}


def _p(field, op, value=None):
    node = {"profile": field, "op": op}
    return node if value is None else {**node, "value": value}


def _a(key, op, value=None):
    node = {"attribute": key, "op": op}
    return node if value is None else {**node, "value": value}


def _f(figure, op, value=None):
    node = {"figure": figure, "op": op}
    return node if value is None else {**node, "value": value}


def _views(days, prefix=None, op=None, value=None):
    node = {"event": "Product Viewed", "within_days": days}
    if prefix is not None:
        node["where"] = {"category_prefix": prefix}
    if op is not None:
        node["count"] = {"op": op, "value": value}
    return node


CASES = [
    # profile fields, every operator
    ("province eq", _p("province", "eq", "广东"), {"A", "C"}),
    ("province ne skips blanks", _p("province", "ne", "广东"), {"B", "E"}),
    ("province in", _p("province", "in", ["北京", "广西"]), {"B", "E"}),
    ("province not_in", _p("province", "not_in", ["北京"]), {"A", "C", "E"}),
    ("city contains", _p("city", "contains", "州"), {"C"}),
    ("province starts_with", _p("province", "starts_with", "广"), {"A", "C", "E"}),
    ("name starts_with", _p("name", "starts_with", "张"), {"A"}),
    ("country eq", _p("country", "eq", "CN"), {"A", "B", "E"}),
    ("channel is_set", _p("registration_channel", "is_set"), {"A", "B", "E"}),
    ("channel is_not_set", _p("registration_channel", "is_not_set"), {"C", "D", "F"}),
    ("gender eq", _p("gender", "eq", "m"), {"A", "E"}),
    ("gender in", _p("gender", "in", ["f", "o"]), {"B"}),
    ("gender is_not_set", _p("gender", "is_not_set"), {"C", "D", "F"}),
    ("birthday lt", _p("birthday", "lt", "1990-01-01"), {"B"}),
    ("birthday eq", _p("birthday", "eq", "1990-03-15"), {"A"}),
    ("birthday ne", _p("birthday", "ne", "1990-03-15"), {"B", "E", "F"}),
    (
        "birthday between",
        _p("birthday", "between", ["1990-01-01", "2000-12-31"]),
        {"A", "E", "F"},
    ),
    ("birthday is_not_set", _p("birthday", "is_not_set"), {"C", "D"}),
    ("birthday_month eq", _p("birthday_month", "eq", 3), {"A", "E", "F"}),
    ("birthday_month in", _p("birthday_month", "in", [7, 12]), {"B"}),
    ("birthday_month ne", _p("birthday_month", "ne", 3), {"B"}),
    ("birthday_month gte", _p("birthday_month", "gte", 4), {"B"}),
    (
        "registered_at gte",
        _p("registered_at", "gte", "2025-01-01T00:00:00+00:00"),
        {"B", "E"},
    ),
    ("registered_at is_not_set", _p("registered_at", "is_not_set"), {"C", "D", "F"}),
    ("is_anonymous eq", _p("is_anonymous", "eq", True), {"D"}),
    ("is_anonymous ne", _p("is_anonymous", "ne", True), {"A", "B", "C", "E", "F"}),
    # custom attributes
    ("attribute eq", _a("member_level", "eq", "gold"), {"A"}),
    ("attribute ne skips blank and null", _a("member_level", "ne", "gold"), {"B", "E"}),
    ("attribute in", _a("member_level", "in", ["silver", "gold-plus"]), {"B", "E"}),
    ("attribute not_in", _a("member_level", "not_in", ["gold"]), {"B", "E"}),
    ("attribute contains", _a("member_level", "contains", "gold"), {"A", "E"}),
    ("attribute starts_with", _a("member_level", "starts_with", "gold-"), {"E"}),
    ("attribute is_set", _a("member_level", "is_set"), {"A", "B", "E"}),
    ("attribute is_not_set", _a("member_level", "is_not_set"), {"C", "D", "F"}),
    ("attribute number is not text", _a("score", "eq", 7), {"A"}),
    ("attribute contains only text", _a("score", "contains", "7"), {"C"}),
    ("attribute boolean", _a("vip", "eq", True), {"E"}),
    ("attribute in text only", _a("score", "in", ["7"]), {"C"}),
    ("attribute ne number", _a("score", "ne", 7), {"C"}),
    ("attribute not_in number", _a("score", "not_in", [7, 8]), {"C"}),
    ("attribute boolean ne", _a("vip", "ne", False), {"E"}),
    # derived figures, every operator, and customers with no figures row
    ("order_count gte", _f("order_count", "gte", 2), {"A", "E"}),
    ("order_count eq 0", _f("order_count", "eq", 0), {"C", "D", "F"}),
    ("order_count lt", _f("order_count", "lt", 2), {"B", "C", "D", "F"}),
    ("order_count ne", _f("order_count", "ne", 3), {"B", "C", "D", "E", "F"}),
    ("order_count between", _f("order_count", "between", [1, 2]), {"B", "E"}),
    ("revenue gt", _f("revenue", "gt", 350), {"B", "E"}),
    ("revenue lte", _f("revenue", "lte", "300"), {"A", "C", "D", "F"}),
    ("revenue between", _f("revenue", "between", ["300", "400.00"]), {"A", "B"}),
    ("average_order_value eq", _f("average_order_value", "eq", 100), {"A"}),
    ("return_count gte", _f("return_count", "gte", 1), {"B"}),
    ("distinct_products eq", _f("distinct_products", "eq", 2), {"A"}),
    ("last_order_at gte", _f("last_order_at", "gte", "2026-10-01T00:00:00Z"), {"A"}),
    ("last_order_at lt", _f("last_order_at", "lt", "2026-09-30T00:00:00Z"), {"B", "E"}),
    ("last_order_at is_set", _f("last_order_at", "is_set"), {"A", "B", "E"}),
    ("last_order_at is_not_set", _f("last_order_at", "is_not_set"), {"C", "D", "F"}),
    ("last_seen_at gt", _f("last_seen_at", "gt", "2026-11-01T00:00:00Z"), {"A", "B", "C"}),
    ("days since order gte", _f("days_since_last_order", "gte", 60), {"B", "E"}),
    ("days since order gt", _f("days_since_last_order", "gt", 60), {"B"}),
    ("days since order lt", _f("days_since_last_order", "lt", 60), {"A"}),
    ("days since order lte", _f("days_since_last_order", "lte", 10), {"A"}),
    ("days since order eq", _f("days_since_last_order", "eq", 60), {"E"}),
    ("days since order ne", _f("days_since_last_order", "ne", 10), {"B", "E"}),
    ("days since order between", _f("days_since_last_order", "between", [10, 60]), {"A", "E"}),
    ("days since order is_not_set", _f("days_since_last_order", "is_not_set"), {"C", "D", "F"}),
    ("days since seen gte", _f("days_since_last_seen", "gte", 90), {"D"}),
    ("days since seen lt", _f("days_since_last_seen", "lt", 7), {"A", "B", "C"}),
    ("days since seen lt 0", _f("days_since_last_seen", "lt", 0), set()),
    # consent
    ("email granted", {"consent": "email", "status": "granted"}, {"A", "E"}),
    ("email denied", {"consent": "email", "status": "denied"}, {"B"}),
    ("email unknown", {"consent": "email", "status": "unknown"}, {"C", "D", "F"}),
    ("sms granted", {"consent": "sms", "status": "granted"}, {"B"}),
    ("sms unknown", {"consent": "sms", "status": "unknown"}, {"A", "C", "D", "F"}),
    ("push unknown", {"consent": "push", "status": "unknown"}, EVERYONE),
    # behaviour: count, window, category
    ("家电 >= 3 in 30 days", _views(30, "家电", "gte", 3), {"A"}),
    ("家电 >= 2 in 30 days", _views(30, "家电", "gte", 2), {"A", "B"}),
    ("家电 >= 4 in 50 days", _views(50, "家电", "gte", 4), {"B"}),
    ("any view in 30 days", _views(30), {"A", "B", "C"}),
    ("no view in 30 days", _views(30, op="eq", value=0), {"D", "E", "F"}),
    ("exactly 4 views", _views(30, op="eq", value=4), {"B", "C"}),
    ("views between", _views(30, op="between", value=[3, 3]), {"A"}),
    ("views ne", _views(30, op="ne", value=4), {"A", "D", "E", "F"}),
    ("views lt", _views(30, op="lt", value=4), {"A", "D", "E", "F"}),
    ("服装 in 30 days", _views(30, "服装"), {"B", "C"}),
    ("numeric category is no prefix", _views(30, "1"), set()),
    ("page Home in 30 days", {"page": "Home", "within_days": 30}, {"A"}),
    ("page Home in 31 days", {"page": "Home", "within_days": 31}, {"A", "C"}),
    ("any page in 120 days", {"page": "", "within_days": 120}, {"A", "C", "D"}),
    ("not viewed 家电", {"not": _views(30, "家电")}, {"C", "D", "E", "F"}),
    # nesting
    (
        "viewed 家电 twice and no order in 60 days",
        {
            "all": [
                _views(30, "家电", "gte", 2),
                {"any": [_f("days_since_last_order", "gte", 60), _f("order_count", "eq", 0)]},
            ]
        },
        {"B"},
    ),
    (
        "not (广东 and (male or email granted))",
        {
            "not": {
                "all": [
                    _p("province", "eq", "广东"),
                    {"any": [_p("gender", "eq", "m"), {"consent": "email", "status": "granted"}]},
                ]
            }
        },
        {"B", "C", "D", "E", "F"},
    ),
    ("not over unknown dates", {"not": _p("birthday", "gt", "1991-01-01")}, {"A", "B", "C", "D"}),
    ("not over attribute ne", {"not": _a("member_level", "ne", "gold")}, {"A", "C", "D", "F"}),
    (
        "not over date figure",
        {"not": _f("last_order_at", "lt", "2026-09-30T00:00:00Z")},
        {"A", "C", "D", "F"},
    ),
    ("double not", {"not": {"not": _f("order_count", "gte", 2)}}, {"A", "E"}),
    (
        "figures of one group, no row accepted",
        {"all": [_f("order_count", "lt", 2), _f("revenue", "lte", 300), _p("name", "is_set")]},
        {"C", "F"},
    ),
    (
        "figures of one group, dates",
        {"all": [_f("order_count", "eq", 0), _f("last_order_at", "is_not_set")]},
        {"C", "D", "F"},
    ),
    (
        "figures of one group, a row needed",
        {"all": [_f("order_count", "gte", 1), _f("days_since_last_order", "gte", 60)]},
        {"B", "E"},
    ),
    (
        "not over figures of one group",
        {"not": {"all": [_f("order_count", "lt", 2), _f("revenue", "lte", 300)]}},
        {"A", "B", "E"},
    ),
    (
        "any of attribute and behaviour",
        {"any": [_a("vip", "eq", True), _views(30, "服装", "gte", 4)]},
        {"C", "E"},
    ),
]


@pytest.mark.parametrize(("match", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_sql_and_predicate_give_the_same_members(population, match, expected):
    """``members`` (SQL) and ``evaluate`` over ``facts_of`` select exactly ``expected``."""
    definition = rules.validate({"version": 1, "match": match})
    names = {pk: name for name, pk in population.items()}
    by_sql = {names[pk] for pk in queries.members(definition, NOW)}
    by_predicate = {
        names[pk]
        for pk in population.values()
        if rules.evaluate(definition, queries.facts_of(pk), NOW)
    }
    assert (by_sql, by_predicate) == (expected, expected)


def test_population_has_the_figures_the_cases_rely_on(population):
    """F, registered after the last recompute, has no figures row yet."""
    rows = dict(CustomerFigures.objects.values_list("customer_id", "order_count"))
    ids = population
    assert rows == {ids["A"]: 3, ids["B"]: 1, ids["C"]: 0, ids["D"]: 0, ids["E"]: 2}


def test_members_pages_by_key_and_preview_counts(population):
    """Keyset pages follow ascending ids; the preview gives the exact size and a sample."""
    definition = rules.validate({"version": 1, "match": _f("order_count", "eq", 0)})
    ids = sorted([population["C"], population["D"], population["F"]])
    first = queries.members(definition, NOW, limit=2)
    rest = queries.members(definition, NOW, limit=2, after=first[-1])
    assert (first, rest) == (ids[:2], ids[2:])
    assert queries.preview(definition, NOW, sample=2) == queries.Preview(3, tuple(ids[:2]))


# ---------------------------------------------------------------------------------------
# Conditions on fields other domains publish: RFM scores (value) and loyalty.


def _both_ways(population, match) -> tuple[set, set]:
    definition = fields.validate({"version": 1, "match": match})
    names = {pk: name for name, pk in population.items()}
    by_sql = {names[pk] for pk in queries.members(definition, NOW)}
    by_predicate = {
        names[pk]
        for pk in population.values()
        if rules.evaluate(definition, queries.facts_of(pk), NOW)
    }
    return by_sql, by_predicate


@pytest.fixture
def scored(population):
    value.compute_rfm(now=NOW, window_days=365)
    return population


SCORE_CASES = [
    ("f is_set", {"score": "f", "op": "is_set"}, {"A", "B", "E"}),
    ("rfm_group is_not_set", {"score": "rfm_group", "op": "is_not_set"}, {"C", "D", "F"}),
    ("m gte 1", {"score": "m", "op": "gte", "value": 1}, {"A", "B", "E"}),
    ("not r lte 5", {"not": {"score": "r", "op": "lte", "value": 5}}, {"C", "D", "F"}),
]


@pytest.mark.parametrize(
    ("match", "expected"), [c[1:] for c in SCORE_CASES], ids=[c[0] for c in SCORE_CASES]
)
def test_score_conditions_both_ways(scored, match, expected):
    assert _both_ways(scored, match) == (expected, expected)


@pytest.mark.parametrize("field", ["r", "f", "m"])
@pytest.mark.parametrize("op", ["eq", "gte", "lt"])
def test_every_score_threshold_both_ways(scored, field, op):
    """For each score 1..5 both targets select exactly the customers value.api scores so."""
    names = {pk: name for name, pk in scored.items()}
    for threshold in range(1, 6):
        expected = set()
        for pk, name in names.items():
            score = value.score_of(pk)
            if score is not None and rules.compare(op, getattr(score, field), threshold):
                expected.add(name)
        match = {"score": field, "op": op, "value": threshold}
        assert _both_ways(scored, match) == (expected, expected), threshold


def test_rfm_group_in_both_ways(scored):
    groups = {value.score_of(scored[n]).group for n in ("A", "B", "E")}
    chosen = sorted(groups)[:1]
    expected = {n for n in ("A", "B", "E") if value.score_of(scored[n]).group in chosen}
    match = {"score": "rfm_group", "op": "in", "value": chosen}
    assert _both_ways(scored, match) == (expected, expected)


@pytest.fixture
def members(population):
    loyalty.join(population["A"], actor=SYSTEM, at=_ago(400))
    loyalty.join(population["E"], actor=SYSTEM, at=_ago(20))
    loyalty.award_points(
        population["E"], 1200, source="test", source_ref="e", reason="test", actor=SYSTEM
    )
    loyalty.award_points(
        population["A"], 300, source="test", source_ref="a", reason="test", actor=SYSTEM
    )
    return population


LOYALTY_CASES = [
    ("member", {"loyalty": "member", "op": "eq", "value": True}, {"A", "E"}),
    ("not a member", {"loyalty": "member", "op": "ne", "value": True}, {"B", "C", "D", "F"}),
    ("points gte", {"loyalty": "points", "op": "gte", "value": 1000}, {"E"}),
    ("points between", {"loyalty": "points", "op": "between", "value": [1, 500]}, {"A"}),
    ("points lt", {"loyalty": "points", "op": "lt", "value": 500}, {"A", "B", "C", "D", "F"}),
    (
        "member since before",
        {"loyalty": "member_since", "op": "lt", "value": "2026-01-01"},
        {"A"},
    ),
    (
        "member since on the day",
        {"loyalty": "member_since", "op": "eq", "value": "2026-10-31"},
        {"E"},
    ),
    (
        "member since is_not_set",
        {"loyalty": "member_since", "op": "is_not_set"},
        {"B", "C", "D", "F"},
    ),
]


@pytest.mark.parametrize(
    ("match", "expected"), [c[1:] for c in LOYALTY_CASES], ids=[c[0] for c in LOYALTY_CASES]
)
def test_loyalty_conditions_both_ways(members, match, expected):
    assert _both_ways(members, match) == (expected, expected)


def test_tier_both_ways(members):
    """Whatever tiers the programme assigns, both targets agree on each."""
    for tier in {loyalty.tier_of(members[n]) or "" for n in ("A", "E")}:
        if not tier:
            continue
        expected = {n for n, pk in members.items() if (loyalty.tier_of(pk) or "") == tier}
        match = {"loyalty": "tier", "op": "eq", "value": tier}
        assert _both_ways(members, match) == (expected, expected)
