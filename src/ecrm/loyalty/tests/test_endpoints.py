"""The loyalty JSON API: rules refused by field, the simulator, checkout quote and redeem
(409 with the balance), and the member-facing reads."""

import json

import pytest

from ecrm.core import clock
from ecrm.loyalty import api
from ecrm.loyalty.tests.factories import customer, day, order, programme
from ecrm.staff import api as staff
from ecrm.staff.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: day(2025, 3, 1))


@pytest.fixture
def call(client, admin_user):
    token = staff.create_api_token(admin_user, "test")

    def _call(method, path, body=None, user_token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {user_token or token}"}
        data = json.dumps(body) if body is not None else None
        response = getattr(client, method)(
            path, data=data, content_type="application/json", **headers
        )
        return response.status_code, response.json()

    return _call


def test_an_unknown_field_in_a_rule_is_refused_by_name(call):
    programme()
    status, body = call(
        "post",
        "/api/loyalty/rules",
        {
            "name": "坏规则",
            "definition": {
                "version": 1,
                "event": "order_completed",
                "when": {"colour": "red"},
                "award": {"type": "fixed", "points": 5},
            },
        },
    )
    assert (status, body["field"]) == (400, "when.colour")
    status, body = call(
        "post",
        "/api/loyalty/rules",
        {
            "name": "坏规则",
            "definition": {
                "version": 1,
                "event": "order_completed",
                "award": {"type": "fixed", "points": "five"},
            },
        },
    )
    assert (status, body["field"]) == (400, "award.points")


def test_overlapping_exclusive_rules_are_refused(call):
    programme()
    rule = {
        "version": 1,
        "event": "order_completed",
        "award": {"type": "fixed", "points": 5},
        "group": "bonus",
        "priority": 10,
    }
    assert call("post", "/api/loyalty/rules", {"name": "A", "definition": rule})[0] == 201
    status, body = call("post", "/api/loyalty/rules", {"name": "B", "definition": rule})
    assert (status, body["field"]) == (400, "priority")
    assert (
        call("post", "/api/loyalty/rules", {"name": "B", "definition": {**rule, "priority": 9}})[0]
        == 201
    )


def test_quote_then_redeem_then_409_with_the_balance(call):
    programme()
    c = customer()
    order(c.pk, "SO-1", 300, at=day(2025, 2, 1))
    status, body = call(
        "post", "/api/loyalty/checkout/quote", {"customer_id": c.pk, "order_total": "100.00"}
    )
    # At most half of 100 CNY at 0.01 per point = 5000 points; the balance is 300.
    assert (status, body["max_points"], body["points"], body["value"]) == (200, 300, 300, "3.00")
    status, body = call(
        "post",
        "/api/loyalty/checkout/redeem",
        {"customer_id": c.pk, "points": 200, "reference": "CK-1"},
    )
    assert (status, body) == (200, {"customer_id": c.pk, "balance": 100})
    status, body = call(
        "post",
        "/api/loyalty/checkout/redeem",
        {"customer_id": c.pk, "points": 200, "reference": "CK-2"},
    )
    assert (status, body["balance"], body["field"]) == (409, 100, "points")
    status, body = call(
        "post", "/api/loyalty/checkout/restore", {"customer_id": c.pk, "reference": "CK-1"}
    )
    assert (status, body["balance"]) == (200, 300)


def test_a_reference_reused_for_another_redemption_is_a_409_naming_it(call):
    """It answered 200 with the balance, as if the second redemption had been made: a
    checkout reusing an id let a member keep points it had been told were spent."""
    programme()
    c, other = customer(), customer(name="李娜")
    order(c.pk, "SO-1", 300, at=day(2025, 2, 1))
    order(other.pk, "SO-2", 500, at=day(2025, 2, 1))
    first = {"customer_id": c.pk, "points": 200, "reference": "CK-1"}
    assert call("post", "/api/loyalty/checkout/redeem", first)[0] == 200

    more = call("post", "/api/loyalty/checkout/redeem", {**first, "points": 50})
    short = call("post", "/api/loyalty/checkout/redeem", {**first, "points": 250})
    elsewhere = call("post", "/api/loyalty/checkout/redeem", {**first, "customer_id": other.pk})

    said = {
        "error": f"reference: was used already to redeem 200 points of customer #{c.pk}",
        "field": "reference",
    }
    assert (more, short, elsewhere) == ((409, said), (409, said), (409, said))
    assert (api.balance(c.pk), api.balance(other.pk)) == (100, 500)


def test_redeem_replays_a_reference_and_tells_an_unknown_customer_from_a_non_member(call):
    programme()
    c = customer()
    order(c.pk, "SO-1", 300, at=day(2025, 2, 1))
    body = {"customer_id": c.pk, "points": 200, "reference": "CK-1"}
    assert call("post", "/api/loyalty/checkout/redeem", body) == (
        200,
        {"customer_id": c.pk, "balance": 100},
    )
    # The same reference again: nothing spent, the balance as it is (even though short now).
    assert call("post", "/api/loyalty/checkout/redeem", body) == (
        200,
        {"customer_id": c.pk, "balance": 100},
    )
    assert api.balance(c.pk) == 100
    stranger = customer(name="路人")
    status, refused = call(
        "post",
        "/api/loyalty/checkout/redeem",
        {"customer_id": stranger.pk, "points": 1, "reference": "CK-9"},
    )
    assert (status, refused["balance"]) == (409, 0)
    status, _body = call(
        "post",
        "/api/loyalty/checkout/redeem",
        {"customer_id": stranger.pk + 1000, "points": 1, "reference": "CK-9"},
    )
    assert status == 404


def test_restore_tells_an_unknown_customer_from_one_with_nothing_to_restore(call):
    """Restoring for a customer who does not exist answered 200 with a balance of 0."""
    programme()
    stranger = customer(name="路人")
    body = {"customer_id": stranger.pk, "reference": "CK-9"}
    assert call("post", "/api/loyalty/checkout/restore", body) == (
        200,
        {"customer_id": stranger.pk, "balance": 0},
    )
    unknown = {**body, "customer_id": stranger.pk + 1000}
    assert call("post", "/api/loyalty/checkout/restore", unknown) == (
        404,
        {"error": "No Customer matches the given query.", "field": None},
    )


def test_an_analyst_may_not_redeem(call, staff_factory):
    programme()
    c = customer()
    analyst = staff.create_api_token(staff_factory("ana", Role.ANALYST), "t")
    status, _body = call(
        "post",
        "/api/loyalty/checkout/redeem",
        {"customer_id": c.pk, "points": 1, "reference": "X"},
        analyst,
    )
    assert status == 403


def test_the_simulator_says_which_rules_fire_and_why(call):
    programme(
        rule_list=[
            (
                "消费积分",
                "",
                {
                    "version": 1,
                    "event": "order_completed",
                    "award": {"type": "per_amount", "points": 1, "per": 1},
                },
            ),
            (
                "双十一双倍积分",
                "",
                {
                    "version": 1,
                    "event": "order_completed",
                    "when": {"festivals": ["double11"]},
                    "award": {"type": "multiplier", "factor": 2},
                    "priority": 5,
                },
            ),
        ]
    )
    c = customer()
    status, body = call(
        "post",
        "/api/loyalty/simulate",
        {"customer_id": c.pk, "date": "2025-11-11", "amount": "199.90"},
    )
    assert status == 200
    assert body["points"] == 199 * 2
    assert [(r["rule"], r["applied"], r["points"]) for r in body["rules"]] == [
        ("双十一双倍积分", True, 199),
        ("消费积分", True, 199),
    ]
    status, body = call(
        "post",
        "/api/loyalty/simulate",
        {"customer_id": c.pk, "date": "2025-11-12", "amount": "199.90"},
    )
    assert [(r["rule"], r["fired"], r["reason"]) for r in body["rules"]][0] == (
        "双十一双倍积分",
        False,
        "不在规则指定的节日",
    )


def test_member_reads(call):
    programme()
    c = customer()
    order(c.pk, "SO-1", 1200, at=day(2025, 2, 1))
    status, body = call("get", f"/api/members/{c.pk}/points")
    assert (status, body["balance"], body["tier"], body["balance_value"]) == (
        200,
        1200,
        "silver",
        "12.00",
    )
    status, body = call("get", f"/api/members/{c.pk}/points/history")
    assert [(i["kind"], i["points"]) for i in body["items"]] == [("earn", 1200)]
    status, body = call("get", f"/api/members/{c.pk}/points/expiring?within_days=400")
    assert (body["total"], len(body["lots"])) == (1200, 1)
    status, body = call("get", f"/api/members/{c.pk}/tier")
    assert (body["tier_name"], body["next_tier"], body["needed"]) == ("银卡", "gold", "3800.00")
    assert api.balance(c.pk) == 1200


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("-5", "within_days: Input should be greater than or equal to 1"),
        ("0", "within_days: Input should be greater than or equal to 1"),
        ("99999", "within_days: Input should be less than or equal to 3660"),
    ],
)
def test_an_expiry_window_out_of_range_is_a_400_naming_it(call, days, message):
    """Not silently a window of 1 day, of the programme's default or of ten years."""
    programme()
    c = customer()
    assert call("get", f"/api/members/{c.pk}/points/expiring?within_days={days}") == (
        400,
        {"error": message, "field": "within_days"},
    )
