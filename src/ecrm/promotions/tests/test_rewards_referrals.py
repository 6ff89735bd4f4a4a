"""Rewards bought with points, targeting by tier and segment, and referrals."""

import pytest

from ecrm.core.audit import SYSTEM
from ecrm.customers import api as customers
from ecrm.customers.tests import factories as people
from ecrm.events import api as events
from ecrm.loyalty import api as loyalty
from ecrm.promotions import services
from ecrm.promotions.models import Coupon, Referral, Reward
from ecrm.promotions.tests import factories

pytestmark = pytest.mark.django_db


def _member(points=0, **profile):
    person = people.customer(**profile)
    loyalty.join(person.pk, actor=SYSTEM)
    if points:
        loyalty.award_points(
            person.pk, points, source="staff", source_ref=f"seed-{person.pk}", reason="t",
            actor=SYSTEM,
        )  # fmt: skip
    return person


def _coupon_reward(points=500, stock=None):
    campaign = factories.campaign(name="积分兑换券", code="", codes="unique", valid_days=30)
    return services.save_reward(
        name="20元券", kind="coupon", points=points, campaign_id=campaign.pk, stock=stock,
        actor=SYSTEM,
    )  # fmt: skip


def test_a_reward_spends_points_and_issues_a_coupon_once_per_request():
    reward = _coupon_reward(points=500)
    member = _member(points=800)
    claim, created = services.claim_reward(reward.pk, member.pk, request_ref="r-1", actor=SYSTEM)
    again, created_again = services.claim_reward(
        reward.pk, member.pk, request_ref="r-1", actor=SYSTEM
    )
    assert (created, created_again, again.pk) == (True, False, claim.pk)
    assert loyalty.balance(member.pk) == 300
    coupon = Coupon.objects.get(pk=claim.coupon_id)
    assert (coupon.customer_id, coupon.source, coupon.max_uses) == (member.pk, "reward", 1)
    assert services.quote_coupon(coupon.code, factories.cart(member.pk)).ok is True


def test_not_enough_points_spends_nothing_and_issues_nothing():
    reward = _coupon_reward(points=500, stock=3)
    member = _member(points=499)
    with pytest.raises(services.RewardRefused) as caught:
        services.claim_reward(reward.pk, member.pk, request_ref="r-1", actor=SYSTEM)
    assert (caught.value.reason, caught.value.balance) == ("insufficient_points", 499)
    assert loyalty.balance(member.pk) == 499
    assert Coupon.objects.count() == 0
    assert Reward.objects.get(pk=reward.pk).stock == 3


def test_out_of_stock_gift_is_refused():
    gift = services.save_reward(
        name="保温杯", kind="gift", points=100, gift_sku="GIFT-CUP", stock=1, actor=SYSTEM
    )
    a, b = _member(points=300, name="甲"), _member(points=300, name="乙")
    services.claim_reward(gift.pk, a.pk, request_ref="r-a", actor=SYSTEM)
    with pytest.raises(services.RewardRefused) as caught:
        services.claim_reward(gift.pk, b.pk, request_ref="r-b", actor=SYSTEM)
    assert caught.value.reason == "out_of_stock"
    assert (loyalty.balance(a.pk), loyalty.balance(b.pk)) == (200, 300)


def test_reward_validation_names_the_field():
    with pytest.raises(services.PromotionError) as caught:
        services.save_reward(name="券", kind="coupon", points=10, actor=SYSTEM)
    assert caught.value.field == "campaign_id"
    with pytest.raises(services.PromotionError) as caught:
        services.save_reward(name="券", kind="gift", points=0, actor=SYSTEM)
    assert caught.value.field == "points"
    with pytest.raises(services.PromotionError) as caught:  # was a 500 (past 64 bits)
        services.save_reward(name="杯", kind="gift", points=5, stock=10**20, actor=SYSTEM)
    assert (caught.value.field, str(caught.value)) == (
        "stock",
        "stock: must be from 0 to 100,000,000",
    )


def test_tier_targeting_asks_loyalty():
    factories.campaign(name="金卡专享", code="GOLDVIP", target={"tiers": ["gold"]})
    member = _member()
    stranger = people.customer(name="路人")
    assert services.quote_coupon("GOLDVIP", factories.cart(member.pk)).reason == "not_targeted"
    assert services.quote_coupon("GOLDVIP", factories.cart(stranger.pk)).reason == ("not_targeted")


def test_segment_targeting_asks_segments():
    from ecrm.segments import services as segment_services

    segment = segment_services.save_segment(name="深圳客户", kind="static", actor=SYSTEM)
    inside = people.customer(name="深圳人", city="深圳")
    outside = people.customer(name="北京人", city="北京")
    segment_services.add_members(segment.pk, [inside.pk], actor=SYSTEM)
    factories.campaign(name="深圳专享", code="SZ2026", target={"segments": [segment.pk]})
    assert services.quote_coupon("SZ2026", factories.cart(inside.pk)).ok is True
    assert services.quote_coupon("SZ2026", factories.cart(outside.pk)).reason == "not_targeted"
    with pytest.raises(services.rules.DefinitionError) as caught:
        factories.campaign(name="坏", code="BAD123", target={"segments": [segment.pk + 99]})
    assert caught.value.field == "target.segments[0]"


# --- referrals ----------------------------------------------------------------------


def test_referral_rewards_both_on_the_first_qualifying_order_once():
    referrer = people.customer(name="推荐人", phone="13812345678")
    code = services.referral_code_of(referrer.pk)
    assert services.referral_code_of(referrer.pk) == code
    friend = people.customer(name="新朋友", phone="13900001111")
    referral = services.claim_referral(friend.pk, code, device_id="dev-friend")
    assert (referral.state, referral.referrer_id) == ("pending", referrer.pk)
    people.order(friend.pk, "SO-1", total="50.00", status="placed")
    assert Referral.objects.get(pk=referral.pk).state == "pending"
    people.order(friend.pk, "SO-2", total="120.00", status="paid")
    done = Referral.objects.get(pk=referral.pk)
    assert (done.state, done.order_ref, done.referrer_points, done.referee_points) == (
        "rewarded", "SO-2", 500, 200,
    )  # fmt: skip
    assert (loyalty.balance(referrer.pk) >= 500, loyalty.balance(friend.pk) >= 200) == (True, True)
    before = (loyalty.balance(referrer.pk), loyalty.balance(friend.pk))
    people.order(friend.pk, "SO-3", total="90.00", status="paid")
    assert services.settle_referrals(None) == 0
    assert services.claim_referral(friend.pk, code).pk == referral.pk
    referrer_gain = loyalty.balance(referrer.pk) - before[0]
    assert referrer_gain == 0


@pytest.mark.parametrize(
    ("friend_profile", "claim", "reason"),
    [
        ({"phone": "13812345678"}, {}, "same_phone"),
        ({"email": "ref@example.com"}, {}, "same_email"),
        ({}, {"anonymous_id": "anon-ref"}, "same_device"),
        ({}, {"device_id": "phone-of-referrer"}, "same_device"),
    ],
)
def test_self_referral_is_kept_rejected_with_its_reason(friend_profile, claim, reason):
    referrer = people.customer(
        name="推荐人", phone="13812345678", email="ref@example.com", anonymous_id="anon-ref"
    )
    events.ingest(
        [{"type": "track", "event": "Signed In", "userId": "u-ref", "anonymousId": "anon-ref",
          "messageId": "m-1", "context": {"device": {"id": "phone-of-referrer"}}}]
    )  # fmt: skip
    code = services.referral_code_of(referrer.pk)
    friend = people.customer(name="朋友", **friend_profile)
    referral = services.claim_referral(friend.pk, code, **claim)
    assert (referral.state, referral.reason) == ("rejected", reason)
    people.order(friend.pk, "SO-9", total="100.00")
    assert Referral.objects.get(pk=referral.pk).state == "rejected"


def test_a_customer_who_ordered_before_is_not_new_and_unknown_codes_are_ignored():
    referrer = people.customer(name="推荐人")
    code = services.referral_code_of(referrer.pk)
    old = people.customer(name="老客")
    people.order(old.pk, "SO-OLD", total="100.00")
    assert services.claim_referral(old.pk, code).reason == "not_new"
    assert services.claim_referral(people.customer(name="新").pk, "NOSUCHCODE") is None


def test_identify_with_a_referral_code_trait_attributes_the_new_customer():
    referrer = people.customer(name="推荐人")
    code = services.referral_code_of(referrer.pk)
    events.ingest(
        [{"type": "identify", "userId": "u-new", "anonymousId": "anon-new", "messageId": "m-2",
          "traits": {"name": "新客", "referral_code": code.lower()},
          "context": {"device": {"id": "dev-new"}}}]
    )  # fmt: skip
    referral = Referral.objects.get()
    assert (referral.referrer_id, referral.state, referral.device_id, referral.channel) == (
        referrer.pk, "pending", "dev-new", "tracking",
    )  # fmt: skip
    assert referral.anonymous_id == "anon-new"
    assert customers.live_id(referral.referee_id) == referral.referee_id


def test_programme_is_validated_data():
    with pytest.raises(services.rules.DefinitionError) as caught:
        services.save_programme({"referrer_points": -1}, actor=SYSTEM)
    assert caught.value.field == "referrer_points"
    terms = services.save_programme(
        {**services.rules.DEFAULT_PROGRAMME, "referrer_points": 1000, "min_order_total": "99"},
        actor=SYSTEM,
    )
    assert (services.programme().referrer_points, terms.min_order_total) == (1000, 99)


def test_issue_to_a_segment_gives_each_member_one_coupon_once():
    from ecrm.segments import services as segment_services

    segment = segment_services.save_segment(name="VIP名单", kind="static", actor=SYSTEM)
    members = [people.customer(name=f"会员{i}").pk for i in range(3)]
    segment_services.add_members(segment.pk, members, actor=SYSTEM)
    campaign = factories.campaign(name="VIP券", code="", codes="unique")
    assert services.issue_to_segment(campaign.pk, segment.pk, actor=SYSTEM) == 3
    assert services.issue_to_segment(campaign.pk, segment.pk, actor=SYSTEM) == 0
    owners = sorted(Coupon.objects.filter(campaign=campaign).values_list("customer_id", flat=True))
    assert owners == members
