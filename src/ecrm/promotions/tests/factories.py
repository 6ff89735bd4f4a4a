"""Factories for promotions tests: built through the services, as production does."""

from __future__ import annotations

from ecrm.core.audit import SYSTEM
from ecrm.promotions import services


def definition(**overrides) -> dict:
    base = {
        "discount": {"kind": "fixed", "value": "20"},
        "min_spend": "100",
        "currency": "CNY",
        "codes": "shared",
    }
    base.update(overrides)
    return base


def campaign(name="双十一满减", code="DOUBLE11", **overrides):
    return services.save_campaign(
        name=name, definition=definition(**overrides), code=code, actor=SYSTEM
    )


def cart(customer_id, subtotal="200.00", currency="CNY", shipping="0"):
    return services.clean_cart(
        customer_id=customer_id, currency=currency, subtotal=subtotal, shipping=shipping
    )
