"""Rules as data, without a database: validation naming the field, the evaluation order,
festivals, tiers with grace, the checkout quote and the rules read as a marketer says them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from ecrm.loyalty import rules

SETTINGS = rules.validate_settings(
    {
        "festivals": [
            {"code": "double11", "name": "双十一", "days": ["11-11"]},
            {"code": "spring", "name": "春节", "days": ["2025-01-29..2025-02-04"]},
        ]
    }
)
MEMBER = rules.MemberFact(
    customer_id=1,
    tier="gold",
    joined=dt.date(2021, 6, 1),
    birthday_month=11,
    tier_multiplier=Decimal("1.5"),
    tier_name="金卡",
)


def rule(rule_id, definition, name=""):
    return rules.validate_rule({"version": 1, **definition}, rule_id=rule_id, name=name)


def occasion(day, amount="100", nth=None):
    return rules.Occasion(
        event="order_completed",
        ref="1",
        day=day,
        currency="CNY",
        amount=rules.money_units(Decimal(amount)),
        nth=nth or {},
    )


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        (
            {"event": "order_completed", "award": {"type": "fixed", "points": 5}, "colour": 1},
            "colour",
        ),
        ({"event": "order_completed", "award": {"type": "fixed", "points": "5"}}, "award.points"),
        (
            {
                "event": "daily_sign_in",
                "when": {"brands": ["华为"]},
                "award": {"type": "fixed", "points": 5},
            },
            "when.brands",
        ),
        (
            {
                "event": "order_completed",
                "when": {"dates": ["2025-02-30"]},
                "award": {"type": "fixed", "points": 5},
            },
            "when.dates[0]",
        ),
        (
            {
                "event": "order_completed",
                "when": {"weekdays": [8]},
                "award": {"type": "fixed", "points": 5},
            },
            "when.weekdays[0]",
        ),
        (
            {
                "event": "order_completed",
                "award": {"type": "per_amount", "points": 1, "basis": "matching_lines"},
            },
            "award.basis",
        ),
        (
            {
                "event": "order_completed",
                "when": {"amount": {"min": 10, "max": 5}},
                "award": {"type": "fixed", "points": 5},
            },
            "when.amount.max",
        ),
        ({"event": "party", "award": {"type": "fixed", "points": 5}}, "event"),
        (
            {
                "event": "order_completed",
                "when": {"amount": {"min": "1e400"}},
                "award": {"type": "fixed", "points": 5},
            },
            "when.amount.min",
        ),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(definition, field):
    with pytest.raises(rules.LoyaltyError) as refused:
        rules.validate_rule({"version": 1, **definition})
    assert refused.value.field == field


def test_same_priority_in_one_group_overlaps_unless_they_cannot_both_fire():
    a = rule(
        1,
        {
            "event": "order_completed",
            "award": {"type": "fixed", "points": 1},
            "group": "g",
            "priority": 3,
        },
        "A",
    )
    b = rule(
        2,
        {
            "event": "order_completed",
            "award": {"type": "fixed", "points": 2},
            "group": "g",
            "priority": 3,
        },
        "B",
    )
    with pytest.raises(rules.LoyaltyError) as refused:
        rules.check_rule_set([a, b])
    assert refused.value.field == "priority"
    weekend = rule(
        3,
        {
            "event": "order_completed",
            "when": {"weekdays": [6, 7]},
            "award": {"type": "fixed", "points": 2},
            "group": "g",
            "priority": 3,
        },
    )
    weekday = rule(
        4,
        {
            "event": "order_completed",
            "when": {"weekdays": [1, 2]},
            "award": {"type": "fixed", "points": 2},
            "group": "g",
            "priority": 3,
        },
    )
    rules.check_rule_set([weekend, weekday])


def test_multipliers_apply_after_the_points_and_the_tier_last():
    base = rule(1, {"event": "order_completed", "award": {"type": "per_amount", "points": 1}})
    bonus = rule(2, {"event": "order_completed", "award": {"type": "fixed", "points": 50}})
    double = rule(
        3,
        {
            "event": "order_completed",
            "when": {"festivals": ["double11"]},
            "award": {"type": "multiplier", "factor": 2},
            "priority": 9,
        },
    )
    ev = rules.evaluate(
        [base, bonus, double], MEMBER, occasion(dt.date(2025, 11, 11), "199.99"), SETTINGS
    )
    # 199 spend points, ×2 → +199, fixed 50 is not multiplied, gold ×1.5 on 398 → +199.
    assert [(o.rule.id, o.points) for o in ev.outcomes] == [(3, 199), (1, 199), (2, 50)]
    assert (ev.tier_bonus, ev.points) == (199, 199 + 199 + 50 + 199)


def test_exclusive_and_groups_decide_what_applies():
    big = rule(
        1,
        {
            "event": "order_completed",
            "when": {"amount": {"min": 500}},
            "award": {"type": "fixed", "points": 300},
            "exclusive": True,
            "priority": 9,
        },
    )
    small = rule(2, {"event": "order_completed", "award": {"type": "fixed", "points": 10}})
    member = rules.MemberFact(customer_id=1)
    ev = rules.evaluate([big, small], member, occasion(dt.date(2025, 3, 3), "800"), SETTINGS)
    assert [(o.rule.id, o.applied, o.points) for o in ev.outcomes] == [
        (1, True, 300),
        (2, False, 0),
    ]
    ev = rules.evaluate([big, small], member, occasion(dt.date(2025, 3, 3), "80"), SETTINGS)
    assert ev.points == 10


def test_caps_count_per_member_and_period():
    sign_in = rule(
        7,
        {
            "event": "order_completed",
            "award": {"type": "fixed", "points": 5},
            "cap": {"points": 12, "period": "month"},
        },
    )
    member = rules.MemberFact(customer_id=1)
    used: dict = {}
    got = [
        rules.evaluate([sign_in], member, occasion(dt.date(2025, 3, d)), SETTINGS, used).points
        for d in (1, 2, 3, 4)
    ]
    got.append(
        rules.evaluate([sign_in], member, occasion(dt.date(2025, 4, 1)), SETTINGS, used).points
    )
    assert got == [5, 5, 2, 0, 5]


def test_festivals_cover_yearly_days_and_one_off_ranges():
    double11, spring = SETTINGS.festivals
    assert [double11.covers(dt.date(y, 11, 11)) for y in (2024, 2025)] == [True, True]
    assert spring.covers(dt.date(2025, 2, 4)) is True
    assert spring.covers(dt.date(2026, 2, 4)) is False


def test_tiers_upgrade_at_once_and_downgrade_after_grace():
    tiers = rules.validate_tiers(
        [{"code": "a", "name": "A", "threshold": 0}, {"code": "b", "name": "B", "threshold": 100}]
    )
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    up = rules.decide_tier(tiers, "a", None, Decimal(150), now, 30)
    assert (up.tier, up.changed) == ("b", True)
    below = rules.decide_tier(tiers, "b", None, Decimal(10), now, 30)
    assert (below.tier, below.below_since, below.changed) == ("b", now, False)
    later = now + dt.timedelta(days=30)
    assert rules.decide_tier(tiers, "b", now, Decimal(10), later, 30).tier == "a"
    with pytest.raises(rules.LoyaltyError) as refused:
        rules.validate_tiers([{"code": "a", "name": "A", "threshold": 5}])
    assert refused.value.field == "tiers[0].threshold"
    # Found by schemathesis-style probing: these were saved, and every later read of the
    # programme failed (the columns hold 18 and 6 digits).
    base = {"code": "a", "name": "A", "threshold": 0}
    for tier, field, message in (
        ({"threshold": "1e30"}, "tiers[1].threshold", "must be at most 1000000000000"),
        ({"threshold": 1, "multiplier": "1e9"}, "tiers[1].multiplier", "must be at most 100"),
    ):
        with pytest.raises(rules.LoyaltyError) as refused:
            rules.validate_tiers([base, {"code": "b", "name": "B", **tier}])
        with translation.override("en"):
            assert (refused.value.field, str(refused.value)) == (field, f"{field}: {message}")


@pytest.mark.parametrize("per", [0, "0.001", -1])
def test_points_per_amount_are_per_a_cent_at_least(per):
    with pytest.raises(rules.LoyaltyError) as refused:
        rule(
            1,
            {"event": "order_completed", "award": {"type": "per_amount", "points": 1, "per": per}},
        )
    assert str(refused.value) == "award.per: must be at least 0.01"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_ladder_keeps_at_least_one_tier(language):
    """Every member holds a tier: an empty ladder was saved and left them none."""
    with pytest.raises(rules.LoyaltyError) as refused:
        rules.validate_tiers([])
    with translation.override(language):
        text = refused.value.text.localized()
    assert (refused.value.field, text) == {
        "en": ("tiers", "tiers: keep at least one tier: every member holds one"),
        "zh-hans": ("tiers", "tiers: 至少保留一个等级：每位会员都属于一个等级"),
    }[language]


def test_the_quote_respects_share_balance_and_minimum():
    s = rules.validate_settings(
        {"point_value": "0.01", "max_redeem_percent": 50, "min_redeem_points": 100}
    )
    assert rules.quote(10_000, Decimal("30"), s).points == 1_500
    assert rules.quote(800, Decimal("30"), s, wanted=300).value == Decimal("3.00")
    assert rules.quote(99, Decimal("30"), s).max_points == 0


def test_a_rule_reads_as_a_marketer_would_say_it():
    r = rule(
        1,
        {
            "event": "order_completed",
            "when": {"festivals": ["double11"], "tiers": ["gold"]},
            "award": {"type": "multiplier", "factor": 2},
            "cap": {"points": 2000, "period": "month"},
        },
        "双十一",
    )
    with translation.override("en"):
        assert rules.describe_rule(r, SETTINGS, {"gold": "金卡"}) == (
            "When an order is completed during 双十一 for 金卡 members: multiply the points by 2; "
            "at most 2000 points per member per month."
        )
    with translation.override("zh-hans"):
        assert rules.describe_rule(r, SETTINGS, {"gold": "金卡"}) == (
            "当订单完成时 在双十一期间 限 金卡 会员:积分乘以 2；每位会员每月最多 2000 分。"
        )


@pytest.mark.parametrize(
    ("amount", "refusal"),
    [
        ({"max": "-1e15"}, "when.amount.max: must be at least 0"),
        ({"min": "1e400"}, "when.amount.min: must be at most 9999999999999"),
    ],
)
def test_an_amount_beyond_what_money_fields_store_is_refused_with_the_ceiling(amount, refusal):
    """``1e400`` once reached ``Decimal.quantize`` and failed with InvalidOperation (a 500
    in the console's rule form)."""
    with pytest.raises(rules.LoyaltyError) as refused:
        rules.validate_rule(
            {
                "version": 1,
                "event": "order_completed",
                "when": {"amount": amount},
                "award": {"type": "fixed", "points": 5},
            }
        )
    assert str(refused.value) == refusal


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        ("abc", "amount: abc is not an amount"),
        ("NaN", "amount: NaN is not an amount"),
        ("Infinity", "amount: Infinity is not an amount"),
        ("1e999999", "amount: must be at most 9999999999999"),
        ("1e30", "amount: must be at most 9999999999999"),
        ("-1", "amount: must not be negative"),
    ],
)
def test_a_simulated_amount_is_a_finite_amount_a_money_field_stores(value, refusal):
    """``NaN``, ``Infinity`` and ``1e999999`` once reached ``money_units`` and failed with
    ValueError or OverflowError (a 500 in the simulator)."""
    with pytest.raises(rules.LoyaltyError) as refused:
        rules.order_amount(value, "amount")
    assert str(refused.value) == refusal


def test_a_simulated_amount_within_range_is_read_as_written():
    assert rules.order_amount("199.90", "amount") == Decimal("199.90")
    assert rules.order_amount(Decimal("9999999999999.9999"), "amount") == Decimal(
        "9999999999999.9999"
    )


@pytest.mark.parametrize("value", ["ZZ", "C1Y", "CNYY", "CYN", "元", "", None])
def test_a_simulated_currency_is_an_iso_code(value):
    with pytest.raises(rules.LoyaltyError) as refused:
        rules.currency_code(value, "currency")
    assert str(refused.value) == (
        f"currency: {value!r} is not an ISO 4217 currency code such as CNY"
    )


@pytest.mark.parametrize(
    ("value", "code"), [(" usd ", "USD"), ("rmb", "CNY"), ("人民币", "CNY"), ("DEM", "DEM")]
)
def test_a_simulated_currency_is_read_in_capitals(value, code):
    assert rules.currency_code(value, "currency") == code


@pytest.mark.parametrize(
    ("definition", "english", "chinese"),
    [
        (
            {"award": {"type": "per_amount", "points": 1, "per": 1}},
            "When an order is completed: earn 1 point per 1 spent.",
            "当订单完成时:每消费 1 得 1 分。",
        ),
        (
            {"award": {"type": "per_amount", "points": 2, "per": 10}},
            "When an order is completed: earn 2 points per 10 spent.",
            "当订单完成时:每消费 10 得 2 分。",
        ),
        (
            {
                "when": {"tenure_years": {"min": 3}},
                "award": {"type": "fixed", "points": 1},
                "cap": {"points": 1, "period": "month"},
            },
            "When an order is completed by members of at least 3 years: earn 1 point; "
            "at most 1 point per member per month.",
            "当订单完成时 限入会满 3 年的会员:得 1 分；每位会员每月最多 1 分。",
        ),
        (
            {"when": {"tenure_years": {"min": 1}}, "award": {"type": "fixed", "points": 5}},
            "When an order is completed by members of at least 1 year: earn 5 points.",
            "当订单完成时 限入会满 1 年的会员:得 5 分。",
        ),
        (
            {"when": {"tenure_years": {"max": 1}}, "award": {"type": "fixed", "points": 5}},
            "When an order is completed by members of at most 1 year: earn 5 points.",
            "当订单完成时 限入会不超过 1 年的会员:得 5 分。",
        ),
        (
            {
                "when": {"tenure_years": {"min": 1, "max": 3}},
                "award": {"type": "fixed", "points": 5},
                "cap": {"points": 100, "period": "year"},
            },
            "When an order is completed by members of 1–3 years: earn 5 points; "
            "at most 100 points per member per year.",
            "当订单完成时 限入会 1–3 年的会员:得 5 分；每位会员每年最多 100 分。",
        ),
    ],
)
def test_a_rule_reads_in_words_with_singulars_and_tenure(definition, english, chinese):
    """'earn 1 points' and 'When an order is completed members for at least 3 years' read
    as English now."""
    r = rule(1, {"event": "order_completed", **definition})
    with translation.override("en"):
        assert rules.describe_rule(r, SETTINGS, {}) == english
    with translation.override("zh-hans"):
        assert rules.describe_rule(r, SETTINGS, {}) == chinese
