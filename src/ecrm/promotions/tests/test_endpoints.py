"""The promotions JSON API: staff CRUD, checkout quote and redeem, member coupons, referrals."""

import json

import pytest

from ecrm.core.audit import SYSTEM
from ecrm.customers.tests import factories as people
from ecrm.loyalty import api as loyalty
from ecrm.promotions import services
from ecrm.staff import api as staff

pytestmark = pytest.mark.django_db

DOUBLE11 = {
    "name": "双十一满减",
    "code": "double11",
    "definition": {
        "discount": {"kind": "fixed", "value": "30"},
        "min_spend": "199",
        "currency": "CNY",
        "limit_per_customer": 1,
    },
}


@pytest.fixture
def call(client, admin_user):
    token = staff.create_api_token(admin_user, "test")

    def _call(method, path, body=None, token=token):
        response = getattr(client, method)(
            path,
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        return response.status_code, response.json()

    return _call


def test_create_list_and_update_a_campaign(call):
    status, body = call("post", "/api/promotions/campaigns", DOUBLE11)
    assert (status, body["code"], body["version"], body["status"]) == (201, "DOUBLE11", 1, "active")
    campaign_id = body["id"]
    status, rows = call("get", "/api/promotions/campaigns")
    assert (status, [r["name"] for r in rows]) == (200, ["双十一满减"])
    changed = {**DOUBLE11, "definition": {**DOUBLE11["definition"], "min_spend": "299"}}
    status, body = call("put", f"/api/promotions/campaigns/{campaign_id}", changed)
    assert (status, body["version"], body["definition"]["min_spend"]) == (200, 2, "299.00")
    status, body = call("post", f"/api/promotions/campaigns/{campaign_id}/status", {"status": "x"})
    assert (status, body["field"]) == (400, "status")


def test_a_bad_definition_names_its_path(call):
    bad = {**DOUBLE11, "definition": {**DOUBLE11["definition"], "discount": {"kind": "fixed"}}}
    assert call("post", "/api/promotions/campaigns", bad) == (
        400,
        {"error": "discount.value: is required", "field": "discount.value"},
    )


def test_a_campaign_time_outside_the_calendar_is_refused_naming_it(call):
    """Year 1 at +08:00 is in year 0 in UTC: it failed where the campaign was stored
    (OverflowError), a 400 naming no field."""
    error = "must be a date from 1900-01-01 to 2999-12-31"
    for key, moment in (
        ("starts_at", "0001-01-01T00:00:00+08:00"),
        ("ends_at", "9999-12-31T23:00:00-08:00"),
    ):
        bad = {**DOUBLE11, "definition": {**DOUBLE11["definition"], key: moment}}
        assert call("post", "/api/promotions/campaigns", bad) == (
            400,
            {"error": f"{key}: {error}", "field": key},
        )
    assert call("get", "/api/promotions/campaigns") == (200, [])


def test_checkout_quote_redeem_and_refusals(call):
    call("post", "/api/promotions/campaigns", DOUBLE11)
    buyer = people.customer()
    cart = {"code": "DOUBLE11", "customer_id": buyer.pk, "currency": "CNY", "subtotal": "259.00"}
    status, body = call("post", "/api/checkout/coupons/quote", cart)
    assert (status, body["applies"], body["discount"], body["reason"]) == (200, True, "30.00", "")
    status, body = call("post", "/api/checkout/coupons/quote", {**cart, "subtotal": "100"})
    assert (body["applies"], body["reason"], body["message"]) == (
        False, "min_spend", "the cart is below the coupon's minimum spend",
    )  # fmt: skip
    status, body = call("post", "/api/checkout/coupons/redeem", {**cart, "order_ref": "SO-1"})
    assert (status, body["discount"], body["replayed"]) == (201, "30.00", False)
    status, body = call("post", "/api/checkout/coupons/redeem", {**cart, "order_ref": "SO-1"})
    assert (status, body["replayed"]) == (200, True)
    assert call("post", "/api/checkout/coupons/redeem", {**cart, "order_ref": "SO-2"}) == (
        409,
        {
            "error": "coupon DOUBLE11 refused: this customer has used this coupon as often as "
            "allowed",
            "field": "code",
            "reason": "limit_per_customer",
        },
    )
    status, body = call(
        "post", "/api/checkout/coupons/redeem", {**cart, "code": "NOPE", "order_ref": "SO-3"}
    )
    assert (status, body["reason"]) == (404, "unknown_code")
    status, body = call("post", "/api/checkout/coupons/quote", {**cart, "currency": "元"})
    assert (status, body["field"]) == (400, "currency")
    assert call("post", "/api/checkout/coupons/release", {"order_ref": "SO-1"}) == (
        200,
        {"released": 1},
    )


def test_an_analyst_may_not_redeem(call, staff_factory):
    analyst = staff_factory("ana", "analyst")
    token = staff.create_api_token(analyst, "t")
    status, body = call(
        "post",
        "/api/checkout/coupons/quote",
        {"code": "X1X", "customer_id": 1, "currency": "CNY", "subtotal": "1"},
        token=token,
    )
    assert status == 403


def test_member_coupons_lists_issued_and_offered_coupons(call):
    call("post", "/api/promotions/campaigns", DOUBLE11)
    welcome = services.save_campaign(
        name="新人券",
        definition={"discount": {"kind": "percent", "value": "10"}, "currency": "CNY",
                    "codes": "unique", "valid_days": 30},
        actor=SYSTEM,
    )  # fmt: skip
    buyer = people.customer()
    status, body = call("post", f"/api/promotions/campaigns/{welcome.pk}/issue",
                        {"customer_id": buyer.pk})  # fmt: skip
    assert (status, body["issued"]) == (200, 1)
    status, rows = call("get", f"/api/members/{buyer.pk}/coupons")
    assert status == 200
    assert [(r["campaign"], r["usable"], r["discount"]) for r in rows] == [
        ("新人券", True, "10% off"),
        ("双十一满减", True, "30.00 off, spend 199.00+"),
    ]
    assert rows[0]["code"] == body["code"]
    services.redeem_coupon(
        "DOUBLE11",
        services.clean_cart(customer_id=buyer.pk, currency="CNY", subtotal="300"),
        order_ref="SO-1",
    )
    status, rows = call("get", f"/api/members/{buyer.pk}/coupons")
    assert [r["campaign"] for r in rows] == ["新人券"]
    status, rows = call("get", f"/api/members/{buyer.pk}/coupons?include_used=true")
    assert [(r["campaign"], r["reason"]) for r in rows] == [
        ("新人券", ""),
        ("双十一满减", "limit_per_customer"),
    ]


def test_rewards_and_claims_over_the_api(call):
    campaign = services.save_campaign(
        name="兑换券",
        definition={"discount": {"kind": "fixed", "value": "10"}, "currency": "CNY",
                    "codes": "unique"},
        actor=SYSTEM,
    )  # fmt: skip
    status, reward = call(
        "post",
        "/api/promotions/rewards",
        {"name": "10元券", "kind": "coupon", "points": 1000, "campaign_id": campaign.pk},
    )
    assert status == 201
    member = people.customer()
    loyalty.award_points(member.pk, 1500, source="staff", source_ref="seed", reason="t",
                         actor=SYSTEM)  # fmt: skip
    claim = {"reward_id": reward["id"], "request_ref": "app-1"}
    status, body = call("post", f"/api/members/{member.pk}/rewards", claim)
    assert (status, body["points"], body["replayed"]) == (201, 1000, False)
    status, body = call("post", f"/api/members/{member.pk}/rewards", claim)
    assert (status, body["replayed"]) == (200, True)
    status, body = call(
        "post", f"/api/members/{member.pk}/rewards", {**claim, "request_ref": "app-2"}
    )
    assert (status, body["reason"], body["balance"]) == (409, "insufficient_points", 500)


def test_referral_code_attribution_and_list(call, client):
    referrer = people.customer(name="推荐人")
    status, body = call("get", f"/api/members/{referrer.pk}/referral-code")
    code = body["code"]
    assert (status, body["link"]) == (200, f"http://testserver/r/{code}")
    response = client.get(f"/r/{code}")
    assert (response.status_code, response["Location"]) == (302, f"/?ref={code}")
    assert response.cookies["ecrm_ref"].value == code
    friend = people.customer(name="朋友")
    payload = {"customer_id": friend.pk, "code": code, "device_id": "d-1"}
    status, body = call("post", "/api/promotions/referrals", payload)
    assert (status, body["state"], body["referrer_id"]) == (201, "pending", referrer.pk)
    status, again = call("post", "/api/promotions/referrals", payload)
    assert (status, again["id"]) == (200, body["id"])
    status, body = call("post", "/api/promotions/referrals", {**payload, "code": "ZZZZZZZZ"})
    assert (status, body["field"]) == (400, "code")
    status, rows = call("get", "/api/promotions/referrals?state=pending")
    assert [r["referee_id"] for r in rows] == [friend.pk]
    assert client.get("/r/UNKNOWN1").status_code == 404


def test_a_misspelt_list_filter_is_a_400_naming_it(call):
    """?status=actve answered [] as if no campaign were active; the caller learns the
    choices. An empty filter still lists all."""
    call("post", "/api/promotions/campaigns", DOUBLE11)
    assert call("get", "/api/promotions/campaigns?status=actve") == (
        400,
        {"error": "status: must be one of active, paused, ended", "field": "status"},
    )
    assert call("get", "/api/promotions/referrals?state=done") == (
        400,
        {"error": "state: must be one of pending, rewarded, rejected", "field": "state"},
    )
    status, rows = call("get", "/api/promotions/campaigns?status=")
    assert (status, [r["name"] for r in rows]) == (200, ["双十一满减"])
    assert call("get", "/api/promotions/referrals?state=rewarded") == (200, [])
