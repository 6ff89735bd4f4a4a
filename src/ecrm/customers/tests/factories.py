"""Factories for profiles: build through the services, as production does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ecrm.customers import api as customers
from ecrm.orders import api as orders


def customer(name="张伟", user_id=None, anonymous_id=None, **profile):
    claims = []
    if user_id:
        claims.append(customers.make_claim("user_id", user_id))
    if anonymous_id:
        claims.append(customers.make_claim("anonymous_id", anonymous_id))
    return customers.create_customer(profile={"name": name, **profile}, claims=claims)


def order(
    customer_id,
    external_id,
    total="100.00",
    status="paid",
    sku="SKU-1",
    quantity=1,
    placed_at=None,
    kind="product",
):
    total = Decimal(total)
    order_input = orders.OrderInput(
        external_id=external_id,
        placed_at=placed_at or dt.datetime(2026, 11, 11, 10, 0, tzinfo=dt.UTC),
        currency="CNY",
        status=status,
        lines=(
            orders.LineInput(
                sku=sku,
                name=f"商品 {sku}",
                quantity=Decimal(quantity),
                unit_price=total / quantity,
                kind=kind,
            ),
        ),
    )
    return orders.record_order(order_input, customer_id=customer_id)[0]
