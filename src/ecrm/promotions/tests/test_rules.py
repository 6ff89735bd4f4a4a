"""Campaign definitions, discounts and refusals, self-referral: pure, no database."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.promotions import rules

NOW = dt.datetime(2026, 11, 11, 12, 0, tzinfo=dt.UTC)


def _campaign(**overrides):
    raw = {
        "discount": {"kind": "percent", "value": "10", "max_discount": "30"},
        "min_spend": "100",
        "currency": "CNY",
    }
    raw.update(overrides)
    return rules.validate_campaign(raw)


def _usage(**overrides):
    base = dict(
        campaign_status="active",
        campaign_uses=0,
        campaign_spent=Decimal(0),
        code_uses=0,
        code_max_uses=None,
        code_customer_id=None,
        code_expires_at=None,
        code_void=False,
        customer_uses=0,
    )
    base.update(overrides)
    return rules.Usage(**base)


def _cart(subtotal="200.00", shipping="12.00", currency="CNY", customer_id=7):
    return rules.Cart(customer_id, currency, Decimal(subtotal), Decimal(shipping))


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"discount": {"kind": "half", "value": "1"}, "currency": "CNY"}, "discount.kind"),
        ({"discount": {"kind": "percent", "value": "120"}, "currency": "CNY"}, "discount.value"),
        ({"discount": {"kind": "fixed", "value": "-5"}, "currency": "CNY"}, "discount.value"),
        ({"discount": {"kind": "fixed", "value": "5.001"}, "currency": "CNY"}, "discount.value"),
        ({"discount": {"kind": "fixed"}, "currency": "CNY"}, "discount.value"),
        ({"discount": {"kind": "fixed", "value": "5"}, "currency": "rmb"}, "currency"),
        (
            {"discount": {"kind": "fixed", "value": "50"}, "min_spend": "30", "currency": "CNY"},
            "discount.value",
        ),
        (
            {"discount": {"kind": "fixed", "value": "5"}, "currency": "CNY", "limit_total": 0},
            "limit_total",
        ),
        (
            {"discount": {"kind": "fixed", "value": "5"}, "currency": "CNY", "colour": "red"},
            "colour",
        ),
        (
            {
                "discount": {"kind": "fixed", "value": "5"},
                "currency": "CNY",
                "starts_at": "2026-11-12T00:00:00+08:00",
                "ends_at": "2026-11-11T00:00:00+08:00",
            },
            "ends_at",
        ),
        (
            {
                "discount": {"kind": "fixed", "value": "5"},
                "currency": "CNY",
                "ends_at": "2026-11-12",
            },
            "ends_at",
        ),
        (
            {"discount": {"kind": "fixed", "value": "5"}, "currency": "CNY", "uses_per_code": 2},
            "uses_per_code",
        ),
        (
            {
                "discount": {"kind": "fixed", "value": "5"},
                "currency": "CNY",
                "target": {"tiers": [""]},
            },
            "target.tiers",
        ),
    ],
)
def test_bad_definitions_name_their_path(raw, path):
    with pytest.raises(rules.DefinitionError) as caught:
        rules.validate_campaign(raw)
    assert caught.value.field == path


def test_a_definition_round_trips_through_json():
    terms = _campaign(codes="unique", limit_total=100, budget="500", valid_days=30)
    assert terms.uses_per_code == 1
    assert rules.validate_campaign(terms.as_json()) == terms


def test_percent_discount_is_rounded_and_capped():
    terms = _campaign()
    assert rules.discount_for(terms, _cart("123.45")) == Decimal("12.35")
    assert rules.discount_for(terms, _cart("999.00")) == Decimal("30.00")


def test_fixed_discount_never_exceeds_the_cart_and_free_shipping_takes_the_shipping():
    fixed = rules.validate_campaign(
        {"discount": {"kind": "fixed", "value": "50"}, "currency": "CNY"}
    )
    assert rules.discount_for(fixed, _cart("30.00")) == Decimal("30.00")
    shipping = rules.validate_campaign({"discount": {"kind": "free_shipping"}, "currency": "CNY"})
    assert rules.discount_for(shipping, _cart("30.00", shipping="12.00")) == Decimal("12.00")


@pytest.mark.parametrize(
    ("usage", "cart", "reason"),
    [
        (dict(campaign_status="paused"), {}, "inactive"),
        (dict(code_void=True), {}, "void"),
        (dict(code_expires_at=NOW), {}, "expired"),
        (dict(code_customer_id=8), {}, "not_for_customer"),
        (dict(in_segments=False), {}, "not_targeted"),
        (dict(tier_ok=False), {}, "not_targeted"),
        ({}, {"currency": "USD"}, "currency"),
        ({}, {"subtotal": "99.99"}, "min_spend"),
        (dict(code_uses=1, code_max_uses=1), {}, "code_used_up"),
        (dict(campaign_uses=5), {}, "limit_total"),
        (dict(customer_uses=2), {}, "limit_per_customer"),
        (dict(campaign_spent=Decimal("990.01")), {}, "budget"),
        ({}, {}, ""),
    ],
)
def test_each_refusal_has_its_reason(usage, cart, reason):
    terms = _campaign(limit_total=5, limit_per_customer=2, budget="1010")
    decision = rules.decide(terms, _usage(**usage), _cart(**cart), NOW)
    assert decision.reason == reason
    assert decision.discount == (Decimal(0) if reason else Decimal("20.00"))


def test_validity_window_is_half_open():
    terms = _campaign(starts_at="2026-11-11T12:00:00+00:00", ends_at="2026-11-12T00:00:00+00:00")
    before = NOW - dt.timedelta(seconds=1)
    end = dt.datetime(2026, 11, 12, tzinfo=dt.UTC)
    assert rules.decide(terms, _usage(), _cart(), before).reason == "not_started"
    assert rules.decide(terms, _usage(), _cart(), NOW).reason == ""
    assert rules.decide(terms, _usage(), _cart(), end).reason == "expired"


def test_new_customers_only():
    terms = _campaign(target={"new_customers_only": True})
    assert rules.decide(terms, _usage(is_new_customer=False), _cart(), NOW).reason == (
        "new_customers_only"
    )


def test_issued_coupons_expire_after_valid_days_but_not_after_the_campaign():
    terms = _campaign(valid_days=30, ends_at="2026-11-20T00:00:00+00:00")
    assert rules.expiry_for(terms, NOW) == dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    long = _campaign(valid_days=3)
    assert rules.expiry_for(long, NOW) == NOW + dt.timedelta(days=3)


def test_codes_are_cleaned_and_generated_from_an_unambiguous_alphabet():
    assert rules.clean_code(" double11 ") == "DOUBLE11"
    with pytest.raises(rules.DefinitionError):
        rules.clean_code("双十一")
    code = rules.generate_code("VIP", 10)
    assert code.startswith("VIP") and len(code) == 13
    assert not set(code[3:]) & set("01OIL")


@pytest.mark.parametrize(
    ("referee", "others", "reason"),
    [
        (rules.Person(1), (), "self"),
        (rules.Person(2, phone="+8613812345678"), (), "same_phone"),
        (rules.Person(2, email="Li@Example.com"), (), "same_email"),
        (rules.Person(2, anonymous_ids=frozenset({"anon-1"})), (), "same_device"),
        (rules.Person(2, device_ids=frozenset({"dev-1"})), (), "same_device"),
        (rules.Person(2, device_ids=frozenset({"dev-9"})), ("dev-9",), "device_reused"),
        (rules.Person(2, phone="+8613900000000", device_ids=frozenset({"dev-2"})), (), ""),
    ],
)
def test_self_referral_guards(referee, others, reason):
    referrer = rules.Person(
        1,
        phone="+8613812345678",
        email="li@example.com",
        anonymous_ids=frozenset({"anon-1"}),
        device_ids=frozenset({"dev-1"}),
    )
    assert rules.self_referral(referrer, referee, frozenset(others)) == reason


def test_programme_validation_and_landing_address():
    with pytest.raises(rules.DefinitionError) as caught:
        rules.validate_programme({**rules.DEFAULT_PROGRAMME, "qualifying_statuses": ["lost"]})
    assert caught.value.field == "qualifying_statuses"
    with pytest.raises(rules.DefinitionError) as caught:
        rules.validate_programme({**rules.DEFAULT_PROGRAMME, "landing_url": "javascript:x"})
    assert caught.value.field == "landing_url"
    assert rules.landing_address("https://shop.cn/?a=1#top", "ABC") == (
        "https://shop.cn/?a=1&ref=ABC#top"
    )
    assert rules.landing_address("/", "ABC") == "/?ref=ABC"
