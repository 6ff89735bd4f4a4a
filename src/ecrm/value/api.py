"""What other domains (segments, campaigns, the console) may ask of customer value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import (
    BooleanField,
    CharField,
    Count,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.utils.translation import gettext_lazy as _

from ecrm.value.groups import GROUP_BY_CODE, GROUPS
from ecrm.value.models import CustomerPrediction, CustomerProfit, CustomerScore, RfmRun

if TYPE_CHECKING:
    from ecrm.value.services import (
        NotEnoughData,
        compute_profit,
        compute_rfm,
        profit_settings,
        refresh_all,
        score_customers,
    )

# The runs live in ``services`` (numpy, scipy): imported on first use, so a process that
# only reads scores (the console, segments) does not load them.
_SERVICES = (
    "NotEnoughData",
    "compute_profit",
    "compute_rfm",
    "profit_settings",
    "refresh_all",
    "score_customers",
)


def __getattr__(name: str):
    if name in _SERVICES:
        from ecrm.value import services

        return getattr(services, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CustomerRfm",
    "GroupCount",
    "NotEnoughData",
    "Pareto",
    "compute_profit",
    "compute_rfm",
    "customer_card",
    "flag_counts",
    "group_counts",
    "pareto",
    "profit_settings",
    "queue_refresh_all",
    "refresh_all",
    "score_customers",
    "score_of",
    "segment_facts",
    "segment_fields",
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


def queue_refresh_all() -> None:
    """``refresh_all`` on the worker (after a load too large to score in line)."""
    from ecrm.value.tasks import refresh_all as job

    job()


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
        # The scores stored are all the latest run's.
        computed_at=RfmRun.objects.values_list("computed_at", flat=True).first(),
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


@dataclass(frozen=True)
class CustomerCard:
    """What Customer 360 shows of one customer's value (None where no run scored them)."""

    rfm: CustomerRfm | None
    prediction: dict | None
    profit: dict | None
    horizon_days: int | None


def customer_card(customer_id: int) -> CustomerCard:
    prediction = (
        CustomerPrediction.objects.filter(customer_id=customer_id)
        .values("p_alive", "expected_purchases", "expected_order_value", "clv", "run__horizon_days")
        .first()
    )
    profit = (
        CustomerProfit.objects.filter(customer_id=customer_id)
        .values("revenue", "margin", "service_cost", "profit")
        .first()
    )
    return CustomerCard(
        rfm=score_of(customer_id),
        prediction=prediction,
        profit=profit,
        horizon_days=prediction["run__horizon_days"] if prediction else None,
    )


# --- segments ----------------------------------------------------------------------------

# Field name -> (table, column, type, label). Names are stable: saved segments use them.
_SEGMENT_COLUMNS = {
    "rfm_group": (CustomerScore, "rfm_group", "text", _("RFM group")),
    "r": (CustomerScore, "r", "number", _("RFM recency score (1-5)")),
    "f": (CustomerScore, "f", "number", _("RFM frequency score (1-5)")),
    "m": (CustomerScore, "m", "number", _("RFM monetary score (1-5)")),
    "dormant": (CustomerScore, "dormant", "bool", _("Dormant")),
    "low_return": (CustomerScore, "low_return", "bool", _("Low return")),
    "p_alive": (CustomerPrediction, "p_alive", "number", _("P(alive)")),
    "expected_purchases": (
        CustomerPrediction,
        "expected_purchases",
        "number",
        _("Expected purchases (horizon)"),
    ),
    "expected_order_value": (
        CustomerPrediction,
        "expected_order_value",
        "number",
        _("Expected order value"),
    ),
    "clv": (CustomerPrediction, "clv", "number", _("Predicted CLV")),
    "margin": (CustomerProfit, "margin", "number", _("Margin")),
    "profit": (CustomerProfit, "profit", "number", _("Profit")),
}

_OUTPUT = {"text": CharField, "number": FloatField, "bool": BooleanField}


def _group_choices() -> list[tuple[str, str]]:
    return [(g.code, _(g.en)) for g in GROUPS]


def segment_fields() -> dict[str, dict]:
    """The customer-value fields a segment may test, by stable name.

    Each entry: ``type`` ("text", "number" or "bool"), ``expression`` (a Subquery on
    ``OuterRef("pk")`` for ``Customer.objects.annotate(...)``; NULL for a customer the
    latest run did not score), ``label`` (lazy, translated) and, for ``rfm_group``,
    ``choices`` (code, label). Numbers compare as floats.
    """
    fields = {}
    for name, (model, column, kind, label) in _SEGMENT_COLUMNS.items():
        expression = Subquery(
            model.objects.filter(customer_id=OuterRef("pk")).values(column)[:1],
            output_field=_OUTPUT[kind](),
        )
        entry = {"type": kind, "expression": expression, "label": label}
        if name == "rfm_group":
            entry["choices"] = _group_choices()
        fields[name] = entry
    return fields


def _plain(kind: str, value):
    if value is None:
        return None
    if kind == "number":
        return float(value)
    if kind == "bool":
        return bool(value)
    return str(value)


def segment_facts(customer_id: int) -> dict[str, object]:
    """The same fields for one customer (None where the latest run did not score them)."""
    rows = {}
    for model in (CustomerScore, CustomerPrediction, CustomerProfit):
        columns = [c for m, c, _k, _l in _SEGMENT_COLUMNS.values() if m is model]
        rows[model] = model.objects.filter(customer_id=customer_id).values(*columns).first()
    facts = {}
    for name, (model, column, kind, _label) in _SEGMENT_COLUMNS.items():
        row = rows[model]
        facts[name] = _plain(kind, row[column]) if row else None
    return facts
