"""JSON API of analytics: the multi-dimensional report and the dashboards' figures.

``POST /api/analytics/report`` takes a report request (``rules.parse_report``); an unknown
dimension or measure is a 400 naming it and listing the ones that exist."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from ecrm.analytics import queries, rules
from ecrm.config.api import between, one_of, require
from ecrm.core.messages import MUST_BE_ONE_OF
from ecrm.staff import rules as perms

router = Router(tags=["analytics"])


class ReportIn(Schema):
    dimensions: list[str] = []
    measures: list[str] = list(rules.DEFAULT_MEASURES)
    filters: dict[str, list[str]] = {}
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = ""
    limit: int = rules.DEFAULT_LIMIT


class RowOut(Schema):
    keys: list[str]
    labels: list[str]
    values: dict[str, float | int | None]


class ReportOut(Schema):
    dimensions: list[str]
    measures: list[str]
    currency: str
    source: str
    truncated: bool
    rows: list[RowOut]
    totals: dict[str, float | int | None]


def _plain(values: dict) -> dict:
    return {
        k: (float(v) if v is not None and not isinstance(v, int) else v) for k, v in values.items()
    }


@router.post("/report", response=ReportOut, summary="Run a multi-dimensional report")
def report(request, payload: ReportIn):
    """Measures (revenue, orders, customers, margin, discounts, returns, service cost, ...) by
    up to three dimensions (time levels, geography, category, channel, department, store,
    employee, currency, segment), with filters and a period (inclusive days)."""
    require(request, perms.VIEW_ANALYTICS)
    data = payload.dict()
    data["from"] = data.pop("date_from")
    data["to"] = data.pop("date_to")
    try:
        parsed = rules.parse_report(
            {k: v for k, v in data.items() if v not in (None, "", {})}
            | {"dimensions": data["dimensions"], "measures": data["measures"]}
        )
    except rules.ReportError as exc:
        if exc.field not in ("from", "to"):
            raise
        # The rules name the period as the console and the CLI spell it; this body says
        # date_from and date_to.
        raise rules.ReportError.of(f"date_{exc.field}", exc) from None
    result = queries.run_report(parsed)
    return {
        "dimensions": list(parsed.dimensions),
        "measures": list(parsed.measures),
        "currency": result.currency,
        "source": result.source,
        "truncated": result.truncated,
        "rows": [
            {"keys": list(r.keys), "labels": list(r.labels), "values": _plain(r.values)}
            for r in result.rows
        ],
        "totals": _plain(result.totals),
    }


class LevelOut(Schema):
    name: str
    hierarchy: str
    label: str
    drill_to: str | None


class MeasureOut(Schema):
    name: str
    label: str
    kind: str
    by_category: bool
    help: str


class CatalogueOut(Schema):
    dimensions: list[LevelOut]
    measures: list[MeasureOut]


@router.get("/dimensions", response=CatalogueOut, summary="Dimensions and measures")
def dimensions(request):
    require(request, perms.VIEW_ANALYTICS)
    return {
        "dimensions": [
            {"name": lv.name, "hierarchy": lv.hierarchy, "label": lv.label, "drill_to": lv.drill_to}
            for lv in rules.LEVELS.values()
        ],
        "measures": [
            {
                "name": m.name,
                "label": m.label,
                "kind": m.kind,
                "by_category": m.by_category,
                "help": m.help,
            }
            for m in rules.MEASURES.values()
        ],
    }


class PeriodOut(Schema):
    period: dt.date
    label: str
    visitors: int
    viewers: int
    carters: int
    buyers: int
    repeat_buyers: int
    new_buyers: int
    orders: int
    revenue: float
    repeat_rate: float | None


Grain = one_of(rules.ACTIVITY_GRAINS)
CohortMonths = between(1, rules.MAX_COHORT_MONTHS)


@router.get(
    "/activity", response=list[PeriodOut], summary="Funnel stages and repeat rate per period"
)
def activity(request, grain: Grain = "m"):
    """Per month (``m``), quarter (``q``) or year (``y``): distinct customers at each funnel
    stage, first-time and returning buyers, the repeat-purchase rate, orders and revenue."""
    require(request, perms.VIEW_ANALYTICS)
    if grain not in rules.ACTIVITY_GRAINS:
        raise rules.ReportError("grain", MUST_BE_ONE_OF, choices="m, q, y")
    return queries.activity_series(grain)


class CohortOut(Schema):
    cohort: str
    size: int
    counts: list[int]
    rates: list[float | None]


@router.get("/cohorts", response=list[CohortOut], summary="Cohort retention by first-order month")
def cohorts(request, months: CohortMonths = 18):
    require(request, perms.VIEW_ANALYTICS)
    if not 1 <= months <= rules.MAX_COHORT_MONTHS:
        raise rules.ReportError("months", rules.BETWEEN, min=1, max=rules.MAX_COHORT_MONTHS)
    return queries.cohorts(months)["rows"]
