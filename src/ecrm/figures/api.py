"""What other domains may ask of the derived figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ecrm.core import clock
from ecrm.figures.models import CustomerFigures
from ecrm.figures.rules import days_since
from ecrm.figures.services import note_seen, recompute_all, refresh_customers

__all__ = ["Figures", "figures_of", "note_seen", "recompute_all", "refresh_customers"]


@dataclass(frozen=True)
class Figures:
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    order_count: int
    revenue: Decimal
    average_order_value: Decimal
    return_count: int
    returned_amount: Decimal
    last_seen_at: dt.datetime | None
    distinct_products: int
    distinct_categories: int
    days_since_last_order: int | None


EMPTY = dict(
    first_order_at=None,
    last_order_at=None,
    order_count=0,
    revenue=Decimal(0),
    average_order_value=Decimal(0),
    return_count=0,
    returned_amount=Decimal(0),
    last_seen_at=None,
    distinct_products=0,
    distinct_categories=0,
)


def figures_of(customer_id: int) -> Figures:
    row = CustomerFigures.objects.filter(customer_id=customer_id).first()
    values = dict(EMPTY)
    if row is not None:
        values = {k: getattr(row, k) for k in EMPTY}
    return Figures(**values, days_since_last_order=days_since(values["last_order_at"], clock.now()))


def figure(name: str, customer_ref):
    """One figure of a customer as a subquery expression, for set-based reports in other
    domains: ``figure("revenue", OuterRef("customer_id"))`` (NULL when none is stored)."""
    from django.db.models import Subquery

    if name not in EMPTY:
        raise ValueError(f"unknown figure {name!r}")
    return Subquery(CustomerFigures.objects.filter(customer_id=customer_ref).values(name)[:1])
