"""The demo shop's promotions: campaigns, rewards, referrals and coupon uses on 双十一 orders.

Cheap at any size: a few hundred rows, picked from recent orders. Campaigns, rewards and the
programme go through the services; past coupon uses and referrals are history and are
written as rows (like the rest of the demo), with points through ``loyalty.api``.
Loading twice changes nothing (campaigns and rewards are found by name).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ecrm.core import audit
from ecrm.promotions import rules, services
from ecrm.promotions.models import (
    Coupon,
    CouponCampaign,
    Redemption,
    Referral,
    ReferralCode,
    ReferralState,
    Reward,
)

ACTOR = audit.Actor("demo")
PAID = ("paid", "shipped", "delivered")


def _at(day: dt.date, hour: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _double11(until: dt.date) -> tuple[dt.date, dt.date]:
    """The most recent 1–11 November that has ended by ``until``."""
    year = until.year if until >= dt.date(until.year, 11, 11) else until.year - 1
    return dt.date(year, 11, 1), dt.date(year, 11, 11)


def _campaign(name: str, definition: dict, code: str = "", description: str = ""):
    found = CouponCampaign.objects.filter(name=name).first()
    if found is not None:
        return found, False
    campaign = services.save_campaign(
        name=name, definition=definition, code=code, description=description, actor=ACTOR
    )
    return campaign, True


def load(*, until: dt.date, seed: int = 42, progress=lambda message: None) -> dict[str, int]:
    """Campaigns, rewards, referrals and coupon uses for the demo shop; returns counts.
    One transaction: the services' own become savepoints, and the load commits once."""
    with transaction.atomic():
        return _load(until, seed, progress)


def _load(until: dt.date, seed: int, progress) -> dict[str, int]:
    if CouponCampaign.objects.exists() and not Coupon.objects.exists():
        # ``ecrm demo --reset`` emptied every table that points at customers (codes, uses,
        # referrals); what is left of an earlier demo (campaigns with their counters,
        # rewards) no longer adds up, so it goes too.
        Reward.objects.all().delete()
        CouponCampaign.objects.all().delete()
    from ecrm.orders import api as orders

    rng = random.Random(seed)
    first, last = _double11(until)
    currency = "CNY"
    counts = {"campaigns": 0, "coupons": 0, "redemptions": 0, "referrals": 0, "rewards": 0}

    double11, made = _campaign(
        "双十一满减",
        {
            "discount": {"kind": "fixed", "value": "50"},
            "min_spend": "299",
            "currency": currency,
            "codes": "shared",
            "limit_total": 100_000,
            "limit_per_customer": 3,
            "budget": "500000",
            "starts_at": _at(first).isoformat(),
            "ends_at": _at(last + dt.timedelta(days=1)).isoformat(),
        },
        code="DOUBLE11",
        description="满299减50,每人限用3次",
    )
    counts["campaigns"] += made
    welcome, made = _campaign(
        "新人券",
        {
            "discount": {"kind": "percent", "value": "10", "max_discount": "50"},
            "min_spend": "0",
            "currency": currency,
            "codes": "unique",
            "limit_per_customer": 1,
            "valid_days": 30,
            "target": {"new_customers_only": True},
        },
        description="首单9折,最高减50,领取后30天有效",
    )
    counts["campaigns"] += made
    _, made = _campaign(
        "金卡专享",
        {
            "discount": {"kind": "percent", "value": "15", "max_discount": "200"},
            "min_spend": "500",
            "currency": currency,
            "codes": "shared",
            "limit_per_customer": 2,
            "target": {"tiers": ["gold", "diamond"]},
        },
        code="GOLD15",
        description="金卡及以上会员满500享85折",
    )
    counts["campaigns"] += made
    _, made = _campaign(
        "满99包邮",
        {
            "discount": {"kind": "free_shipping"},
            "min_spend": "99",
            "currency": currency,
            "codes": "shared",
        },
        code="FREESHIP99",
    )
    counts["campaigns"] += made
    voucher20, made = _campaign(
        "积分兑换·20元券",
        {
            "discount": {"kind": "fixed", "value": "20"},
            "currency": currency,
            "codes": "unique",
            "valid_days": 60,
        },
    )
    counts["campaigns"] += made
    voucher50, made = _campaign(
        "积分兑换·50元券",
        {
            "discount": {"kind": "fixed", "value": "50"},
            "min_spend": "300",
            "currency": currency,
            "codes": "unique",
            "valid_days": 60,
        },
    )
    counts["campaigns"] += made
    for name, kind, points, campaign, sku, stock in (
        ("20元无门槛券", "coupon", 2000, voucher20, "", None),
        ("50元券(满300可用)", "coupon", 4500, voucher50, "", None),
        ("会员帆布袋", "gift", 3000, None, "GIFT-BAG", 500),
        ("品牌保温杯", "gift", 8000, None, "GIFT-CUP", 200),
    ):
        if not Reward.objects.filter(name=name).exists():
            services.save_reward(
                name=name,
                kind=kind,
                points=points,
                campaign_id=campaign.pk if campaign else None,
                gift_sku=sku,
                stock=stock,
                actor=ACTOR,
            )
            counts["rewards"] += 1

    # 双十一: coupon uses on real orders of those days (history, so written as rows).
    if not Redemption.objects.filter(campaign=double11).exists():
        progress("  promotions: 双十一 coupon uses …")
        coupon = Coupon.objects.get(campaign=double11, customer__isnull=True, source="")
        picked = orders.orders_between(
            _at(first), _at(last + dt.timedelta(days=1)), statuses=PAID,
            min_total=Decimal(299), limit=2000,
        )  # fmt: skip
        picked = rng.sample(picked, min(len(picked), 600))
        per_customer: dict[int, int] = {}
        rows = []
        for order in picked:
            if per_customer.get(order.customer_id, 0) >= 3:
                continue
            per_customer[order.customer_id] = per_customer.get(order.customer_id, 0) + 1
            rows.append(
                Redemption(
                    coupon=coupon,
                    campaign=double11,
                    customer_id=order.customer_id,
                    order_ref=order.external_id,
                    currency=order.currency,
                    cart_subtotal=order.total,
                    discount=Decimal("50.00"),
                    redeemed_at=order.placed_at,
                )
            )
        with transaction.atomic():
            Redemption.objects.bulk_create(rows, batch_size=1000)
            CouponCampaign.objects.filter(pk=double11.pk).update(
                uses=F("uses") + len(rows), spent=F("spent") + Decimal(50) * len(rows)
            )
            Coupon.objects.filter(pk=coupon.pk).update(uses=F("uses") + len(rows))
        counts["redemptions"] = len(rows)

    # Referrals: recent buyers were brought by other customers.
    if not Referral.objects.exists():
        progress("  promotions: referrals …")
        counts["referrals"] = _referrals(until, rng)

    # 新人券 for the newest buyers.
    if not Coupon.objects.filter(campaign=welcome).exists():
        recent = orders.orders_between(
            _at(until - dt.timedelta(days=30)), _at(until + dt.timedelta(days=1)),
            statuses=PAID, limit=1000,
        )  # fmt: skip
        ids = sorted({o.customer_id for o in recent})[:500]
        counts["coupons"] = services.issue_to_customers(
            welcome.pk, ids, actor=ACTOR, source="welcome", ref="demo"
        )
    return counts


def _referrals(until: dt.date, rng: random.Random) -> int:
    from ecrm.loyalty import api as loyalty
    from ecrm.orders import api as orders

    terms = services.programme()
    recent = orders.orders_between(
        _at(until - dt.timedelta(days=180)), _at(until + dt.timedelta(days=1)),
        statuses=PAID, limit=3000,
    )  # fmt: skip
    buyers = sorted({o.customer_id for o in recent})
    rng.shuffle(buyers)
    if len(buyers) < 4:
        return 0
    half = min(len(buyers) // 2, 120)
    referrers = buyers[: max(1, half // 3)]
    referees = buyers[half : half * 2]
    codes = {}
    now = timezone.now()
    for referrer in referrers:
        code = rules.generate_code("", 8)
        codes[referrer] = code
    ReferralCode.objects.bulk_create(
        [
            ReferralCode(customer_id=r, code=c, clicks=rng.randint(0, 40), created_at=now)
            for r, c in codes.items()
        ],
        ignore_conflicts=True,
    )
    codes = dict(
        ReferralCode.objects.filter(customer_id__in=list(codes)).values_list("customer_id", "code")
    )
    made = 0
    for i, referee in enumerate(referees):
        referrer = referrers[i % len(referrers)]
        order = orders.first_order(referee, statuses=PAID)
        if order is None:
            continue
        referred_at = order.placed_at - dt.timedelta(
            days=rng.randint(1, 20), hours=rng.randint(0, 23)
        )
        rejected = i % 25 == 24
        with transaction.atomic():
            referral = Referral.objects.create(
                referrer_id=referrer,
                referee_id=referee,
                code=codes[referrer],
                state=ReferralState.REJECTED if rejected else ReferralState.REWARDED,
                reason="same_device" if rejected else "",
                device_id=f"demo-device-{referee}",
                channel=rng.choice(("wechat", "app", "web")),
                created_at=referred_at,
            )
            if referral.state == ReferralState.REWARDED:
                ref = f"referral:{referral.pk}"
                loyalty.award_points(
                    referrer, terms.referrer_points, source="referral",
                    source_ref=f"{ref}:referrer", reason=f"referred customer #{referee}",
                    actor=ACTOR, at=order.placed_at,
                )  # fmt: skip
                loyalty.award_points(
                    referee, terms.referee_points, source="referral",
                    source_ref=f"{ref}:referee", reason=f"referred by customer #{referrer}",
                    actor=ACTOR, at=order.placed_at,
                )  # fmt: skip
                referral.order_ref = order.external_id
                referral.rewarded_at = order.placed_at
                referral.referrer_points = terms.referrer_points
                referral.referee_points = terms.referee_points
                referral.save()
        made += 1
    # New customers whose orders are not paid yet: waiting for their first qualifying order.
    placed = orders.orders_between(
        _at(until - dt.timedelta(days=60)), _at(until + dt.timedelta(days=1)),
        statuses=("placed",), limit=500,
    )  # fmt: skip
    taken = set(referees) | set(referrers)
    waiting = []
    for o in placed:
        if o.customer_id in taken or orders.first_order(o.customer_id, statuses=PAID):
            continue
        taken.add(o.customer_id)
        waiting.append(o)
        if len(waiting) == 20:
            break
    Referral.objects.bulk_create(
        [
            Referral(
                referrer_id=referrers[i % len(referrers)],
                referee_id=o.customer_id,
                code=codes[referrers[i % len(referrers)]],
                state=ReferralState.PENDING,
                device_id=f"demo-device-{o.customer_id}",
                channel="wechat",
                created_at=o.placed_at - dt.timedelta(days=1),
            )
            for i, o in enumerate(waiting)
        ]
    )
    return made + len(waiting)
