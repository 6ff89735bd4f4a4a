"""What other domains (segments, campaigns, the console) may ask of customer value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from ecrm.value.models import CustomerScore, RfmRun
from ecrm.value.rfm import GROUP_BY_CODE, GROUPS
from ecrm.value.services import compute_rfm

__all__ = [
    "CustomerRfm",
    "GroupCount",
    "Pareto",
    "compute_rfm",
    "flag_counts",
    "group_counts",
    "pareto",
    "score_of",
]


@dataclass(frozen=True)
class CustomerRfm:
    customer_id: int
    r: int
    f: int
    m: int
    group: str
    group_en: str
    group_zh: str
    dormant: bool
    low_return: bool
    computed_at: dt.datetime


@dataclass(frozen=True)
class GroupCount:
    code: str
    en: str
    zh: str
    customers: int
    share: float
    revenue: Decimal
    revenue_share: float


@dataclass(frozen=True)
class Pareto:
    computed_at: dt.datetime
    window_days: int | None
    dormant_days: int
    customers: int
    top20_share: float
    curve: tuple[tuple[float, float], ...]


def score_of(customer_id: int) -> CustomerRfm | None:
    row = CustomerScore.objects.filter(customer_id=customer_id).first()
    if row is None:
        return None
    group = GROUP_BY_CODE[row.rfm_group]
    return CustomerRfm(
        customer_id=row.customer_id,
        r=row.r,
        f=row.f,
        m=row.m,
        group=group.code,
        group_en=group.en,
        group_zh=group.zh,
        dormant=row.dormant,
        low_return=row.low_return,
        computed_at=row.computed_at,
    )


def group_counts() -> list[GroupCount]:
    """Every named group in the order of ``rfm.GROUPS``, empty ones with zeros."""
    found = {
        row["rfm_group"]: row
        for row in CustomerScore.objects.values("rfm_group").annotate(
            n=Count("pk"), revenue=Sum("revenue")
        )
    }
    total = sum(row["n"] for row in found.values())
    total_revenue = sum((row["revenue"] for row in found.values()), Decimal(0))
    result = []
    for group in GROUPS:
        row = found.get(group.code, {"n": 0, "revenue": Decimal(0)})
        revenue = row["revenue"] or Decimal(0)
        result.append(
            GroupCount(
                code=group.code,
                en=group.en,
                zh=group.zh,
                customers=row["n"],
                share=row["n"] / total if total else 0.0,
                revenue=revenue,
                revenue_share=float(revenue / total_revenue) if total_revenue > 0 else 0.0,
            )
        )
    return result


def flag_counts() -> dict[str, int]:
    """How many scored customers are dormant and how many are low-return."""
    return CustomerScore.objects.aggregate(
        scored=Count("pk"),
        dormant=Count("pk", filter=Q(dormant=True)),
        low_return=Count("pk", filter=Q(low_return=True)),
    )


def pareto() -> Pareto | None:
    """The 80/20 figures of the latest run, or None before the first run."""
    run = RfmRun.objects.first()
    if run is None:
        return None
    return Pareto(
        computed_at=run.computed_at,
        window_days=run.window_days,
        dormant_days=run.dormant_days,
        customers=run.customers,
        top20_share=run.top20_share,
        curve=tuple((float(x), float(y)) for x, y in run.curve),
    )
