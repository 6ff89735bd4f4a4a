"""Real concurrency: 50 threads, each with its own database connection, redeem at once.

On PostgreSQL the conditional UPDATE of the campaign row is what holds the limits; on
SQLite the write lock does. Either way no limit is passed and every refusal names why.
"""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from ecrm.customers.tests import factories as people
from ecrm.promotions import services
from ecrm.promotions.models import Coupon, CouponCampaign, Redemption
from ecrm.promotions.tests import factories

THREADS = 50


def _race(attempts):
    """Run ``attempts`` (code, cart, order_ref) at once; returns Counter of outcomes."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(code, cart, order_ref):
        try:
            barrier.wait(timeout=60)
            services.redeem_coupon(code, cart, order_ref=order_ref)
            result = "redeemed"
        except services.CouponRefused as exc:
            result = exc.reason
        except Exception as exc:  # reported, so the test fails naming it
            result = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=a) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return Counter(outcomes)


@pytest.mark.django_db(transaction=True)
def test_fifty_customers_race_for_ten_uses():
    campaign = factories.campaign(limit_total=10, budget="1000")
    buyers = [people.customer(name=f"客户{i}").pk for i in range(THREADS)]
    outcomes = _race([("DOUBLE11", factories.cart(b), f"SO-{i}") for i, b in enumerate(buyers)])
    assert outcomes == Counter({"redeemed": 10, "limit_total": 40})
    row = CouponCampaign.objects.get(pk=campaign.pk)
    assert (row.uses, row.spent) == (10, Decimal("200.00"))
    assert Redemption.objects.filter(state="redeemed").count() == 10


@pytest.mark.django_db(transaction=True)
def test_one_customer_fifty_orders_at_once_within_the_per_customer_limit():
    factories.campaign(limit_per_customer=3)
    buyer = people.customer().pk
    outcomes = _race([("DOUBLE11", factories.cart(buyer), f"SO-{i}") for i in range(THREADS)])
    assert outcomes == Counter({"redeemed": 3, "limit_per_customer": 47})
    assert Redemption.objects.filter(customer_id=buyer, state="redeemed").count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_single_use_code_is_used_once_and_the_budget_is_never_overspent():
    campaign = factories.campaign(name="门店券", code="", codes="unique", budget="100")
    code = services.generate_codes(campaign.pk, 1, actor=services.audit.SYSTEM)[0]
    buyers = [people.customer(name=f"客户{i}").pk for i in range(THREADS)]
    outcomes = _race([(code, factories.cart(b), f"SO-{i}") for i, b in enumerate(buyers)])
    assert outcomes == Counter({"redeemed": 1, "code_used_up": 49})
    assert Coupon.objects.get(code=code).uses == 1
    shared = factories.campaign(name="限额券", code="BUDGET", budget="100")
    outcomes = _race([("BUDGET", factories.cart(b), f"SO-B{i}") for i, b in enumerate(buyers)])
    assert outcomes == Counter({"redeemed": 5, "budget": 45})
    assert CouponCampaign.objects.get(pk=shared.pk).spent == Decimal("100.00")


@pytest.mark.django_db(transaction=True)
def test_the_same_order_sent_fifty_times_is_redeemed_once():
    campaign = factories.campaign()
    buyer = people.customer().pk
    outcomes = _race([("DOUBLE11", factories.cart(buyer), "SO-1") for _ in range(THREADS)])
    assert outcomes == Counter({"redeemed": THREADS})
    assert Redemption.objects.count() == 1
    assert CouponCampaign.objects.get(pk=campaign.pk).uses == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_reward_claims_at_once_never_overdraw_the_points():
    from ecrm.core.audit import SYSTEM
    from ecrm.loyalty import api as loyalty
    from ecrm.promotions.models import RewardClaim

    campaign = factories.campaign(name="兑换券", code="", codes="unique")
    reward = services.save_reward(
        name="20元券", kind="coupon", points=500, campaign_id=campaign.pk, actor=SYSTEM
    )
    member = people.customer().pk
    loyalty.award_points(member, 2000, source="staff", source_ref="seed", reason="t", actor=SYSTEM)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim(n):
        try:
            barrier.wait(timeout=60)
            services.claim_reward(reward.pk, member, request_ref=f"r-{n}", actor=SYSTEM)
            result = "claimed"
        except services.RewardRefused as exc:
            result = exc.reason
        except Exception as exc:
            result = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert Counter(outcomes) == Counter({"claimed": 4, "insufficient_points": 16})
    assert loyalty.balance(member) == 0
    assert RewardClaim.objects.count() == 4
    assert Coupon.objects.filter(customer_id=member).count() == 4
