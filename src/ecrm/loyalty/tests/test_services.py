"""The ledger through the services: earning by order status, claw-backs, redemption,
expiry, tiers and joining, on a real database."""

import datetime as dt

import pytest

from ecrm.core import clock
from ecrm.loyalty import api, queries, services
from ecrm.loyalty.models import Membership, PointsEntry, TierChange
from ecrm.loyalty.tests.factories import ACTOR, customer, day, order, programme
from ecrm.orders import api as orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def now(monkeypatch):
    moment = {"at": day(2025, 3, 1)}
    monkeypatch.setattr(clock, "now", lambda: moment["at"])
    return moment


def test_a_paid_order_joins_the_buyer_and_earns_once(now):
    programme()
    c = customer()
    order(c.pk, "SO-1", 120, at=day(2025, 2, 1))
    m = Membership.objects.get(customer_id=c.pk)
    assert (m.number, m.tier, m.points, api.balance(c.pk)) == (f"M{c.pk:09d}", "member", 120, 120)
    services.reconcile_customers([c.pk])
    so1 = orders.order_brief("SO-1")
    assert so1 is not None
    entries = list(PointsEntry.objects.values_list("kind", "points", "source", "reason"))
    assert entries == [("earn", 120, "order", "订单 SO-1")]


def test_placed_orders_earn_nothing_until_paid(now):
    programme()
    c = customer()
    order(c.pk, "SO-1", 80, at=day(2025, 2, 1), status="placed")
    assert api.is_member(c.pk) is False
    order(c.pk, "SO-1", 80, at=day(2025, 2, 1), status="paid")
    assert api.balance(c.pk) == 80


def test_a_cancelled_order_gives_back_exactly_what_it_earned(now):
    programme()
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 2, 1))
    order(c.pk, "SO-2", 50, at=day(2025, 2, 2))
    orders.set_order_status("SO-1", "cancelled", actor=ACTOR)
    assert api.balance(c.pk) == 50
    services.reconcile_customers([c.pk])
    assert sorted(PointsEntry.objects.values_list("kind", "points")) == [
        ("clawback", -100),
        ("earn", 50),
        ("earn", 100),
    ]


def test_a_partial_return_claws_back_its_share(now):
    programme()
    c = customer()
    order(c.pk, "SO-1", 200, at=day(2025, 2, 1))
    orders.record_return(
        orders.ReturnInput(
            external_id="R-1",
            returned_at=day(2025, 2, 3),
            currency="CNY",
            order_external_id="SO-1",
            amount=50,
        ),
        customer_id=c.pk,
    )
    assert api.balance(c.pk) == 150


def test_spending_takes_the_oldest_lots_and_refuses_more_than_the_balance(now):
    programme()
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 1, 1))
    order(c.pk, "SO-2", 100, at=day(2025, 2, 1))
    assert (
        api.spend_points(
            c.pk, 150, source="checkout", source_ref="CK-1", reason="抵扣", actor=ACTOR
        )
        == 50
    )
    assert (
        api.spend_points(
            c.pk, 150, source="checkout", source_ref="CK-1", reason="抵扣", actor=ACTOR
        )
        == 50
    )
    lots = queries.lots(c.pk)
    assert [(lot.points, lot.remaining) for lot in lots] == [(100, 0), (100, 50)]
    with pytest.raises(api.InsufficientPoints) as refused:
        api.spend_points(c.pk, 51, source="checkout", source_ref="CK-2", reason="抵扣", actor=ACTOR)
    assert refused.value.balance == 50


def test_a_clawback_of_spent_points_is_owed_and_paid_by_the_next_lot(now):
    programme()
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 1, 1))
    api.spend_points(c.pk, 100, source="checkout", source_ref="CK-1", reason="", actor=ACTOR)
    orders.set_order_status("SO-1", "refunded", actor=ACTOR)
    assert api.balance(c.pk) == -100
    order(c.pk, "SO-2", 300, at=day(2025, 2, 1))
    assert api.balance(c.pk) == 200
    assert [(lot.points, lot.remaining) for lot in queries.lots(c.pk)] == [(100, 0), (300, 200)]
    assert queries.outstanding_debits(c.pk) == []


def test_expiry_takes_what_is_left_of_old_lots(now):
    programme(settings={"expiry_days": 30})
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 1, 1))
    order(c.pk, "SO-2", 40, at=day(2025, 2, 20))
    api.spend_points(c.pk, 30, source="checkout", source_ref="CK-1", reason="", actor=ACTOR)
    assert services.expire_points(day(2025, 2, 25)) == 70
    assert services.expire_points(day(2025, 2, 25)) == 0
    assert api.balance(c.pk) == 40
    assert Membership.objects.get(pk=c.pk).points == 40
    assert queries.expiring(c.pk, 30, day(2025, 3, 1)) == [
        {"points": 40, "expires_at": day(2025, 3, 22)}
    ]


def test_a_refund_after_expiry_claws_back_only_what_did_not_expire(now):
    programme(settings={"expiry_days": 30})
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 1, 1))
    services.expire_points(day(2025, 2, 5))
    orders.set_order_status("SO-1", "refunded", actor=ACTOR)
    assert api.balance(c.pk) == 0


def test_tiers_upgrade_at_once_and_downgrade_after_grace(now):
    programme()
    c = customer()
    order(c.pk, "SO-1", 1200, at=day(2025, 2, 1))
    assert api.tier_of(c.pk) == "silver"
    # The silver multiplier (1.5) applies to the next order's spend points.
    order(c.pk, "SO-2", 100, at=day(2025, 2, 2))
    assert api.balance(c.pk) == 1200 + 150
    now["at"] = day(2026, 2, 10)  # the window no longer holds the spend: grace starts
    assert services.evaluate_tiers([c.pk], now=now["at"]) == 0
    assert api.tier_of(c.pk) == "silver"
    assert services.evaluate_tiers([c.pk], now=day(2026, 3, 13)) == 1
    assert api.tier_of(c.pk) == "member"
    assert list(TierChange.objects.values_list("from_tier", "to_tier")) == [
        ("member", "silver"),
        ("silver", "member"),
    ]


def test_explicit_joining_means_buyers_are_not_members_until_they_join(now):
    programme(settings={"join": "explicit"})
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 2, 1))
    assert api.is_member(c.pk) is False
    api.join(c.pk, actor=ACTOR, channel="store", recruited_by="SH01-周杰", store="上海南京西路店")
    services.reconcile_customers([c.pk])
    m = Membership.objects.get(pk=c.pk)
    assert (m.channel, m.recruited_by, m.points) == ("store", "SH01-周杰", 100)


def test_a_switched_off_programme_awards_nothing(now):
    programme(enabled=False)
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 2, 1))
    assert (api.is_member(c.pk), api.balance(c.pk)) == (False, 0)


def test_award_points_is_idempotent_per_source(now):
    programme()
    c = customer()
    assert (
        api.award_points(
            c.pk, 500, source="referral", source_ref="REF-1", reason="推荐", actor=ACTOR
        )
        is True
    )
    assert (
        api.award_points(
            c.pk, 500, source="referral", source_ref="REF-1", reason="推荐", actor=ACTOR
        )
        is False
    )
    assert api.balance(c.pk) == 500


def test_staff_adjustments_are_audited(now):
    from ecrm.core.models import AuditEntry

    programme()
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 2, 1))
    services.adjust_points(c.pk, -30, reason="客诉补偿冲正", actor=ACTOR)
    assert api.balance(c.pk) == 70
    entry = AuditEntry.objects.filter(action="adjust_points").get()
    assert (entry.before, entry.after["points"], entry.after["change"]) == (
        {"points": 100},
        70,
        -30,
    )
    with pytest.raises(api.LoyaltyError) as refused:
        services.adjust_points(c.pk, 5, reason=" ", actor=ACTOR)
    assert refused.value.field == "reason"


def test_redeemed_value_is_money(now):
    programme()
    c = customer()
    order(c.pk, "SO-1", 1000, at=day(2025, 2, 1))
    api.spend_points(c.pk, 500, source="checkout", source_ref="CK-1", reason="", actor=ACTOR)
    assert {k: str(v) for k, v in api.points_redeemed_value().items()} == {c.pk: "5.00"}


def test_merging_customers_keeps_one_membership_and_all_points(now):
    from ecrm.customers import api as customers

    programme()
    a, b = customer("甲"), customer("乙")
    order(a.pk, "SO-1", 100, at=day(2025, 2, 1))
    order(b.pk, "SO-2", 40, at=day(2025, 2, 2))
    customers.merge_customers(b.pk, a.pk, actor=ACTOR)
    assert list(Membership.objects.values_list("customer_id", "points")) == [(a.pk, 140)]
    assert dt.date(2025, 2, 1) == queries.local_day(Membership.objects.get().joined_at)


def test_the_cli_verifies_the_ledger_and_finds_drift(now):
    from io import StringIO

    from django.core.management import CommandError, call_command

    programme()
    c = customer()
    order(c.pk, "SO-1", 100, at=day(2025, 2, 1))
    out = StringIO()
    call_command("loyalty", "verify", stdout=out)
    assert "every member's points equal their ledger" in out.getvalue()
    Membership.objects.filter(pk=c.pk).update(points=99)
    with pytest.raises(CommandError) as failed:
        call_command("loyalty", "verify", stdout=StringIO(), stderr=StringIO())
    assert str(failed.value) == "1 problems in the points ledger"


def test_orders_before_the_launch_earn_nothing(now):
    programme(settings={"starts_on": "2025-02-01"})
    c = customer()
    order(c.pk, "SO-1", 300, at=day(2025, 1, 20))
    assert api.is_member(c.pk) is False
    order(c.pk, "SO-2", 100, at=day(2025, 2, 2))
    assert (api.is_member(c.pk), api.balance(c.pk)) == (True, 100)


def test_a_rule_can_target_a_segment_in_both_paths(now):
    from ecrm.loyalty import bulk
    from ecrm.loyalty.models import Programme
    from ecrm.segments import services as segment_services

    vip = segment_services.save_segment(name="VIP名单", kind="static", actor=ACTOR)
    bonus = (
        "VIP加赠",
        "",
        {
            "version": 1,
            "event": "order_completed",
            "when": {"segments": [vip.pk]},
            "award": {"type": "fixed", "points": 88},
        },
    )
    base = (
        "消费积分",
        "",
        {
            "version": 1,
            "event": "order_completed",
            "award": {"type": "per_amount", "points": 1, "per": 1},
        },
    )
    programme(rule_list=[base, bonus], enabled=False)
    a, b = customer("甲"), customer("乙")
    segment_services.add_members(vip.pk, [a.pk], actor=ACTOR)
    order(a.pk, "SO-1", 100, at=day(2025, 2, 1))
    order(b.pk, "SO-2", 100, at=day(2025, 2, 1))
    Programme.objects.update(enabled=True)
    bulk.award_all(now=now["at"])
    assert (api.balance(a.pk), api.balance(b.pk)) == (188, 100)
    order(a.pk, "SO-3", 10, at=day(2025, 2, 2))
    assert api.balance(a.pk) == 188 + 98
    with pytest.raises(api.LoyaltyError) as refused:
        services.save_rule(
            name="坏",
            actor=ACTOR,
            definition={
                "version": 1,
                "event": "order_completed",
                "when": {"segments": [999]},
                "award": {"type": "fixed", "points": 1},
            },
        )
    assert refused.value.field == "when.segments[0]"


def test_the_programme_pages_count_members_points_and_movements_exactly(now):
    programme()
    a, b, c = customer(), customer("李娜"), customer("王芳")
    order(a.pk, "SO-1", 120, at=day(2025, 2, 1))
    order(b.pk, "SO-2", 80, at=day(2025, 2, 1))
    order(c.pk, "SO-3", 50, at=day(2025, 2, 2))
    orders.set_order_status("SO-3", "cancelled", actor=ACTOR)
    Membership.objects.filter(customer_id=b.pk).update(tier="gold", special=True)
    assert queries.member_counts() == {
        "by_tier": {"member": 2, "gold": 1},
        "members": 3,
        "points": 200,
        "special": 1,
    }
    assert queries.ledger_totals() == {"earn": 250, "clawback": -50}
