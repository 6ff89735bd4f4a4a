"""Coupons at checkout: quote, redeem within every limit, replay, release on cancel."""

from decimal import Decimal

import pytest

from ecrm.core import clock
from ecrm.core.audit import SYSTEM
from ecrm.customers.tests import factories as people
from ecrm.orders import api as orders
from ecrm.promotions import services
from ecrm.promotions.models import Coupon, CouponCampaign, Redemption
from ecrm.promotions.tests import factories

pytestmark = pytest.mark.django_db


def _counters(campaign):
    row = CouponCampaign.objects.get(pk=campaign.pk)
    return row.uses, row.spent


def test_quote_gives_the_discount_and_redeem_records_it():
    campaign = factories.campaign(discount={"kind": "fixed", "value": "20"})
    buyer = people.customer()
    cart = factories.cart(buyer.pk, "199.00")
    quote = services.quote_coupon("double11", cart)
    assert (quote.ok, quote.discount, quote.campaign) == (True, Decimal("20.00"), "双十一满减")
    redemption, created = services.redeem_coupon("DOUBLE11", cart, order_ref="SO-1")
    assert created is True
    assert (redemption.discount, redemption.customer_id) == (Decimal("20.00"), buyer.pk)
    assert _counters(campaign) == (1, Decimal("20.00"))


def test_redeeming_again_for_the_same_order_is_a_no_op():
    campaign = factories.campaign()
    buyer = people.customer()
    first, _ = services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk), order_ref="SO-1")
    again, created = services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk), order_ref="SO-1")
    assert (again.pk, created) == (first.pk, False)
    assert _counters(campaign) == (1, Decimal("20.00"))


def test_unknown_code_is_404_and_below_minimum_spend_is_refused_with_its_reason():
    factories.campaign()
    buyer = people.customer()
    with pytest.raises(services.CouponRefused) as caught:
        services.redeem_coupon("NOPE1", factories.cart(buyer.pk), order_ref="SO-1")
    assert (caught.value.reason, caught.value.status) == ("unknown_code", 404)
    quote = services.quote_coupon("DOUBLE11", factories.cart(buyer.pk, "99.99"))
    assert (quote.ok, quote.reason) == (False, "min_spend")
    with pytest.raises(services.CouponRefused) as caught:
        services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk, "99.99"), order_ref="SO-1")
    assert (caught.value.reason, caught.value.status) == ("min_spend", 409)
    assert Redemption.objects.count() == 0


def test_global_per_customer_and_budget_limits_hold():
    campaign = factories.campaign(limit_total=3, limit_per_customer=2, budget="1000")
    a, b = people.customer(name="李娜"), people.customer(name="王芳")
    services.redeem_coupon("DOUBLE11", factories.cart(a.pk), order_ref="SO-1")
    services.redeem_coupon("DOUBLE11", factories.cart(a.pk), order_ref="SO-2")
    with pytest.raises(services.CouponRefused) as caught:
        services.redeem_coupon("DOUBLE11", factories.cart(a.pk), order_ref="SO-3")
    assert caught.value.reason == "limit_per_customer"
    services.redeem_coupon("DOUBLE11", factories.cart(b.pk), order_ref="SO-4")
    with pytest.raises(services.CouponRefused) as caught:
        services.redeem_coupon("DOUBLE11", factories.cart(b.pk), order_ref="SO-5")
    assert caught.value.reason == "limit_total"
    assert _counters(campaign) == (3, Decimal("60.00"))


def test_budget_refuses_the_discount_that_would_overspend_it():
    campaign = factories.campaign(
        discount={"kind": "percent", "value": "10"}, min_spend="0", budget="50"
    )
    buyer = people.customer()
    services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk, "400.00"), order_ref="SO-1")
    with pytest.raises(services.CouponRefused) as caught:
        services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk, "200.00"), order_ref="SO-2")
    assert caught.value.reason == "budget"
    services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk, "100.00"), order_ref="SO-3")
    assert _counters(campaign) == (2, Decimal("50.00"))


def test_an_issued_single_use_coupon_serves_its_owner_once():
    campaign = factories.campaign(name="新人券", code="", codes="unique", valid_days=30)
    owner, other = people.customer(name="赵敏"), people.customer(name="周杰")
    coupon, created = services.issue_coupon(
        campaign.pk, owner.pk, actor=SYSTEM, source="welcome", source_ref=str(owner.pk)
    )
    again, created_again = services.issue_coupon(
        campaign.pk, owner.pk, actor=SYSTEM, source="welcome", source_ref=str(owner.pk)
    )
    assert (created, created_again, again.pk) == (True, False, coupon.pk)
    assert CouponCampaign.objects.get(pk=campaign.pk).issued == 1
    quote = services.quote_coupon(coupon.code, factories.cart(other.pk))
    assert quote.reason == "not_for_customer"
    services.redeem_coupon(coupon.code, factories.cart(owner.pk), order_ref="SO-1")
    with pytest.raises(services.CouponRefused) as caught:
        services.redeem_coupon(coupon.code, factories.cart(owner.pk), order_ref="SO-2")
    assert caught.value.reason == "code_used_up"
    assert Coupon.objects.get(pk=coupon.pk).uses == 1


def test_generated_batch_codes_are_distinct_and_each_usable_once():
    campaign = factories.campaign(name="门店券", code="", codes="unique")
    codes = services.generate_codes(campaign.pk, 50, actor=SYSTEM, prefix="SH")
    assert len(set(codes)) == 50 and all(c.startswith("SH") for c in codes)
    assert all(len(c) == 12 and set(c[2:]) <= set(services.rules.CODE_ALPHABET) for c in codes)
    # Written as plain rows (COPY on PostgreSQL): what the model would have written.
    stored = Coupon.objects.get(code=codes[2])
    terms = services.terms_of(campaign)
    assert (stored.campaign_id, stored.customer_id, stored.uses, stored.void) == (
        campaign.pk,
        None,
        0,
        False,
    )
    assert (stored.source, stored.source_ref, stored.max_uses) == ("batch", "", terms.uses_per_code)
    assert stored.expires_at == services.rules.expiry_for(terms, stored.issued_at)
    assert abs((clock.now() - stored.issued_at).total_seconds()) < 60
    buyer = people.customer()
    services.redeem_coupon(codes[0], factories.cart(buyer.pk), order_ref="SO-1")
    assert services.quote_coupon(codes[0], factories.cart(buyer.pk)).reason == "code_used_up"
    assert services.quote_coupon(codes[1], factories.cart(buyer.pk)).ok is True


def test_cancelling_the_order_gives_the_use_back():
    campaign = factories.campaign(limit_total=1)
    buyer = people.customer()
    services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk), order_ref="SO-1")
    people.order(buyer.pk, "SO-1", total="200.00", status="paid")
    assert services.quote_coupon("DOUBLE11", factories.cart(buyer.pk)).reason == "limit_total"
    orders.set_order_status("SO-1", "cancelled", actor=SYSTEM)
    assert _counters(campaign) == (0, Decimal("0.00"))
    assert Redemption.objects.get().state == "released"
    assert Redemption.objects.get().release_reason == "order cancelled"
    services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk), order_ref="SO-2")
    assert _counters(campaign) == (1, Decimal("20.00"))


def test_paused_campaign_and_void_coupon_are_refused():
    campaign = factories.campaign()
    buyer = people.customer()
    services.set_campaign_status(campaign.pk, "paused", actor=SYSTEM)
    assert services.quote_coupon("DOUBLE11", factories.cart(buyer.pk)).reason == "inactive"
    services.set_campaign_status(campaign.pk, "active", actor=SYSTEM)
    services.void_coupon("DOUBLE11", actor=SYSTEM)
    assert services.quote_coupon("DOUBLE11", factories.cart(buyer.pk)).reason == "void"


def test_saving_a_campaign_versions_it_and_checks_codes():
    campaign = factories.campaign()
    with pytest.raises(services.PromotionError) as caught:
        factories.campaign(name="另一个", code="double11")
    assert caught.value.field == "code"
    saved = services.save_campaign(
        name="双十一满减",
        definition=factories.definition(min_spend="300"),
        actor=SYSTEM,
        campaign_id=campaign.pk,
    )
    assert (saved.version, saved.definition["min_spend"]) == (2, "300.00")
    assert list(saved.versions.values_list("version", flat=True).order_by("version")) == [1, 2]
    with pytest.raises(services.PromotionError) as caught:
        services.save_campaign(
            name="双十一满减",
            definition=factories.definition(codes="unique"),
            actor=SYSTEM,
            campaign_id=campaign.pk,
        )
    assert caught.value.field == "codes"


def test_new_customers_only_reads_the_order_count():
    factories.campaign(name="新人券", code="WELCOME", target={"new_customers_only": True})
    fresh, regular = people.customer(name="新客"), people.customer(name="老客")
    people.order(regular.pk, "SO-OLD", total="50.00")
    assert services.quote_coupon("WELCOME", factories.cart(fresh.pk)).ok is True
    assert services.quote_coupon("WELCOME", factories.cart(regular.pk)).reason == (
        "new_customers_only"
    )


def test_after_a_large_import_cancelled_orders_give_their_uses_back():
    from ecrm.promotions import api

    campaign = factories.campaign()
    buyer = people.customer()
    people.order(buyer.pk, "SO-1", total="200.00", status="paid")
    services.redeem_coupon("DOUBLE11", factories.cart(buyer.pk), order_ref="SO-1")
    order = orders.OrderInput(
        external_id="SO-1",
        placed_at=people.dt.datetime(2026, 11, 11, 10, 0, tzinfo=people.dt.UTC),
        currency="CNY",
        status="cancelled",
        lines=(orders.LineInput(sku="SKU-1", name="商品", unit_price=Decimal("200.00")),),
    )
    orders.record_orders([(order, buyer.pk)])  # the importer's path: no per-order reactions
    assert _counters(campaign) == (1, Decimal("20.00"))
    api.reconcile_all()
    assert _counters(campaign) == (0, Decimal("0.00"))
