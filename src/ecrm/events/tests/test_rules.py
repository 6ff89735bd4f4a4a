"""Validation and normalisation of Segment messages: pure functions, no database."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.events import ecommerce, rules
from ecrm.events.rules import InvalidMessage

NOW = dt.datetime(2026, 11, 11, 12, 0, tzinfo=dt.UTC)


def parse(raw, kind=None, **kw):
    return rules.parse_message(raw, kind or raw["type"], received_at=NOW, currency="CNY", **kw)


def error_of(fn, *args, **kw) -> tuple[str, str]:
    with pytest.raises(InvalidMessage) as info:
        fn(*args, **kw)
    return info.value.field, info.value.message


def test_track_is_normalised_with_context_fields():
    """A track keeps its event name and properties; channel, page and agent come from context."""
    m = parse(
        {
            "type": "track",
            "anonymousId": "a-1",
            "userId": 42,
            "event": "<b>Signed Up</b>'; DROP TABLE x;--",
            "messageId": "m-1",
            "timestamp": "2026-11-11T11:00:00Z",
            "properties": {"plan": "gold"},
            "context": {
                "library": {"name": "analytics.js"},
                "page": {"url": "https://shop.example/a", "referrer": "https://baidu.com/"},
                "userAgent": "Mozilla/5.0",
            },
        }
    )
    assert (m.type, m.message_id, m.generated_id, m.anonymous_id, m.user_id) == (
        "track", "m-1", False, "a-1", "42",
    )  # fmt: skip
    assert m.name == "<b>Signed Up</b>'; DROP TABLE x;--"
    assert (m.channel, m.page_url, m.referrer, m.user_agent) == (
        "web", "https://shop.example/a", "https://baidu.com/", "Mozilla/5.0",
    )  # fmt: skip
    assert m.timestamp == dt.datetime(2026, 11, 11, 11, 0, tzinfo=dt.UTC)
    assert [(c.kind, c.value) for c in m.claims] == [("anonymous_id", "a-1"), ("user_id", "42")]
    assert m.commerce is None


def test_missing_message_id_is_generated():
    """A message without messageId gets a fresh one and is marked as generated."""
    m = parse({"type": "page", "anonymousId": "a"})
    assert (m.message_id.startswith("ecrm-"), len(m.message_id), m.generated_id) == (
        True, 37, True,
    )  # fmt: skip


def test_timestamp_is_corrected_for_clock_skew():
    """timestamp = receivedAt - (sentAt - timestamp): a device 1 h fast lands at the true time."""
    m = parse(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "2026-11-11T12:30:00+00:00",
            "sentAt": "2026-11-11T13:00:00+00:00",
        }
    )
    assert m.timestamp == dt.datetime(2026, 11, 11, 11, 30, tzinfo=dt.UTC)
    assert m.sent_at == dt.datetime(2026, 11, 11, 13, 0, tzinfo=dt.UTC)


def test_batch_sent_at_applies_to_every_message():
    """The batch's sentAt corrects each message that has none of its own."""
    body = {
        "sentAt": "2026-11-11T14:00:00Z",
        "batch": [
            {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-11-11T13:00:00Z"}
        ],
    }
    (m,) = rules.batch_messages(body, received_at=NOW, currency="CNY")
    assert m.timestamp == dt.datetime(2026, 11, 11, 11, 0, tzinfo=dt.UTC)


def test_skewed_device_in_the_future_is_accepted_after_correction():
    """A clock two days ahead is fine when sentAt shows the same skew."""
    m = parse(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "2026-11-13T11:59:00Z",
            "sentAt": "2026-11-13T12:00:00Z",
        }
    )
    assert m.timestamp == dt.datetime(2026, 11, 11, 11, 59, tzinfo=dt.UTC)


def test_timestamp_more_than_a_day_ahead_is_refused():
    raw = {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-11-12T12:00:01Z"}
    assert error_of(parse, raw) == ("timestamp", "is more than 24 hours in the future")


def test_timestamp_just_under_a_day_ahead_is_accepted():
    m = parse({"type": "track", "userId": "u", "event": "E", "timestamp": "2026-11-12T12:00:00Z"})
    assert m.timestamp == dt.datetime(2026, 11, 12, 12, 0, tzinfo=dt.UTC)


def test_message_without_time_happened_on_receipt():
    assert parse({"type": "page", "anonymousId": "a"}).timestamp == NOW


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"type": "track", "event": "E"}, "userId"),
        ({"type": "track", "userId": "", "anonymousId": None, "event": "E"}, "userId"),
        ({"type": "track", "userId": True, "event": "E"}, "userId"),
        ({"type": "track", "userId": {"id": 1}, "event": "E"}, "userId"),
        ({"type": "track", "anonymousId": "x" * 101, "event": "E"}, "anonymousId"),
        ({"type": "track", "userId": "u"}, "event"),
        ({"type": "track", "userId": "u", "event": 5}, "event"),
        ({"type": "track", "userId": "u", "event": "E" * 201}, "event"),
        ({"type": "track", "userId": "u", "event": "E", "properties": []}, "properties"),
        ({"type": "track", "userId": "u", "event": "E", "context": "web"}, "context"),
        ({"type": "track", "userId": "u", "event": "E", "timestamp": "yesterday"}, "timestamp"),
        ({"type": "track", "userId": "u", "event": "E", "timestamp": 1700000000}, "timestamp"),
        ({"type": "track", "userId": "u", "event": "E", "sentAt": "soon"}, "sentAt"),
        ({"type": "track", "userId": "u", "event": "E", "messageId": 1.5}, "messageId"),
        ({"type": "alias", "userId": "u"}, "previousId"),
        ({"type": "alias", "anonymousId": "a", "previousId": "p"}, "userId"),
        ({"type": "group", "userId": "u"}, "groupId"),
        ({"type": "identify", "userId": "u", "traits": {"email": "not-an-email"}}, "traits.email"),
        ({"type": "identify", "userId": "u", "traits": {"phone": "12"}}, "traits.phone"),
        ({"type": "identify", "userId": "u", "traits": {"mobile": "abc"}}, "traits.mobile"),
        ({"type": "identify", "userId": "u", "traits": {"gender": "robot"}}, "traits.gender"),
        ({"type": "identify", "userId": "u", "traits": {"birthday": "May"}}, "traits.birthday"),
        ({"type": "identify", "userId": "u", "traits": {"createdAt": "x"}}, "traits.createdAt"),
        ({"type": "identify", "userId": "u", "traits": {"firstName": 3}}, "traits.firstName"),
        ({"type": "identify", "userId": "u", "traits": "gold"}, "traits"),
        (
            {"type": "identify", "userId": "u", "context": {"externalIds": [{"id": "1"}]}},
            "context.externalIds[0].type",
        ),
        (
            {"type": "identify", "userId": "u", "context": {"externalIds": [{"type": "crm"}]}},
            "context.externalIds[0].id",
        ),
        (
            {"type": "track", "userId": "u", "event": "Order Completed", "properties": {}},
            "properties.order_id",
        ),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "Order Completed",
                "properties": {"order_id": "1", "products": [{"price": "abc"}]},
            },
            "properties.products[0].price",
        ),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "Order Completed",
                "properties": {"order_id": "1", "products": [{"price": 5e12, "quantity": 2}]},
            },
            "properties.products[0].price",
        ),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "Order Completed",
                "properties": {"order_id": "1", "products": [{"price": 6e12}, {"price": 6e12}]},
            },
            "properties.products",
        ),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "Order Refunded",
                "properties": {"order_id": "1", "shipping": 9e12, "tax": 9e12},
            },
            "properties.total",
        ),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "Order Completed",
                "properties": {"order_id": "1", "currency": "yuan"},
            },
            "properties.currency",
        ),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "Product Viewed",
                "properties": {"price": True},
            },
            "properties.price",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_field(raw, field):
    assert error_of(parse, raw)[0] == field


def test_batch_errors_name_the_item():
    """Errors inside a batch are prefixed with the item's index."""
    body = {
        "batch": [
            {"type": "page", "anonymousId": "a"},
            {"type": "track", "anonymousId": "a", "event": "E", "timestamp": "nope"},
        ]
    }
    assert error_of(rules.batch_messages, body, received_at=NOW, currency="CNY")[0] == (
        "batch[1].timestamp"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "batch"),
        ({"batch": {"type": "track"}}, "batch"),
        ({"batch": ["track"]}, "batch[0]"),
        ({"batch": [{"type": "purchase", "userId": "u"}]}, "batch[0].type"),
        ({"batch": [{"userId": "u"}]}, "batch[0].type"),
        ({"batch": [], "sentAt": 5}, "sentAt"),
        ({"batch": [], "context": []}, "context"),
    ],
)
def test_bad_batches_are_refused_naming_the_field(body, field):
    assert error_of(rules.batch_messages, body, received_at=NOW, currency="CNY")[0] == field


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "body"),
        (b"{", "body"),
        (b"[1, 2]", "body"),
        (b'{"batch": [NaN]}', "body"),
        (b'{"batch": [{"event": "a\\u0000b"}]}', "batch[0].event"),
        (b'{"name": "\\ud800"}', "name"),
    ],
)
def test_undecodable_bodies_are_refused(raw, field):
    assert error_of(rules.decode_body, raw)[0] == field


def test_body_with_paired_surrogates_decodes():
    assert rules.decode_body(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


def test_identify_splits_traits_into_claims_profile_and_attributes():
    """Profile fields go to the profile, identifiers to claims, everything else to attributes."""
    m = parse(
        {
            "type": "identify",
            "userId": "u-1",
            "anonymousId": "a-1",
            "traits": {
                "firstName": "伟",
                "lastName": "张",
                "email": "Wei@Example.com",
                "phone": "138 1234 5678",
                "gender": "male",
                "birthday": "1990-05-01",
                "createdAt": "2026-01-02T03:04:05Z",
                "address": {
                    "country": "China",
                    "state": "浙江",
                    "city": "杭州",
                    "street": "文一路",
                },
                "wechatOpenId": "o-abc",
                "plan": "gold",
            },
            "context": {"externalIds": [{"id": 77, "type": "erp", "collection": "users"}]},
        }
    )
    assert [(c.kind, c.namespace, c.value, c.verified) for c in m.claims] == [
        ("anonymous_id", "", "a-1", False),
        ("user_id", "", "u-1", False),
        ("email", "", "wei@example.com", True),
        ("phone", "", "+8613812345678", True),
        ("wechat_openid", "", "o-abc", False),
        ("external", "erp", "77", False),
    ]
    assert m.profile == {
        "name": "张伟",
        "email": "wei@example.com",
        "phone": "+8613812345678",
        "gender": "m",
        "birthday": dt.date(1990, 5, 1),
        "registered_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "country": "CN",
        "province": "浙江",
        "city": "杭州",
    }
    assert m.attributes == {"plan": "gold", "address": {"street": "文一路"}}


def test_email_of_an_anonymous_identify_is_not_verified():
    m = parse({"type": "identify", "anonymousId": "a", "traits": {"email": "x@example.com"}})
    assert [(c.kind, c.verified) for c in m.claims] == [("anonymous_id", False), ("email", False)]


def test_latin_names_join_first_then_last():
    m = parse(
        {"type": "identify", "userId": "u", "traits": {"firstName": "Ada", "lastName": "Lovelace"}}
    )
    assert m.profile == {"name": "Ada Lovelace"}


def test_unknown_country_name_stays_in_attributes():
    m = parse({"type": "identify", "userId": "u", "traits": {"address": {"country": "Atlantis"}}})
    assert (m.profile, m.attributes) == ({}, {"address": {"country": "Atlantis"}})


def test_group_traits_become_the_group_attribute():
    m = parse({"type": "group", "userId": "u", "groupId": 9, "traits": {"name": "ACME"}})
    assert (m.group_id, m.attributes, m.properties) == (
        "9", {"group": {"id": "9", "name": "ACME"}}, {"groupId": "9", "traits": {"name": "ACME"}},
    )  # fmt: skip


def test_alias_previous_id_kind_depends_on_known_users():
    m = parse({"type": "alias", "userId": "new", "previousId": "old"})
    as_user = [(c.kind, c.value) for c in rules.alias_claims(m, previous_is_user=True)]
    as_anon = [(c.kind, c.value) for c in rules.alias_claims(m, previous_is_user=False)]
    assert as_user == [("user_id", "new"), ("user_id", "old")]
    assert as_anon == [("user_id", "new"), ("anonymous_id", "old")]


def test_page_category_and_url_from_properties():
    m = parse(
        {
            "type": "page",
            "anonymousId": "a",
            "name": "Shoes",
            "category": "Catalog",
            "properties": {"url": "https://shop.example/shoes", "referrer": "https://x.cn"},
        }
    )
    assert (m.name, m.properties["category"], m.page_url, m.referrer) == (
        "Shoes", "Catalog", "https://shop.example/shoes", "https://x.cn",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("context", "channel"),
    [
        ({"channel": "miniprogram", "library": {"name": "analytics.js"}}, "miniprogram"),
        ({"library": {"name": "analytics-python"}}, "server"),
        ({"library": {"name": "analytics-ios"}}, "mobile"),
        ({"library": {"name": "my-own-sdk-with-a-long-name"}}, "my-own-sdk-with-a-lo"),
        ({}, ""),
    ],
)
def test_channel_of(context, channel):
    assert rules.channel_of(context) == channel


def test_order_completed_reads_lines_and_money_exactly():
    c = ecommerce.parse(
        "Order Completed",
        {
            "order_id": 50314,
            "affiliation": "天猫旗舰店",
            "total": 45.98,
            "discount": "5",
            "shipping": 10,
            "tax": 1.99,
            "coupon": "DOUBLE11",
            "currency": "usd",
            "products": [
                {"product_id": "p-1", "sku": "S1", "name": "杯子", "price": 19.99, "quantity": 2},
                {"sku": "S2", "name": "勺子", "price": "0.1", "category": "厨房/餐具"},
            ],
        },
        currency="CNY",
    )
    assert (c.order_id, c.currency, c.total, c.discount, c.shipping, c.tax, c.coupon, c.store) == (
        "50314", "USD", Decimal("45.98"), Decimal("5"), Decimal("10"), Decimal("1.99"),
        "DOUBLE11", "天猫旗舰店",
    )  # fmt: skip
    assert [(x.sku, x.quantity, x.unit_price, x.line_amount) for x in c.lines] == [
        ("p-1", Decimal("2"), Decimal("19.99"), Decimal("39.98")),
        ("S2", Decimal("1"), Decimal("0.1"), Decimal("0.1")),
    ]
    assert [(p.sku, p.category) for p in c.products] == [("p-1", ""), ("S2", "厨房/餐具")]


@pytest.mark.parametrize(
    ("properties", "total"),
    [
        ({"total": 100}, Decimal("100")),
        ({"revenue": 90, "shipping": 8, "tax": 2}, Decimal("100")),
        # The spec's subtotal is after discounts: the discount is not taken off again.
        ({"subtotal": 90, "discount": 5, "shipping": 8, "tax": 2}, Decimal("100")),
        ({"products": [{"sku": "a", "price": 50, "quantity": 2}]}, None),
    ],
)
def test_order_total_precedence(properties, total):
    """total, else revenue + shipping + tax, else subtotal + shipping + tax (revenue and
    subtotal are both "after discounts but before taxes and shipping" in the spec)."""
    assert (
        ecommerce.parse("Order Completed", {"order_id": "1", **properties}, currency="CNY").total
        == total
    )


def test_products_searched_is_an_event_only():
    c = ecommerce.parse("Products Searched", {"query": "冰箱"}, currency="CNY")
    assert c is None


def test_cart_viewed_lists_its_products():
    c = ecommerce.parse(
        "Cart Viewed",
        {"products": [{"product_id": "a", "brand": "海尔", "price": 1999}, {"name": "no key"}]},
        currency="CNY",
    )
    assert [(p.sku, p.brand, p.price) for p in c.products] == [("a", "海尔", Decimal("1999"))]
