"""The JSON API: authentication, the 360 read, writes and the shape of every error."""

import json

import pytest

from ecrm.customers.models import Customer
from ecrm.customers.tests import factories
from ecrm.staff import api as staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(admin_user):
    return staff.create_api_token(admin_user, "test")


@pytest.fixture
def call(client, token):
    def _call(method, path, body=None, auth=True):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if auth else {}
        data = json.dumps(body) if body is not None else None
        response = getattr(client, method)(
            path, data=data, content_type="application/json", **headers
        )
        return response.status_code, response.json()

    return _call


def test_without_a_token_the_api_answers_401(call):
    assert call("get", "/api/customers", auth=False) == (
        401,
        {"error": "authentication required: send Authorization: Bearer <token>", "field": None},
    )


def test_read_the_360_profile(call):
    c = factories.customer(name="周杰", phone="13700001111", user_id="u-9")
    factories.order(c.pk, "O-9", total="66.60")
    status, body = call("get", f"/api/customers/{c.pk}")
    assert status == 200
    assert (body["name"], body["phone"], body["consents"]) == ("周杰", "+8613700001111", {})
    assert [(i["kind"], i["value"]) for i in body["identities"]] == [
        ("user_id", "u-9"),
        ("phone", "+8613700001111"),
    ]
    assert (body["figures"]["order_count"], body["figures"]["revenue"]) == (1, "66.6000")


def test_search_pages_by_keyset(call):
    ids = [factories.customer(name=f"张{n}").pk for n in "一二三"]
    status, first = call("get", "/api/customers?q=zhang&limit=2")
    assert (status, [i["id"] for i in first["items"]], first["next"]) == (200, ids[:0:-1], ids[1])
    status, second = call("get", f"/api/customers?q=zhang&limit=2&after={first['next']}")
    assert ([i["id"] for i in second["items"]], second["next"]) == ([ids[0]], None)


def test_create_resolves_identities_and_updates_the_existing_profile(call):
    status, body = call(
        "post",
        "/api/customers",
        {
            "name": "刘洋",
            "identities": [{"kind": "user_id", "value": "shop-1"}],
        },
    )
    assert (status, body["created"]) == (201, True)
    status, again = call(
        "post",
        "/api/customers",
        {
            "city": "深圳",
            "identities": [{"kind": "user_id", "value": "shop-1"}],
        },
    )
    assert (status, again["id"], again["created"]) == (200, body["id"], False)
    assert Customer.objects.get(pk=body["id"]).city == "深圳"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"gender": "x"}, "gender"),
        ({"birthday": "1990-13-40"}, "birthday"),
        ({"name": 5}, "name"),
    ],
)
def test_bad_profile_values_are_400_naming_the_field(call, payload, field):
    c = factories.customer(name="钱七")
    status, body = call("patch", f"/api/customers/{c.pk}", payload)
    assert (status, body["field"]) == (400, field)


def test_a_registration_time_outside_the_calendar_is_400_naming_it(call):
    """Year 9999 with a western offset is in year 10000 in UTC: refused where it was
    stored (OverflowError), a 400 that named no field."""
    c = factories.customer(name="甲")
    late = {"registered_at": "9999-12-31T23:00:00-08:00"}
    expected = (
        400,
        {
            "error": "registered_at: must be a date from 1900-01-01 to 2999-12-31",
            "field": "registered_at",
        },
    )
    assert call("post", "/api/customers", {"email": "r@example.com", **late}) == expected
    assert call("patch", f"/api/customers/{c.pk}", late) == expected
    assert not Customer.objects.filter(email="r@example.com").exists()


def test_a_time_outside_the_calendar_is_400_naming_it(call):
    """An order placed, or a contact made, in year 1 at +08:00 is in year 0 in UTC: it
    failed where it was stored (OverflowError), a 400 naming no field."""
    c = factories.customer(name="甲")
    error = "must be a date from 1900-01-01 to 2999-12-31"
    order = {
        "external_id": "W-0",
        "placed_at": "0001-01-01T00:00:00+08:00",
        "lines": [{"sku": "S1"}],
    }
    assert call("put", "/api/orders", order) == (
        400,
        {"error": f"placed_at: {error}", "field": "placed_at"},
    )
    contact = {
        "channel": "phone",
        "direction": "in",
        "summary": "ok",
        "occurred_at": "9999-12-31T23:00:00-08:00",
    }
    assert call("post", f"/api/customers/{c.pk}/contacts", contact) == (
        400,
        {"error": f"occurred_at: {error}", "field": "occurred_at"},
    )
    assert call("get", "/api/orders/W-0")[0] == 404


def test_malformed_json_is_400(client, token):
    response = client.post(
        "/api/customers",
        data="{nope",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert "error" in response.json()


def test_a_malformed_multipart_upload_is_400(client, token):
    """Found by schemathesis: a multipart Content-Type without a boundary was a 500 (the
    body is read before the segment is looked up)."""
    response = client.post(
        "/api/segments/1/upload",
        data=b"--x\r\n",
        content_type="multipart/form-data",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "the request body is not valid multipart/form-data: "
            "Invalid boundary in multipart: None",
            "field": None,
        },
    )


def test_a_missing_body_is_400_naming_the_body(client, token):
    for path in ("/api/loyalty/tiers", "/api/promotions/referral-programme"):
        response = client.put(
            path, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert (path, response.status_code, response.json()) == (
            path,
            400,
            {"error": "body: Field required", "field": "body"},
        )


def test_the_referral_programme_is_changed_with_a_json_body(call):
    """Its terms were read from a query parameter named ``payload`` (a bare ``dict``
    parameter), so no JSON body ever reached them; the document now lists a body."""
    terms = {
        "version": 1,
        "referrer_points": 800,
        "referee_points": 300,
        "min_order_total": "99.00",
        "qualifying_statuses": ["paid", "delivered"],
        "landing_url": "/invite",
        "cookie_days": 14,
    }
    assert call("put", "/api/promotions/referral-programme", terms) == (200, terms)
    assert call("get", "/api/promotions/referral-programme") == (200, terms)
    assert call("put", "/api/promotions/referral-programme", {**terms, "cookie_days": 400}) == (
        400,
        {"error": "cookie_days: must be from 1 to 365", "field": "cookie_days"},
    )
    assert call("get", "/api/promotions/referral-programme") == (200, terms)


def test_an_id_past_64_bits_is_400_naming_it(call):
    """Such a number reached the query and failed there (SQLite's driver: OverflowError)."""
    big = 2**63
    message = "Input should be less than or equal to 9223372036854775807"
    assert call("get", f"/api/products?after={big}") == (
        400,
        {"error": f"after: {message}", "field": "after"},
    )
    order = {
        "external_id": "W-1",
        "customer_id": big,
        "placed_at": "2026-11-11T00:00:00+08:00",
        "lines": [{"sku": "S1"}],
    }
    assert call("put", "/api/orders", order) == (
        400,
        {"error": f"customer_id: {message}", "field": "customer_id"},
    )


def test_a_body_id_past_64_bits_is_400_naming_it(call):
    """Points redeemed or given back, and customers taken off a static list: such an id
    reached the query and failed there, a 400 naming no field ("a value cannot be stored:
    Python int too large to convert to SQLite INTEGER")."""
    big = 2**63
    message = "Input should be less than or equal to 9223372036854775807"
    redeem = {"customer_id": big, "points": 10, "reference": "C-1"}
    assert call("post", "/api/loyalty/checkout/redeem", redeem) == (
        400,
        {"error": f"customer_id: {message}", "field": "customer_id"},
    )
    restore = {"customer_id": big, "reference": "C-1"}
    assert call("post", "/api/loyalty/checkout/restore", restore) == (
        400,
        {"error": f"customer_id: {message}", "field": "customer_id"},
    )
    status, segment = call("post", "/api/segments", {"name": "VIP", "kind": "static"})
    assert status == 201
    for action in ("members", "members/remove"):
        assert call("post", f"/api/segments/{segment['id']}/{action}", {"customer_ids": [big]}) == (
            400,
            {"error": f"customer_ids.0: {message}", "field": "customer_ids.0"},
        )


def test_a_nul_character_is_refused_naming_the_field(call, client, token):
    """PostgreSQL cannot store NUL in text (its driver's error was a 500); SQLite would keep
    it. Refused alike on both, with the field's path; so is an unpaired surrogate."""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    c = factories.customer(name="甲")
    assert call("post", "/api/customers", {"name": "周\x00杰", "email": "z@example.com"}) == (
        400,
        {
            "error": "name: contains a NUL character",
            "field": "name",
        },
    )
    contact = {"channel": "phone", "direction": "in", "summary": "ok", "attributes": ["a\x00"]}
    status, body = call("post", f"/api/customers/{c.pk}/contacts", contact)
    assert (status, body["field"]) == (400, "attributes.0")
    lone = b'{"name": "\\ud800", "email": "s@example.com"}'  # an unpaired surrogate
    response = client.post("/api/customers", data=lone, content_type="application/json", **auth)
    assert (response.status_code, response.json()["error"]) == (
        400,
        "name: contains an unpaired surrogate",
    )
    assert not Customer.objects.filter(name__startswith="周").exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"attributes": {"score": NaN}}', "NaN is not a number a database can store"),
        (b'{"attributes": {"score": 1e999}}', "1e999 is not a number a database can store"),
        (
            b'{"name": "x", "attributes": {"s": -Infinity}}',
            "-Infinity is not a number a database can store",
        ),
    ],
)
def test_numbers_no_database_stores_are_400(client, token, body, error):
    """NaN, Infinity and 1e999 (read as infinity) reached the JSON column: a 500."""
    c = factories.customer(name="甲")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    response = client.patch(
        f"/api/customers/{c.pk}", data=body, content_type="application/json", **auth
    )

    c.refresh_from_db()
    assert (response.status_code, response.json(), c.attributes) == (
        400,
        {"error": error, "field": None},
        {},
    )


def _search_raises(monkeypatch, error: Exception) -> None:
    """The customer search endpoint's query raises ``error``."""
    from ecrm.customers import endpoints

    def search(*args, **kwargs):
        raise error

    monkeypatch.setattr(endpoints.queries, "search_customers", search)


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(call, client):
    """PostgreSQL's driver refuses NUL in text: ``?q=%00`` answered 500 there (console and
    API); the middleware refuses it on every path, in each path's shape."""
    assert call("get", "/api/customers?q=a%00") == (
        400,
        {"error": "q: contains a NUL character", "field": "q"},
    )
    response = client.post("/v1/track?x=%00", data="{}", content_type="application/json")
    assert (response.status_code, response.json()["field"]) == (400, "x")


def test_what_the_database_cannot_hold_is_a_400_not_a_500(call, monkeypatch):
    """The safety net under the schemas: a value that still reaches a database which cannot
    hold it (SQLite's driver: OverflowError; PostgreSQL: DataError) is a 400 saying why."""
    _search_raises(monkeypatch, OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert call("get", "/api/customers?q=x") == (
        400,
        {
            "error": "a value cannot be stored: Python int too large to convert to SQLite INTEGER",
            "field": None,
        },
    )


def test_merge_through_the_api(call):
    a = factories.customer(name="甲")
    b = factories.customer(name="乙")
    factories.order(b.pk, "B-2", total="10.00")
    status, body = call("post", f"/api/customers/{a.pk}/merge", {"source_id": b.pk})
    assert (status, body) == (
        200,
        {"source_id": b.pk, "target_id": a.pk, "moved": {"orders.order": 1}},
    )
    assert call("post", f"/api/customers/{a.pk}/merge", {"source_id": a.pk})[0] == 409


def test_unknown_customer_is_404(call):
    assert call("get", "/api/customers/999999")[0] == 404


def test_analyst_cannot_write(client, staff_factory):
    analyst = staff_factory("ana", "analyst")
    token = staff.create_api_token(analyst, "t")
    c = factories.customer(name="甲")
    response = client.patch(
        f"/api/customers/{c.pk}",
        data=json.dumps({"city": "x"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403


def test_order_upsert_and_lifecycle(call):
    c = factories.customer(name="甲")
    order = {
        "external_id": "W-1",
        "customer_id": c.pk,
        "placed_at": "2026-11-11T00:00:00+08:00",
        "lines": [{"sku": "S1", "quantity": "2", "unit_price": "9.90"}],
    }
    status, body = call("put", "/api/orders", order)
    assert (status, body["total"], body["status"]) == (200, "19.8000", "paid")
    status, body = call("post", "/api/orders/W-1/status", {"status": "shipped"})
    assert (status, body["status"]) == (200, "shipped")
    status, body = call("post", "/api/orders/W-1/status", {"status": "placed"})
    assert (status, body) == (
        400,
        {"error": "status: an order cannot go from shipped to placed", "field": "status"},
    )


@pytest.mark.parametrize(("sent", "stored"), [("usd", "USD"), ("RMB", "CNY"), ("", "CNY")])
def test_an_order_currency_is_read_as_its_iso_code(call, sent, stored):
    order = {
        "external_id": "W-2",
        "placed_at": "2026-11-11T00:00:00+08:00",
        "currency": sent,
        "lines": [{"sku": "S1"}],
    }
    status, body = call("put", "/api/orders", order)
    assert (status, body["currency"]) == (200, stored)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/orders", {"external_id": "W-3", "placed_at": "2026-11-11T00:00:00+08:00",
                         "lines": [{"sku": "S1"}]}),
        ("/api/products", {"sku": "S1"}),
    ],
)  # fmt: skip
@pytest.mark.parametrize("currency", ["CYN", "元", "12"])
def test_a_currency_no_iso_code_names_is_refused(call, path, body, currency):
    """Any three characters were stored: a typo "CYN" split the shop's revenue."""
    error = f"currency: {currency!r} is not an ISO 4217 currency code such as CNY"
    assert call("put", path, {**body, "currency": currency}) == (
        400,
        {"error": error, "field": "currency"},
    )
    assert call("get", f"{path}/{body.get('external_id', 'S1')}")[0] == 404


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"unit_price": "1e13"}, "lines.0.unit_price", "10000000000000 is too large"),
        (
            {"quantity": "1000", "unit_price": "10000000000.5"},
            "lines.0.amount",
            "10000000000500.0 is too large",
        ),
        ({"quantity": "-1e11"}, "lines.0.quantity", "-100000000000 is too large"),
    ],
)
def test_an_amount_too_large_for_its_column_is_refused(call, change, field, error):
    """Found by schemathesis: such a number was written (SQLite keeps any number) and
    every later read of the row failed with a 500."""
    line = {"sku": "S1", "quantity": "1", "unit_price": "1", **change}
    order = {"external_id": "W-9", "placed_at": "2026-11-11T00:00:00+08:00", "lines": [line]}
    assert call("put", "/api/orders", order) == (
        400,
        {"error": f"{field}: {error}", "field": field},
    )
    too_big = {**order, "lines": [{"sku": "S1"}], "discount": "-10000000000000"}
    assert call("put", "/api/orders", too_big)[1]["field"] == "discount"
    assert call("get", "/api/orders/W-9")[0] == 404


@pytest.mark.parametrize(
    ("price", "error"),
    [
        ("-5280912493422230131033590774", "price: Input should be greater than or equal to 0"),
        ("1e13", "price: Input should be less than 10000000000000"),
    ],
)
def test_a_product_price_out_of_range_is_refused(call, price, error):
    body = {"sku": "P-1", "price": price}
    assert call("put", "/api/products", body) == (400, {"error": error, "field": "price"})
    assert call("put", "/api/products", {**body, "price": "9999999999999.99"})[0] == 200
    status, page = call("get", "/api/products")
    assert (status, [p["price"] for p in page["items"]]) == (200, ["9999999999999.9900"])


def test_a_blank_sku_or_order_number_is_refused_and_blanks_around_one_dropped(call):
    """A SKU or an order number of blanks was stored as such, and " P-2 " was another
    product than "P-2"; the tracking API and the importer strip both and refuse a blank."""
    empty = "String should have at least 1 character"
    assert call("put", "/api/products", {"sku": "   "}) == (
        400,
        {"error": f"sku: {empty}", "field": "sku"},
    )
    order = {
        "external_id": " \t",
        "placed_at": "2026-11-11T00:00:00+08:00",
        "lines": [{"sku": "P-2"}],
    }
    assert call("put", "/api/orders", order) == (
        400,
        {"error": f"external_id: {empty}", "field": "external_id"},
    )
    blank_line = {**order, "external_id": "W-2", "lines": [{"sku": " "}]}
    assert call("put", "/api/orders", blank_line) == (
        400,
        {"error": f"lines.0.sku: {empty}", "field": "lines.0.sku"},
    )
    status, product = call("put", "/api/products", {"sku": " P-2 ", "name": "茶"})
    assert (status, product["sku"]) == (200, "P-2")
    status, placed = call("put", "/api/orders", {**order, "external_id": " W-3 "})
    assert (status, placed["external_id"]) == (200, "W-3")
    assert call("get", "/api/orders/W-3")[0] == 200


def test_contact_log_lands_on_the_profile(call):
    c = factories.customer(name="甲")
    status, body = call(
        "post",
        f"/api/customers/{c.pk}/contacts",
        {"channel": "phone", "direction": "in", "summary": "咨询退货"},
    )
    assert (status, body["customer_id"]) == (201, c.pk)
    status, body = call(
        "post",
        f"/api/customers/{c.pk}/contacts",
        {"channel": "pigeon", "direction": "in", "summary": "x"},
    )
    assert (status, body["field"]) == (400, "channel")


def test_openapi_document_lists_the_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/customers", "/api/customers/{customer_id}", "/api/orders"} <= set(paths)


def test_openapi_document_has_one_schema_per_name(client):
    """The document names a body or answer schema by its class: two classes of one name
    (orders' and promotions' ``StatusIn`` were) would be one schema in it, and one of the
    two operations would be described with the other's fields."""
    from ninja import Schema

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [c for c in subclasses(Schema) if c.__module__.startswith("ecrm.")]
    names = [c.__name__ for c in ours]
    assert sorted({n for n in names if names.count(n) > 1}) == []
    listed = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert {"OrderStatusIn", "CampaignStatusIn", "OrderLineIn", "SimulatedLineIn"} <= set(listed)


def test_openapi_document_declares_the_choices_and_bounds_endpoints_check(call, client):
    """What an endpoint checks itself (with its own message) is declared in the document,
    so that a generated client knows it; the check and its message stay as they were."""
    document = client.get("/api/openapi.json").json()
    schemas, paths = document["components"]["schemas"], document["paths"]

    def prop(schema: str, name: str) -> dict:
        return {k: v for k, v in schemas[schema]["properties"][name].items() if k != "title"}

    def param(path: str, name: str) -> dict:
        (found,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == name]
        return {k: v for k, v in found["schema"].items() if k != "title"}

    assert param("/api/analytics/activity", "grain") == {
        "type": "string", "enum": ["m", "q", "y"], "default": "m"
    }  # fmt: skip
    assert param("/api/analytics/cohorts", "months") == {
        "type": "integer", "minimum": 1, "maximum": 120, "default": 18
    }  # fmt: skip
    assert prop("IdentityIn", "kind")["enum"] == [
        "anonymous_id", "user_id", "email", "phone", "wechat_openid", "external"
    ]  # fmt: skip
    assert prop("ContactIn", "direction") == {"type": "string", "enum": ["in", "out"]}
    assert prop("OrderStatusIn", "status")["enum"] == [
        "placed", "paid", "shipped", "delivered", "cancelled", "returned", "refunded"
    ]  # fmt: skip
    assert prop("OrderLineIn", "kind") == {
        "type": "string", "enum": ["product", "fee"], "default": "product"
    }  # fmt: skip
    assert prop("CampaignStatusIn", "status") == {
        "type": "string", "enum": ["active", "paused", "ended"]
    }  # fmt: skip
    assert prop("RuleIn", "name") == {
        "type": "string", "minLength": 1, "maxLength": 120, "pattern": "\\S"
    }  # fmt: skip
    (channel,) = [
        p for p in paths["/api/customers/{customer_id}/consents/{channel}"]["put"]["parameters"]
        if p["name"] == "channel"
    ]  # fmt: skip
    assert channel["schema"]["enum"] == ["email", "sms", "phone", "wechat", "push"]
    assert call("get", "/api/analytics/activity?grain=w") == (
        400, {"error": "grain: must be one of m, q, y", "field": "grain"}
    )  # fmt: skip


def test_unknown_paths_and_methods_answer_json_in_the_api_shape(call, client):
    """What no endpoint answers (an unknown path, a path parameter of the wrong type, a
    wrong method) is JSON too, not the console's HTML page or ninja's plain text."""
    assert call("get", "/api/nope") == (
        404,
        {"error": "no such endpoint: GET /api/nope", "field": None},
    )
    assert call("get", "/api/customers/abc") == (
        404,
        {"error": "no such endpoint: GET /api/customers/abc", "field": None},
    )
    response = client.delete("/api/customers", HTTP_AUTHORIZATION="Bearer x")
    assert (response.status_code, response["Allow"], response.json()) == (
        405,
        "GET, POST",
        {"error": "DELETE is not allowed on /api/customers; allowed: GET, POST", "field": None},
    )
    assert client.get("/api/unknown/").status_code == 404  # the console keeps its pages
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")


def test_tracking_paths_answer_unknown_types_in_the_tracking_shape(client):
    response = client.post("/v1/unknown", data="{}", content_type="application/json")

    assert (response.status_code, response.json()) == (
        404,
        {
            "success": False,
            "error": "no such endpoint: POST /v1/unknown",
            "field": "",
            "code": "not_found",
            "message": "no such endpoint: POST /v1/unknown",
        },
    )


def test_an_unexpected_error_is_a_logged_json_500(call, monkeypatch, caplog):
    """Nothing the code did not foresee reaches a client as an HTML page or a traceback."""
    _search_raises(monkeypatch, RuntimeError("disk on fire"))
    assert call("get", "/api/customers?q=x") == (
        500,
        {
            "error": "internal error: the request was not completed; it has been logged",
            "field": None,
        },
    )
    assert "GET /api/customers failed" in caplog.text
    assert "disk on fire" in caplog.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/customers?limit=0", "limit: Input should be greater than or equal to 1"),
        ("/api/customers?limit=201", "limit: Input should be less than or equal to 200"),
        ("/api/products?limit=-1", "limit: Input should be greater than or equal to 1"),
        (
            "/api/customers?limit=ten",
            "limit: Input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
def test_a_page_size_out_of_range_is_a_400_naming_limit(call, path, message):
    """Not silently a page of 1 or of 200: the caller learns the allowed range."""
    assert call("get", path) == (400, {"error": message, "field": "limit"})
