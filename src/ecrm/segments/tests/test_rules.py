"""Validation: a bad definition is refused with the exact JSON path of the bad part."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.segments import rules
from ecrm.segments.rules import DefinitionError

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def _wrap(*conditions):
    return {"version": 1, "match": {"all": list(conditions)}}


BAD = [
    ("not an object", [], "$", "a definition is an object with version and match"),
    ("wrong version", {"version": 2, "match": {"all": []}}, "version", "must be 1, not 2"),
    ("missing match", {"version": 1}, "match", "is required"),
    (
        "unknown top field",
        {"version": 1, "match": {"all": []}, "extra": 1},
        "extra",
        "unknown field; expected one of ['match', 'version']",
    ),
    ("empty group", _wrap(), "match.all", "an empty group matches nothing useful"),
    (
        "empty nested group",
        _wrap({"any": []}),
        "match.all[0].any",
        "an empty group matches nothing useful",
    ),
    (
        "group not a list",
        {"version": 1, "match": {"any": {}}},
        "match.any",
        "must be a list of conditions",
    ),
    (
        "unknown node",
        _wrap({"profil": "city"}),
        "match.all[0]",
        "expected one of all, any, not, profile, attribute, figure, consent, event, page, "
        "score, loyalty",
    ),
    (
        "unknown profile field",
        _wrap({"profile": "shoe_size", "op": "eq", "value": "42"}),
        "match.all[0].profile",
        "unknown profile field 'shoe_size'; known: name, gender, birthday, birthday_month, "
        "country, province, city, registration_channel, registered_at, is_anonymous",
    ),
    (
        "profile field named by a list",
        _wrap({"profile": ["city"], "op": "eq", "value": "深圳"}),
        "match.all[0].profile",
        "unknown profile field ['city']; known: name, gender, birthday, birthday_month, "
        "country, province, city, registration_channel, registered_at, is_anonymous",
    ),
    (
        "attribute number past 64 bits",
        _wrap({"attribute": "vip", "op": "in", "value": ["a", 2**63]}),
        "match.all[0].value[1]",
        "must be at most 9,223,372,036,854,775,807",
    ),
    (
        "attribute number below 64 bits",
        _wrap({"attribute": "vip", "op": "eq", "value": -(2**63)}),
        "match.all[0].value",
        "must be at least -9,223,372,036,854,775,807",
    ),
    (
        "date and time past the calendar",
        _wrap({"profile": "registered_at", "op": "gt", "value": "9999-12-31T23:00:00-08:00"}),
        "match.all[0].value",
        "must be a date from 1900-01-01 to 2999-12-31",
    ),
    (
        "unknown field in a leaf",
        _wrap({"profile": "city", "op": "eq", "value": "深圳", "case": "i"}),
        "match.all[0].case",
        "unknown field; expected one of ['op', 'profile', 'value']",
    ),
    (
        "operator wrong for the type",
        _wrap({"not": {"profile": "birthday", "op": "contains", "value": "03"}}),
        "match.all[0].not.op",
        "'contains' is not one of eq, ne, gt, gte, lt, lte, between, is_set, is_not_set",
    ),
    (
        "missing op",
        _wrap({"figure": "revenue", "value": 3}),
        "match.all[0].op",
        "is required",
    ),
    (
        "text where a number is needed",
        _wrap({"figure": "order_count", "op": "gte", "value": "3"}),
        "match.all[0].value",
        "must be a whole number",
    ),
    (
        "a count no shop reaches",
        _wrap({"figure": "order_count", "op": "gte", "value": 10**30}),
        "match.all[0].value",
        "must be at most 1,000,000,000",
    ),
    (
        "is_set takes no value",
        _wrap({"profile": "city", "op": "is_set", "value": "x"}),
        "match.all[0].value",
        "is_set takes no value",
    ),
    (
        "value missing",
        _wrap({"profile": "city", "op": "eq"}),
        "match.all[0].value",
        "is required for eq",
    ),
    (
        "in needs a list",
        _wrap({"profile": "city", "op": "in", "value": "深圳"}),
        "match.all[0].value",
        "in needs a non-empty list",
    ),
    (
        "bad item of in",
        _wrap({"profile": "city", "op": "in", "value": ["深圳", 3]}),
        "match.all[0].value[1]",
        "must be text",
    ),
    (
        "empty text",
        _wrap({"profile": "province", "op": "eq", "value": ""}),
        "match.all[0].value",
        "is empty; to find customers without a value, choose “is unknown”",
    ),
    (
        "blank item of in",
        _wrap({"profile": "city", "op": "in", "value": ["深圳", " "]}),
        "match.all[0].value[1]",
        "is empty; to find customers without a value, choose “is unknown”",
    ),
    (
        "empty attribute text",
        _wrap({"attribute": "vip", "op": "contains", "value": ""}),
        "match.all[0].value",
        "is empty; to find customers without a value, choose “is unknown”",
    ),
    (
        "between reversed",
        _wrap({"figure": "revenue", "op": "between", "value": [500, 100]}),
        "match.all[0].value",
        "the low end is above the high end",
    ),
    (
        "bad date",
        _wrap({"profile": "birthday", "op": "gt", "value": "1990-13-01"}),
        "match.all[0].value",
        "'1990-13-01' is not a date (YYYY-MM-DD)",
    ),
    (
        "bad month",
        _wrap({"profile": "birthday_month", "op": "eq", "value": 13}),
        "match.all[0].value",
        "a month is 1 to 12",
    ),
    (
        "bad gender",
        _wrap({"profile": "gender", "op": "eq", "value": "x"}),
        "match.all[0].value",
        "gender is one of f, m, o; not 'x'",
    ),
    (
        "unknown figure",
        _wrap({"figure": "lifetime", "op": "gt", "value": 1}),
        "match.all[0].figure",
        "unknown figure 'lifetime'; known: order_count, revenue, average_order_value, "
        "return_count, distinct_products, last_order_at, last_seen_at, days_since_last_order, "
        "days_since_last_seen",
    ),
    (
        "figure named by an object",
        _wrap({"figure": {"name": "revenue"}, "op": "gt", "value": 1}),
        "match.all[0].figure",
        "unknown figure {'name': 'revenue'}; known: order_count, revenue, average_order_value, "
        "return_count, distinct_products, last_order_at, last_seen_at, days_since_last_order, "
        "days_since_last_seen",
    ),
    (
        "unknown consent channel",
        _wrap({"consent": "fax", "status": "granted"}),
        "match.all[0].consent",
        "'fax' is not one of email, sms, phone, wechat, push",
    ),
    (
        "unknown consent status",
        _wrap({"consent": "email", "status": "maybe"}),
        "match.all[0].status",
        "'maybe' is not one of granted, denied, unknown",
    ),
    (
        "missing window",
        _wrap({"any": [{"event": "Product Viewed", "count": {"op": "gte", "value": 3}}]}),
        "match.all[0].any[0].within_days",
        "a behaviour condition needs a window",
    ),
    (
        "bad count op",
        _wrap({"event": "Product Viewed", "count": {"op": "in", "value": [1]}, "within_days": 3}),
        "match.all[0].count.op",
        "'in' is not one of eq, ne, gt, gte, lt, lte, between",
    ),
    (
        "unknown where key",
        _wrap({"event": "Product Viewed", "where": {"brand": "x"}, "within_days": 3}),
        "match.all[0].where.brand",
        "unknown field; expected one of ['category_prefix']",
    ),
    (
        "bad attribute name",
        _wrap({"attribute": "a.b", "op": "eq", "value": 1}),
        "match.all[0].attribute",
        "an attribute name is letters, digits and underscores",
    ),
]


@pytest.mark.parametrize(("raw", "path", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_invalid_definitions_name_the_bad_path(raw, path, message):
    """Each bad part is refused with its JSON path and a plain message."""
    with pytest.raises(DefinitionError) as caught:
        rules.validate(raw)
    assert (caught.value.path, caught.value.message) == (path, message)


def test_valid_definition_becomes_a_frozen_tree():
    """Values are parsed: dates, decimals, tuples; defaults filled for a behaviour."""
    definition = rules.validate(
        _wrap(
            {"profile": "birthday", "op": "between", "value": ["1990-01-01", "1999-12-31"]},
            {"figure": "revenue", "op": "gte", "value": "99.5"},
            {"not": {"page": "", "within_days": 7}},
        )
    )
    assert definition == rules.Definition(
        version=1,
        match=rules.All(
            (
                rules.Profile("birthday", "between", (dt.date(1990, 1, 1), dt.date(1999, 12, 31))),
                rules.Figure("revenue", "gte", Decimal("99.5")),
                rules.Not(rules.Behaviour("page", "", 7, "gte", 1, None)),
            )
        ),
    )


def test_evaluate_over_plain_facts():
    """The predicate needs no database: unknown values match only is_not_set."""
    definition = rules.validate(
        _wrap(
            {"profile": "province", "op": "ne", "value": "广东"},
            {"figure": "days_since_last_order", "op": "gte", "value": 60},
            {"event": "Product Viewed", "where": {"category_prefix": "家电"}, "within_days": 30},
        )
    )
    facts = rules.CustomerFacts(
        customer_id=1,
        profile={"province": "北京"},
        figures={"last_order_at": NOW - dt.timedelta(days=60)},
        events=(rules.EventFact("track", "Product Viewed", "家电/电视", NOW),),
    )
    blank = rules.CustomerFacts(customer_id=2, profile={"province": ""})
    assert [rules.evaluate(definition, f, NOW) for f in (facts, blank)] == [True, False]


SCORES = {
    "p_alive": rules.FieldSpec("number", "P(alive)"),
    "rfm_group": rules.FieldSpec("text", "RFM group", ("champions", "loyal")),
}


def test_published_fields_are_checked_against_their_registry():
    """A score condition is typed by the registry; choices refuse other values."""
    ok = rules.validate(_wrap({"score": "p_alive", "op": "gte", "value": 0.5}), {"score": SCORES})
    assert ok.match.children[0] == rules.Registered(
        "score", "p_alive", rules.NUMBER, "gte", Decimal("0.5")
    )
    with pytest.raises(rules.DefinitionError) as caught:
        rules.validate(_wrap({"score": "rfm_group", "op": "eq", "value": "vip"}), {"score": SCORES})
    assert (caught.value.path, caught.value.message) == (
        "match.all[0].value",
        "'vip' is not one of champions, loyal",
    )


def test_a_registry_field_named_by_a_list_is_unknown():
    """Looking an unhashable name up in the registry raised TypeError: a 500 at the API."""
    with pytest.raises(rules.DefinitionError) as caught:
        rules.validate(_wrap({"score": ["p_alive"], "op": "gte", "value": 1}), {"score": SCORES})
    assert (caught.value.path, caught.value.message) == (
        "match.all[0].score",
        "unknown score field ['p_alive']; known: p_alive, rfm_group",
    )


def test_an_absent_registry_is_a_clear_error():
    with pytest.raises(rules.DefinitionError) as caught:
        rules.validate(_wrap({"loyalty": "tier", "op": "eq", "value": "gold"}))
    assert (caught.value.path, caught.value.message) == (
        "match.all[0].loyalty",
        "no loyalty tier and points are available in this installation",
    )


def test_dependencies_say_what_a_definition_reads():
    definition = rules.validate(
        _wrap(
            {"profile": "city", "op": "eq", "value": "深圳"},
            {"not": {"figure": "days_since_last_seen", "op": "lt", "value": 7}},
            {"event": "Product Viewed", "within_days": 30},
            {"page": "", "within_days": 90},
        )
    )
    needs = rules.dependencies(definition)
    assert (needs.reads, needs.ages, needs.window_days, needs.event_kinds) == (
        frozenset({"profile", "seen", "events"}),
        True,
        90,
        frozenset({("track", "Product Viewed"), ("page", "")}),
    )
