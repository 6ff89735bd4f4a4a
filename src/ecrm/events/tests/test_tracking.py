"""The /v1 tracking endpoints against the real database: auth, limits, errors, identity."""

import datetime as dt
import gzip
import io
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from ecrm.core import audit
from ecrm.customers.models import Customer, Identity
from ecrm.events import api as events
from ecrm.events import keys
from ecrm.events.models import Event
from ecrm.figures import api as figures

pytestmark = pytest.mark.django_db

OK = {"success": True}


def stored() -> tuple[int, int]:
    return Event.objects.count(), Customer.objects.count()


def customer_of(user_id: str) -> Customer:
    return Customer.objects.get(identities__kind="user_id", identities__value=user_id)


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("identify", {"userId": "u1", "traits": {"name": "李娜"}}),
        ("track", {"userId": "u1", "event": "Signed Up"}),
        ("page", {"userId": "u1", "name": "Home"}),
        ("screen", {"userId": "u1", "name": "Cart"}),
        ("group", {"userId": "u1", "groupId": "g1"}),
        ("alias", {"userId": "u1", "previousId": "anon-9"}),
    ],
)
def test_each_endpoint_stores_its_message_type(tracker, endpoint, body):
    """POST /v1/<type> answers {"success": true} and stores one event of that type."""
    response = tracker.post(endpoint, {**body, "messageId": f"m-{endpoint}"})
    assert (response.status_code, response.json()) == (200, OK)
    event = Event.objects.get()
    assert (event.message_id, event.type, event.customer_id) == (
        f"m-{endpoint}", endpoint, customer_of("u1").pk,
    )  # fmt: skip


def test_event_row_keeps_context_times_and_write_key(tracker, write_key):
    response = tracker.batch(
        {
            "type": "page",
            "anonymousId": "a1",
            "name": "Product",
            "messageId": "m1",
            "timestamp": "2026-11-11T02:00:00Z",
            "sentAt": "2026-11-11T02:00:00Z",
            "properties": {"title": "冰箱"},
            "context": {
                "library": {"name": "analytics.js", "version": "4.0"},
                "page": {"url": "https://shop.example/p/1", "referrer": "https://www.baidu.com/"},
                "userAgent": "Mozilla/5.0 (iPhone)",
            },
        }
    )
    assert response.status_code == 200
    e = Event.objects.get()
    assert (e.name, e.channel, e.page_url, e.referrer, e.user_agent, e.properties, e.source) == (
        "Product", "web", "https://shop.example/p/1", "https://www.baidu.com/",
        "Mozilla/5.0 (iPhone)", {"title": "冰箱"}, "tracking",
    )  # fmt: skip
    assert e.write_key_id == keys.key_id_for(write_key)
    assert e.timestamp == e.received_at
    assert e.sent_at == dt.datetime(2026, 11, 11, 2, 0, tzinfo=dt.UTC)


# --- auth ---------------------------------------------------------------------------


def test_unknown_write_key_is_401(tracker):
    response = tracker.post("track", {"userId": "u", "event": "E"}, key="wk_nope")
    assert (response.status_code, response.json()["field"]) == (401, "writeKey")
    assert stored() == (0, 0)


def test_missing_write_key_is_401(client, db):
    response = client.post(
        "/v1/track", data={"userId": "u", "event": "E"}, content_type="application/json"
    )
    assert (response.status_code, response.json()["field"]) == (401, "writeKey")


def test_revoked_write_key_is_401(tracker):
    keys.revoke_write_key_named("web-shop", actor=audit.SYSTEM)
    response = tracker.post("track", {"userId": "u", "event": "E"})
    assert (response.status_code, response.json()["error"]) == (401, "unknown or revoked write key")


def test_write_key_in_the_body_is_accepted(client, write_key):
    """Like Segment, a body's writeKey authenticates when there is no Basic header."""
    body = {"writeKey": write_key, "batch": [{"type": "track", "userId": "u", "event": "E"}]}
    response = client.post("/v1/batch", data=body, content_type="application/json")
    assert (response.status_code, Event.objects.count()) == (200, 1)


def test_non_basic_authorization_is_401(client, write_key):
    response = client.post(
        "/v1/track",
        data={"userId": "u", "event": "E"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {write_key}",
    )
    assert (response.status_code, response.json()["field"]) == (401, "Authorization")


def test_get_is_405(client):
    response = client.get("/v1/batch")
    assert (response.status_code, response["Allow"]) == (405, "POST")


# --- size and encoding ----------------------------------------------------------------


def _padding_message(size: int) -> dict:
    return {"type": "track", "userId": "u", "event": "E", "properties": {"pad": "x" * size}}


def test_gzip_body_is_accepted(tracker):
    response = tracker.batch(
        {"type": "track", "userId": "u", "event": "Gzipped", "messageId": "g1"}, compress=True
    )
    assert (response.status_code, Event.objects.get().name) == (200, "Gzipped")


def test_payload_over_the_limit_is_413(tracker, settings):
    limit = settings.ECRM["MAX_EVENT_PAYLOAD"]
    response = tracker.batch(_padding_message(limit))
    assert (response.status_code, response.json()["field"]) == (413, "body")
    assert stored() == (0, 0)


def test_gzip_that_inflates_over_the_limit_is_413(tracker, settings):
    """A small compressed body that decompresses past the limit is refused too."""
    limit = settings.ECRM["MAX_EVENT_PAYLOAD"]
    body = json.dumps({"batch": [_padding_message(limit)]}).encode()
    assert len(gzip.compress(body)) < limit
    response = tracker.post("batch", body, compress=True)
    assert (response.status_code, response.json()["error"]) == (
        413, f"decompresses to more than {limit} bytes",
    )  # fmt: skip


def test_broken_gzip_is_400(client, tracker):
    response = client.post(
        "/v1/batch",
        data=b"not gzip at all",
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        **tracker.headers(),
    )
    assert (response.status_code, response.json()["field"]) == (400, "body")


def test_unsupported_encoding_is_415(client, tracker):
    response = client.post(
        "/v1/batch",
        data=b"{}",
        content_type="application/json",
        HTTP_CONTENT_ENCODING="br",
        **tracker.headers(),
    )
    assert (response.status_code, response.json()["field"]) == (415, "Content-Encoding")


# --- bad input -----------------------------------------------------------------------

FUTURE = "2999-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("batch", b"{not json", "body"),
        ("batch", b"", "body"),
        ("batch", b"[]", "body"),
        ("batch", b'{"batch": [{"type": "track", "userId": "u", "event": NaN}]}', "body"),
        ("identify", b'{"userId": "u", "traits": {"score": 1e999}}', "body"),
        ("track", b'{"userId": "u", "event": "E", "properties": {"v": -Infinity}}', "body"),
        ("batch", {"batch": "all of them"}, "batch"),
        ("batch", {"batch": [{"type": "purchase", "userId": "u"}]}, "batch[0].type"),
        ("batch", {"batch": [{"type": "track", "event": "E"}]}, "batch[0].userId"),
        ("batch", {"batch": [{"type": "track", "userId": "u"}]}, "batch[0].event"),
        ("batch", {"batch": [{"type": "track", "userId": 1.5, "event": "E"}]}, "batch[0].userId"),
        (
            "batch",
            {"batch": [{"type": "track", "userId": "u", "event": "E", "properties": [1]}]},
            "batch[0].properties",
        ),
        ("batch", {"batch": [{"type": "alias", "userId": "u"}]}, "batch[0].previousId"),
        ("batch", {"batch": [{"type": "group", "userId": "u"}]}, "batch[0].groupId"),
        (
            "batch",
            {"batch": [{"type": "page", "userId": "u", "timestamp": "31/12/2026"}]},
            "batch[0].timestamp",
        ),
        (
            "batch",
            {"batch": [{"type": "page", "userId": "u", "timestamp": FUTURE}]},
            "batch[0].timestamp",
        ),
        (
            "batch",
            {"batch": [{"type": "identify", "userId": "u", "traits": {"email": "@@"}}]},
            "batch[0].traits.email",
        ),
        (
            "batch",
            {"batch": [{"type": "identify", "userId": "u", "traits": {"phone": "000"}}]},
            "batch[0].traits.phone",
        ),
        ("batch", {"batch": [], "sentAt": "later"}, "sentAt"),
        ("track", {"userId": "u", "event": "E", "timestamp": FUTURE}, "timestamp"),
        ("track", {"anonymousId": "a"}, "event"),
        ("identify", {"traits": {"name": "x"}}, "userId"),
        ("identify", {"userId": "u", "traits": {"email": "nope"}}, "traits.email"),
        (
            "identify",
            {"userId": "u", "context": {"traits": {"email": "no"}}},
            "context.traits.email",
        ),
        ("alias", {"userId": "u"}, "previousId"),
        ("group", {"anonymousId": "a"}, "groupId"),
        ("page", {"anonymousId": "a", "name": ["x"]}, "name"),
        ("track", {"userId": "u", "event": "E", "name": "a\u0000b"}, "name"),
    ],
)
def test_bad_input_is_400_naming_the_field(tracker, endpoint, body, field):
    """Bad input answers 400 with the field's path and stores nothing."""
    response = tracker.post(endpoint, body)
    payload = response.json()
    assert (response.status_code, payload["field"], payload["success"]) == (400, field, False)
    assert stored() == (0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timestamp": "0001-01-01T00:00:00+08:00"}, "timestamp"),
        ({"originalTimestamp": "0001-01-01T00:00:00+08:00"}, "originalTimestamp"),
        ({"sentAt": "9999-12-31T23:00:00-08:00"}, "sentAt"),
    ],
)
def test_a_time_past_the_calendar_in_utc_is_400_naming_it(tracker, body, field):
    """A time whose offset takes it out of years 1 to 9999 in UTC was accepted, then failed
    where it was stored (OverflowError): a 500."""
    response = tracker.post("track", {"userId": "u", "event": "E", **body})
    assert (response.status_code, response.json()) == (
        400,
        {
            "success": False,
            "error": "is out of range",
            "field": field,
            "code": "invalid_request",
            "message": f"{field}: is out of range",
        },
    )
    assert stored() == (0, 0)


def test_a_registration_time_outside_the_calendar_is_400_naming_the_trait(tracker):
    """traits.createdAt of year 1 with an offset failed where the profile was written
    (OverflowError converting it to UTC): a 500."""
    traits = {"createdAt": "0001-01-01T00:00:00+08:00"}
    response = tracker.post("identify", {"userId": "u", "traits": traits})
    error = "must be a date from 1900-01-01 to 2999-12-31"
    assert (response.status_code, response.json()) == (
        400,
        {
            "success": False,
            "error": error,
            "field": "traits.createdAt",
            "code": "invalid_request",
            "message": f"traits.createdAt: {error}",
        },
    )
    assert stored() == (0, 0)


def test_a_negative_product_price_is_400_naming_it(tracker):
    """Product Viewed with a price of -5 set the catalogue's price to -5, which the
    catalogue API refuses."""
    properties = {"product_id": "SKU-1", "price": 10}
    response = tracker.batch(
        {"type": "track", "userId": "u", "event": "Product Viewed", "properties": properties},
        {
            "type": "track",
            "userId": "u",
            "event": "Order Completed",
            "properties": {"order_id": "SO-1", "products": [{**properties, "price": -5}]},
        },
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "success": False,
            "error": "must not be negative",
            "field": "batch[1].properties.products[0].price",
            "code": "invalid_request",
            "message": "batch[1].properties.products[0].price: must not be negative",
        },
    )
    assert stored() == (0, 0)


def test_a_blank_event_name_is_400_naming_it(tracker):
    """A name of blanks was stored as the event's name."""
    response = tracker.batch({"type": "track", "userId": "u", "event": " \t "})
    assert (response.status_code, response.json()) == (
        400,
        {
            "success": False,
            "error": "is blank",
            "field": "batch[0].event",
            "code": "invalid_request",
            "message": "batch[0].event: is blank",
        },
    )
    assert stored() == (0, 0)


def _chunked(path: str, body: bytes, headers: dict) -> tuple[str, dict]:
    """``body`` POSTed to ``path`` through the WSGI application gunicorn serves, sent as
    gunicorn hands on a chunked request: no Content-Length, the input's end marked."""
    from django.test import RequestFactory

    from ecrm.config.wsgi import application

    environ = dict(RequestFactory().post(path, content_type="application/json", **headers).environ)
    del environ["CONTENT_LENGTH"]
    environ.update(
        {
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
        }
    )
    started = {}
    # As the test client does: the handler's signals must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        answer = application(environ, lambda status, _: started.update(status=status))
        content = b"".join(answer)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], json.loads(content)


def test_a_chunked_body_is_read_not_refused_as_empty(tracker):
    """Django reads a body as far as its Content-Length, which a chunked request has not:
    the events were refused as "body: is empty", and the SDK dropped them."""
    body = json.dumps({"userId": "u-7", "event": "Chunked", "messageId": "m-chunked"})
    assert _chunked("/v1/track", body.encode(), tracker.headers()) == (
        "200 OK",
        {"success": True},
    )
    assert list(Event.objects.values_list("name", "message_id")) == [("Chunked", "m-chunked")]
    big = json.dumps({"userId": "u-7", "event": "E", "properties": {"x": "a" * 600_000}})
    status, refused = _chunked("/v1/track", big.encode(), tracker.headers())
    assert (status, refused["code"]) == ("413 Request Entity Too Large", "too_large")


def test_a_batch_is_validated_whole(tracker):
    """One bad message refuses the whole batch: the good ones before it are not stored."""
    response = tracker.batch(
        {"type": "identify", "userId": "u1", "traits": {"name": "王芳"}},
        {
            "type": "track",
            "userId": "u1",
            "event": "Order Completed",
            "properties": {"order_id": "1"},
        },
        {"type": "track", "userId": "u1", "event": "E", "timestamp": "not a time"},
    )
    assert (response.status_code, response.json()["field"]) == (400, "batch[2].timestamp")
    assert stored() == (0, 0)


def test_html_and_sql_in_names_are_stored_verbatim(tracker):
    name = "<script>alert('x')</script>'; DROP TABLE events_event; --"
    response = tracker.batch(
        {"type": "identify", "userId": "u1", "traits": {"name": name}},
        {"type": "track", "userId": "u1", "event": name},
    )
    assert response.status_code == 200
    assert (customer_of("u1").name, Event.objects.get(type="track").name) == (name, name)


# --- duplicates ----------------------------------------------------------------------


def test_duplicate_message_id_in_a_batch_is_stored_once(tracker):
    message = {"type": "track", "userId": "u1", "event": "E", "messageId": "dup-1"}
    response = tracker.batch(message, message, {**message, "event": "Other"})
    assert (response.status_code, list(Event.objects.values_list("name", flat=True))) == (
        200, ["E"],
    )  # fmt: skip


def test_duplicate_message_id_across_requests_is_stored_once(tracker):
    """A retried batch changes nothing: each message id is stored and processed once."""
    batch = [
        {"type": "track", "userId": "u1", "event": "E", "messageId": "m-1"},
        {"type": "track", "userId": "u1", "event": "F", "messageId": "m-2"},
    ]
    first = tracker.batch(*batch)
    again = tracker.batch(
        *batch, {"type": "track", "userId": "u1", "event": "G", "messageId": "m-3"}
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-2", "m-3"]


def test_messages_without_id_are_each_stored(tracker):
    message = {"type": "page", "anonymousId": "a1"}
    assert tracker.batch(message, message).status_code == 200
    assert Event.objects.count() == 2


# --- identity ------------------------------------------------------------------------


def test_identify_track_alias_merges_anonymous_history_into_the_known_profile(tracker):
    """Anonymous browsing joins the known customer on alias; every event is re-pointed."""
    assert (
        tracker.post("identify", {"userId": "u-77", "traits": {"name": "赵敏"}}).status_code == 200
    )
    pages = [
        {"type": "page", "anonymousId": "anon-1", "name": f"P{i}", "messageId": f"p{i}"}
        for i in range(3)
    ]
    assert tracker.batch(*pages).status_code == 200
    anonymous = Customer.objects.get(identities__value="anon-1")
    known = customer_of("u-77")
    assert (anonymous.is_anonymous, Event.objects.filter(customer=anonymous).count()) == (True, 3)

    response = tracker.post("alias", {"previousId": "anon-1", "userId": "u-77"})

    assert response.status_code == 200
    anonymous.refresh_from_db()
    assert anonymous.merged_into_id == known.pk
    assert Event.objects.filter(customer=known).count() == 5
    assert Event.objects.filter(customer=anonymous).count() == 0
    assert sorted(Identity.objects.filter(customer=known).values_list("kind", "value")) == [
        ("anonymous_id", "anon-1"), ("user_id", "u-77"),
    ]  # fmt: skip
    assert [e.name for e in events.events_of(anonymous.pk) if e.type == "page"] == [
        "P2", "P1", "P0",
    ]  # fmt: skip


def test_identify_with_both_ids_adopts_the_anonymous_profile(tracker):
    """Browsing then identifying in one batch leaves one profile holding all events."""
    response = tracker.batch(
        {"type": "page", "anonymousId": "a-5", "timestamp": "2026-11-01T00:00:00Z"},
        {"type": "track", "anonymousId": "a-5", "event": "Product Viewed"},
        {
            "type": "identify",
            "anonymousId": "a-5",
            "userId": "u-5",
            "traits": {"email": "U5@Example.com", "phone": "13912345678"},
        },
        {"type": "track", "anonymousId": "a-5", "userId": "u-5", "event": "Product Added"},
    )
    assert response.status_code == 200
    profile = customer_of("u-5")
    assert (Customer.objects.count(), Event.objects.filter(customer=profile).count()) == (1, 4)
    assert (profile.email, profile.phone, profile.is_anonymous) == (
        "u5@example.com", "+8613912345678", False,
    )  # fmt: skip
    verified = dict(Identity.objects.filter(customer=profile).values_list("kind", "verified"))
    assert verified == {"anonymous_id": False, "user_id": False, "email": True, "phone": True}


def test_merge_later_in_the_batch_repoints_events_of_the_same_request(tracker):
    """Events resolved before an alias in the same batch end up on the surviving profile."""
    tracker.post("identify", {"userId": "u-8", "traits": {"name": "周杰"}})
    response = tracker.batch(
        {"type": "page", "anonymousId": "a-8"},
        {"type": "page", "anonymousId": "a-8"},
        {"type": "alias", "previousId": "a-8", "userId": "u-8"},
        {"type": "page", "anonymousId": "a-8"},
    )
    assert response.status_code == 200
    assert Event.objects.filter(customer=customer_of("u-8")).count() == 5
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1


def test_alias_of_two_user_ids_merges_them(tracker):
    tracker.post("identify", {"userId": "old-login", "traits": {"name": "A"}})
    tracker.post("identify", {"userId": "new-login", "traits": {"email": "a@example.com"}})
    response = tracker.post("alias", {"previousId": "old-login", "userId": "new-login"})
    assert response.status_code == 200
    survivor = customer_of("new-login")
    assert (survivor.pk, survivor.name, survivor.email) == (
        customer_of("old-login").pk, "A", "a@example.com",
    )  # fmt: skip


def test_identify_writes_profile_fields_and_attributes(tracker):
    response = tracker.post(
        "identify",
        {
            "userId": "u-9",
            "traits": {
                "name": "欧阳娜娜",
                "gender": "女",
                "birthday": "1999-09-09",
                "createdAt": "2025-06-18T08:00:00+08:00",
                "registrationChannel": "wechat",
                "address": {"country": "CN", "province": "广东", "city": "深圳"},
                "wechatOpenId": "oABC",
                "vip": True,
            },
            "context": {"externalIds": [{"id": "E-1", "type": "erp_id", "collection": "users"}]},
        },
    )
    assert response.status_code == 200
    c = customer_of("u-9")
    assert (c.name, c.gender, c.birthday, c.registered_at, c.registration_channel) == (
        "欧阳娜娜", "f", dt.date(1999, 9, 9), dt.datetime(2025, 6, 18, tzinfo=dt.UTC), "wechat",
    )  # fmt: skip
    assert (c.country, c.province, c.city, c.attributes) == ("CN", "广东", "深圳", {"vip": True})
    identities = Identity.objects.filter(customer=c).values_list("kind", "namespace", "value")
    assert sorted(identities) == [
        ("external", "erp_id", "E-1"), ("user_id", "", "u-9"), ("wechat_openid", "", "oABC"),
    ]  # fmt: skip


def test_group_traits_land_in_the_profile_attributes(tracker):
    response = tracker.post(
        "group", {"userId": "u-3", "groupId": "acme", "traits": {"plan": "pro"}}
    )
    assert response.status_code == 200
    assert customer_of("u-3").attributes == {"group": {"id": "acme", "plan": "pro"}}


def _queries_for(tracker, anonymous_id: str, events: int) -> int:
    batch = [{"type": "page", "anonymousId": anonymous_id, "name": "P"} for _ in range(events)]
    with CaptureQueriesContext(connection) as queries:
        assert tracker.batch(*batch).status_code == 200
    return len(queries)


def test_a_batch_of_one_visitor_costs_the_same_queries_for_10_or_100_events(tracker):
    """A batch of 100 events of one new visitor costs what 10 do: one resolution per visitor."""
    _queries_for(tracker, "warm-up", 1)  # the write key lookup, cached afterwards
    assert _queries_for(tracker, "visitor-a", 10) == _queries_for(tracker, "visitor-b", 100)
    assert Event.objects.filter(anonymous_id="visitor-b").count() == 100


def test_last_seen_follows_the_latest_event(tracker):
    tracker.batch(
        {"type": "page", "userId": "u-ls", "timestamp": "2026-10-01T10:00:00Z"},
        {"type": "page", "userId": "u-ls", "timestamp": "2026-10-03T10:00:00Z"},
        {"type": "page", "userId": "u-ls", "timestamp": "2026-10-02T10:00:00Z"},
    )
    assert figures.figures_of(customer_of("u-ls").pk).last_seen_at == dt.datetime(
        2026, 10, 3, 10, 0, tzinfo=dt.UTC
    )


def test_first_time_visitors_of_a_batch_each_get_their_own_profile(tracker):
    """New visitors are created together; anonymous ones are flagged anonymous."""
    response = tracker.batch(
        {"type": "page", "anonymousId": "v-1"},
        {"type": "page", "anonymousId": "v-2"},
        {"type": "track", "anonymousId": "v-1", "event": "E"},
        {"type": "screen", "userId": "member-3"},
        {"type": "page", "anonymousId": "v-4", "userId": "member-4"},
    )
    assert response.status_code == 200
    profiles = {
        value: (customer_id, anonymous)
        for value, customer_id, anonymous in Identity.objects.values_list(
            "value", "customer_id", "customer__is_anonymous"
        )
    }
    assert sorted((v, a) for v, (_, a) in profiles.items()) == [
        ("member-3", False), ("member-4", False), ("v-1", True), ("v-2", True), ("v-4", False),
    ]  # fmt: skip
    assert profiles["v-4"][0] == profiles["member-4"][0]
    assert Customer.objects.count() == 4
    assert Event.objects.filter(customer_id=profiles["v-1"][0]).count() == 2


def test_two_user_ids_identified_with_one_email_stay_two_profiles(tracker):
    """identify(u-2, email) and identify(u-3, same email): both verify the address, yet
    two accounts of the shop are never merged on it (only an alias joins user ids)."""
    for user_id in ("u-2", "u-3"):
        response = tracker.post(
            "identify", {"userId": user_id, "traits": {"email": "Family@Example.com"}}
        )
        assert response.status_code == 200
    profiles = [
        (c.merged_into_id, c.email, sorted(c.identities.values_list("kind", "value", "verified")))
        for c in Customer.objects.order_by("pk")
    ]
    assert profiles == [
        (None, "family@example.com",
         [("email", "family@example.com", True), ("user_id", "u-2", False)]),
        (None, "family@example.com",
         [("email", "family@example.com", False), ("user_id", "u-3", False)]),
    ]  # fmt: skip


def test_identify_as_rudderstack_sends_it_reads_the_traits_from_the_context(tracker):
    """RudderStack's SDKs put identify traits in context.traits (its spec's sample)."""
    response = tracker.post(
        "identify",
        {
            "type": "identify",
            "userId": "27340af5c8819",
            "context": {
                "traits": {
                    "name": "Richard Hendricks",
                    "email": "rhedricks@example.com",
                    "logins": 2,
                }
            },
        },
    )
    assert response.status_code == 200
    c = customer_of("27340af5c8819")
    assert (c.name, c.email, c.attributes) == (
        "Richard Hendricks", "rhedricks@example.com", {"logins": 2},
    )  # fmt: skip
    identities = Identity.objects.filter(customer=c).values_list("kind", "value", "verified")
    assert sorted(identities) == [
        ("email", "rhedricks@example.com", True), ("user_id", "27340af5c8819", False),
    ]  # fmt: skip
