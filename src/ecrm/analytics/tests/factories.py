"""A small shop with every kind of fact the read model counts, built through the services.

Times are UTC; the shop's calendar is Asia/Shanghai (+8), so order ``o3`` placed on
2025-01-31 20:00 UTC belongs to 1 February.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from ecrm.catalog import api as catalog
from ecrm.contacts import api as contacts
from ecrm.core.audit import Actor
from ecrm.customers.tests import factories as people
from ecrm.events.models import Event
from ecrm.orders import api as orders

_messages = itertools.count(1)


def at(day: str, hour: int = 2) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def order(customer_id, external_id, placed_at, lines, status="paid", **dims):
    return orders.record_order(
        orders.OrderInput(
            external_id=external_id,
            placed_at=placed_at,
            currency="CNY",
            status=status,
            lines=tuple(
                orders.LineInput(sku=sku, quantity=Decimal(q), unit_price=Decimal(p))
                for sku, q, p in lines
            ),
            **dims,
        ),
        customer_id=customer_id,
    )[0]


def event(customer_id, name, moment, kind="track"):
    return Event.objects.create(
        message_id=f"m-{next(_messages)}",
        type=kind,
        name=name,
        customer_id=customer_id,
        timestamp=moment,
        received_at=moment,
    )


def shop(agent) -> dict:
    """Customers A (杭州), B (深圳) and anonymous C; five orders (one cancelled, one guest),
    a return, a phone contact and a few events. Expected figures are in the tests."""
    catalog.upsert_products(
        [
            catalog.ProductInput(
                sku="TEA-1", name="龙井", category="食品/茶叶", price=Decimal(50), cost=Decimal(20)
            ),
            catalog.ProductInput(
                sku="CUP-1",
                name="保温杯",
                category="家居/杯子",
                price=Decimal(100),
                cost=Decimal(60),
            ),
            catalog.ProductInput(
                sku="NOCOST", name="杯垫", category="家居/杯子", price=Decimal(30)
            ),
        ]
    )
    a = people.customer("张伟", user_id="u-a", country="CN", province="浙江省", city="杭州市")
    b = people.customer("李娜", user_id="u-b", country="CN", province="广东省", city="深圳市")
    c = people.customer("", anonymous_id="anon-c")
    zj = dict(country="CN", region="浙江省", city="杭州市")
    gd = dict(country="CN", region="广东省", city="深圳市")
    event(a.pk, "Product Viewed", at("2025-01-09"))
    event(a.pk, "Product Added", at("2025-01-09", 3))
    order(
        a.pk,
        "o1",
        at("2025-01-10"),
        [("TEA-1", 2, 50), ("CUP-1", 1, 100)],
        channel="app",
        discount=Decimal(20),
        shipping=Decimal(10),
        **zj,
    )
    order(
        a.pk,
        "o2",
        at("2025-02-03", 18),
        [("NOCOST", 1, 30)],
        channel="store",
        store="杭州西湖店",
        department="零售门店部",
        employee="HZ01",
        **zj,
    )
    event(b.pk, "Product Viewed", at("2025-01-31", 20))
    order(b.pk, "o3", at("2025-01-31", 20), [("TEA-1", 1, 50)], channel="web", **gd)
    order(
        b.pk, "o4", at("2025-02-20"), [("CUP-1", 1, 100)], status="cancelled", channel="web", **gd
    )
    order(None, "o5", at("2025-02-10"), [("TEA-1", 1, 50)], channel="web")
    orders.record_return(
        orders.ReturnInput(
            external_id="r1",
            returned_at=at("2025-02-15"),
            currency="CNY",
            order_external_id="o1",
            lines=(orders.LineInput(sku="TEA-1", quantity=Decimal(1), unit_price=Decimal(40)),),
        ),
        customer_id=None,
    )
    event(c.pk, "首页", at("2025-02-02"), kind="page")
    contacts.log_contact(
        customer_id=a.pk,
        channel="phone",
        direction="in",
        summary="问发票",
        actor=Actor.of(agent),
        occurred_at=at("2025-02-05"),
    )
    return {"a": a, "b": b, "c": c}
