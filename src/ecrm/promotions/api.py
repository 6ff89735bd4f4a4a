"""What other domains may call in promotions."""

from __future__ import annotations

from ecrm.promotions import services
from ecrm.promotions.rules import Cart, DefinitionError
from ecrm.promotions.services import (
    CouponRefused,
    PromotionError,
    RewardRefused,
    claim_referral,
    claim_reward,
    issue_coupon,
    quote_coupon,
    redeem_coupon,
    referral_code_of,
    release_order,
    settle_referrals,
)

__all__ = [
    "Cart",
    "CouponRefused",
    "DefinitionError",
    "PromotionError",
    "RewardRefused",
    "claim_referral",
    "claim_reward",
    "issue_coupon",
    "load_demo",
    "orders_changed",
    "quote_coupon",
    "reconcile_all",
    "redeem_coupon",
    "referral_code_of",
    "referrals_claimed",
    "release_order",
    "settle_referrals",
]


def load_demo(*, until, seed: int = 42, progress=lambda message: None) -> dict[str, int]:
    """The demo shop's campaigns, rewards, referrals and coupon uses (``ecrm demo``)."""
    from ecrm.promotions import demo

    return demo.load(until=until, seed=seed, progress=progress)


def orders_changed(customer_ids: list[int]) -> None:
    """Orders of these customers changed: cancelled orders give their coupon uses back,
    and referrals whose new customer now has a qualifying order are rewarded."""
    services.orders_changed(customer_ids)


def reconcile_all() -> None:
    """After a large import: every live coupon use of a now cancelled or refunded order is
    given back, and every pending referral that now qualifies is rewarded."""
    services.release_all_cancelled()
    services.settle_referrals(None)


def referrals_claimed(claims: list[tuple[int, str, str, str]]) -> None:
    """Tracking saw ``referral_code`` traits: (customer id, code, anonymous id, device id)."""
    for customer_id, code, anonymous_id, device_id in claims:
        services.claim_referral(
            customer_id, code, anonymous_id=anonymous_id, device_id=device_id, channel="tracking"
        )
