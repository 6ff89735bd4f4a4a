"""Reads of the analytics read model: the multi-dimensional report and the dashboards.

``run_report`` answers a validated ``rules.Report`` from the smallest cube that keeps its
dimensions and filters (``rules.choose_cube``) or, for customer segments, a day-level period
or a dimension no cube keeps, from the facts. Distinct customers are counted on the facts
(or, for time alone, taken from the activity cells, which count them exactly per period).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from ecrm.analytics import dialect as sql
from ecrm.analytics import rules
from ecrm.analytics.models import (
    ActivityCell,
    Cell,
    CustomerCell,
    Fact,
    FactKind,
    ItemFact,
    MemberCell,
    Snapshot,
)
from ecrm.catalog.models import Category

CELL = Cell._meta.db_table
CUSTOMER_CELL = CustomerCell._meta.db_table
FACT = Fact._meta.db_table
ITEM = ItemFact._meta.db_table
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------
# Settings the reports need from other domains


def contact_costs() -> tuple[dict[str, Decimal], Decimal]:
    """Cost per contact by channel: the value domain's profit settings (its latest run)."""
    from ecrm.value import api as value

    current = value.profit_settings()
    return rules.contact_costs(
        {
            "contact_costs": current.contact_costs,
            "default_contact_cost": current.default_contact_cost,
        }
    )


def main_currency() -> str:
    """The currency with the most revenue (the shop's currency when there is none yet)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT currency FROM {CELL} WHERE cube = 1 AND currency <> '' "
            "GROUP BY currency ORDER BY SUM(revenue) DESC LIMIT 1"
        )
        row = cursor.fetchone()
    return row[0] if row else settings.ECRM["CURRENCY"]


def currencies() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT currency FROM {CELL} WHERE cube = 1 AND currency <> '' "
            "ORDER BY currency"
        )
        return [row[0] for row in cursor.fetchall()]


def built_at() -> dt.datetime | None:
    snap = Snapshot.objects.filter(part="all").first()
    return snap.built_at if snap else None


# ---------------------------------------------------------------------------------------
# The report


@dataclass
class ReportRow:
    keys: tuple[str, ...]
    labels: tuple[str, ...]
    values: dict[str, object]
    drill: dict[str, dict] = field(default_factory=dict)  # dimension -> drill request


@dataclass
class ReportResult:
    report: rules.Report
    rows: list[ReportRow]
    totals: dict[str, object]
    source: str  # the cube's name, or "facts"
    currency: str
    truncated: bool
    breadcrumbs: list[tuple[str, dict]]  # (label, request) from the top down

    @property
    def columns(self) -> list[tuple[str, str]]:
        dims = [(d, _(rules.LEVELS[d].label)) for d in self.report.dimensions]
        return dims + [(m, _(rules.MEASURES[m].label)) for m in self.report.measures]


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _number(value) -> Decimal:
    if value is None:
        return Decimal(0)
    return Decimal(str(value))


def category_children(parent: int | None) -> list[tuple[int, str]]:
    rows = Category.objects.filter(parent_id=parent).order_by("name").values_list("id", "name")
    return list(rows)


def category_names(ids) -> dict[int, str]:
    names = dict(Category.objects.filter(pk__in=[i for i in ids if i]).values_list("id", "name"))
    names[0] = _("Uncategorised")
    return names


class _Query:
    """The SQL of one report against one table (a cube or a fact table)."""

    def __init__(
        self,
        report: rules.Report,
        cube: rules.Cube | None,
        currency: str | None,
        total: bool = False,
        customer_cells: tuple[rules.CustomerPath, str] | None = None,
    ):
        self.report = report
        self.total = total
        self.cube = cube
        self.customer_cells = customer_cells
        self.source = rules.source_of(report)
        if customer_cells is not None:
            self.table, self.period, self.grain = CUSTOMER_CELL, "period", "customers"
        elif cube is not None:
            self.table, self.period, self.grain = CELL, "period", cube.grain
        else:
            self.table = ITEM if self.source == "item" else FACT
            self.period, self.grain = "day", "day"
        self.where: list[str] = []
        self.params: list = []
        self.groups: list[str] = []
        self.currency = currency
        self._build()

    def _in(self, column: str, values) -> None:
        values = list(values)
        self.where.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
        self.params += values

    def _build(self) -> None:
        report = self.report
        adapt = connection.ops.adapt_datefield_value
        if self.cube is not None:
            self.where.append("cube = %s")
            self.params.append(self.cube.id)
        if self.cube is None and self.customer_cells is None:
            # Every kind, named, so the facts' (kind, day, ...) indexes serve the dates.
            kinds = (FactKind.ORDER, FactKind.RETURN)
            if self.table == FACT:
                kinds += (FactKind.CONTACT,)
            self._in("kind", [k.value for k in kinds])
        if self.customer_cells is not None:
            # ``rules.customer_cells_for`` chose a grain whose periods the dates bound.
            path, grain = self.customer_cells
            self.where.append("path = %s AND grain = %s")
            self.params += [path.id, grain]
        if report.date_from:
            start = report.date_from
            if self.grain == "month":
                start = rules.month_start(start)
            self.where.append(f"{self.period} >= %s")
            self.params.append(adapt(start))
        if report.date_to:
            self.where.append(f"{self.period} <= %s")
            self.params.append(adapt(report.date_to))
        grouping_category = "category" in report.dimensions
        for level, values in report.filters:
            if level == "segment":
                continue  # applied per segment in run_report
            if level == "category" and grouping_category:
                continue  # replaced by the parent's children below
            column = rules.LEVELS[level].column
            if level == "category":
                self._in(column, [int(v) for v in values])
            else:
                self._in(column, values)
        if self.currency is not None:
            # Contacts carry no currency: they count under every one.
            self._in("currency", [self.currency, ""])
        if grouping_category:
            parent = report.filter_values("category")
            parent_id = int(parent[0]) if parent and len(parent) == 1 else None
            children = [cid for cid, _name in category_children(parent_id)]
            if parent_id is None:
                children.append(0)
            elif not children:
                children = [parent_id]
            if self.total:
                self._in("category_id", [rules.ALL_CATEGORIES if parent_id is None else parent_id])
            else:
                self._in("category_id", children)
        if self.total:
            return
        for level in report.dimensions:
            if level in rules.TIME_LEVELS:
                self.groups.append(sql.as_text(sql.start_of(level, self.period)))
            elif level == "segment":
                continue
            else:
                self.groups.append(rules.LEVELS[level].column)

    def sums_sql(self, costs: tuple[dict[str, Decimal], Decimal]) -> list[str]:
        item = self.source == "item"
        columns = rules.ITEM_SUMS if item else rules.FACT_SUMS
        parts = [f"SUM({c})" for c in columns]
        if not item:
            per_channel, default = costs
            cases = " ".join(f"WHEN %s THEN {float(v)!r}" for v in per_channel.values())
            parts.append(f"SUM(contacts * CASE channel {cases} ELSE {float(default)!r} END)")
        return parts

    def case_params(self, costs) -> list:
        if self.source == "item":
            return []
        return list(costs[0].keys())

    def statement(self, selects: list[str], extra_where: str = "", group: bool = True) -> str:
        where = " AND ".join(self.where + ([extra_where] if extra_where else [])) or "1 = 1"
        keys = self.groups if group else []
        head = ", ".join(keys + selects)
        text = f"SELECT {head} FROM {self.table} WHERE {where}"
        if keys:
            text += f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}"
        return text


def _measure_values(report: rules.Report, sums: dict[str, Decimal], customers) -> dict:
    item = rules.source_of(report) == "item"
    revenue = sums["line_sales"] if item else sums["revenue"]
    orders = sums["orders"]
    margin = sums["costed_sales"] - sums["cost"]
    values = {}
    for name in report.measures:
        if name == "revenue":
            v = revenue
        elif name == "orders":
            v = int(orders)
        elif name == "customers":
            v = customers
        elif name == "new_customers":
            v = int(sums.get("new_customers", 0))
        elif name == "aov":
            v = (revenue / orders).quantize(CENT) if orders else None
        elif name == "margin":
            v = margin
        elif name == "margin_rate":
            v = float(margin / sums["costed_sales"]) if sums["costed_sales"] else None
        elif name == "cost_coverage":
            v = float(sums["costed_sales"] / sums["line_sales"]) if sums["line_sales"] else None
        elif name == "cost":
            v = sums["cost"]
        elif name == "discounts":
            v = sums["discount"]
        elif name == "shipping":
            v = sums["shipping"]
        elif name == "returns":
            v = sums["returned"]
        elif name == "quantity":
            v = sums["quantity"]
        elif name == "contacts":
            v = int(sums.get("contacts", 0))
        else:  # service_cost
            v = sums.get("service_cost", Decimal(0))
        if isinstance(v, Decimal) and name not in ("quantity",):
            v = v.quantize(CENT)
        values[name] = v
    return values


def _sum_names(report: rules.Report) -> list[str]:
    if rules.source_of(report) == "item":
        return list(rules.ITEM_SUMS)
    return list(rules.FACT_SUMS) + ["service_cost"]


def _customers_by_activity(report: rules.Report) -> dict | None:
    """Distinct buyers per month / quarter / year (or over one such period) from the
    activity cells, when nothing but time narrows the report. None: count on the facts."""
    if report.levels_used or report.by_category or rules.needed_grain(report) == "day":
        return None
    level = report.time_level
    grains = {"month": "m", "quarter": "q", "year": "y"}
    if level is not None and level not in grains:
        return None
    start, end = report.date_from, report.date_to
    if level is None:
        # One whole period: the report's range must be exactly a month, quarter or year.
        for name in ("year", "quarter", "month"):
            if (
                start
                and end
                and rules.time_range(name, rules.period_label(name, start), "")[0] == start
                and rules.time_range(name, rules.period_label(name, start), "")[1] == end
            ):
                level = name
                break
        else:
            return None
    grain = grains[level]
    rows = ActivityCell.objects.filter(grain=grain)
    if start:
        rows = rows.filter(period__gte=start)
    if end:
        rows = rows.filter(period__lte=end)
    found: dict = {}
    for period, buyers in rows.values_list("period", "buyers"):
        key = _date(period).isoformat()
        found[key] = found.get(key, 0) + buyers
    if report.time_level is None:
        return {(): sum(found.values())}
    return {(k,): v for k, v in found.items()}


def _customers_on_facts(query: _Query, extra_where: str, extra_params: list, group: bool):
    fact = _Query(query.report, None, query.currency, total=not group)
    statement = fact.statement(
        ["COUNT(DISTINCT customer_id)"],
        extra_where=" AND ".join(filter(None, ["kind = 'o'", extra_where])),
        group=group,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, fact.params + extra_params)
        rows = cursor.fetchall()
    n = len(fact.groups) if group else 0
    return {tuple(_key(v) for v in row[:n]): row[n] for row in rows}


def customer_cells_built() -> bool:
    """Whether the customer cells are current: written by a rebuild, or kept by every
    refresh since the read model was empty (a read model that held facts before the cells
    existed counts on the facts until its next rebuild; migration 0004)."""
    return Snapshot.objects.filter(part="customers").exists()


def _customers_from_cells(report: rules.Report, currency: str | None, group: bool):
    """Distinct customers per row (or in total) from the customer cells, or None when the
    cells cannot answer exactly: the report needs a path and grain they keep, and each row
    must be one cell (a row made of several would count a customer in each)."""
    choice = rules.customer_cells_for(report)
    if choice is None or not customer_cells_built():
        return None
    query = _Query(report, None, currency, total=not group, customer_cells=choice)
    statement = query.statement(["SUM(customers)", "COUNT(*)"], group=group)
    with connection.cursor() as cursor:
        cursor.execute(statement, query.params)
        rows = cursor.fetchall()
    n = len(query.groups) if group else 0
    if any(row[n + 1] > 1 for row in rows):
        return None
    return {tuple(_key(v) for v in row[:n]): int(row[n] or 0) for row in rows}


def _key(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _segment_clause(segment_id: int) -> tuple[str, list]:
    from ecrm.segments import api as segments

    inner, params = segments.member_ids(segment_id).query.sql_with_params()
    return f"customer_id IN ({inner})", list(params)


def _segments(report: rules.Report) -> list[tuple[int, str]]:
    from ecrm.segments import api as segments

    chosen = report.filter_values("segment")
    choices = segments.segment_choices()
    if chosen:
        wanted = {int(v) for v in chosen}
        return [(c.id, c.name) for c in choices if c.id in wanted]
    return [(c.id, c.name) for c in choices]


def _passes(report: rules.Report) -> tuple[list[tuple[tuple, str, list]], tuple[str, list]]:
    """Segment reports run once per segment, each limited to the segment's members; the
    totals cover the union of those segments. Other reports: one pass, no extra clause."""
    if "segment" not in report.levels_used:
        return [((), "", [])], ("", [])
    clauses = []
    for segment_id, name in _segments(report):
        clause, params = _segment_clause(segment_id)
        clauses.append(((str(segment_id), name), clause, params))
    if not clauses:
        return [((), "1 = 0", [])], ("1 = 0", [])
    union = "(" + " OR ".join(f"({c})" for _k, c, _p in clauses) + ")"
    union_params = [p for _k, _c, ps in clauses for p in ps]
    if "segment" in report.dimensions:
        return clauses, (union, union_params)
    return [((), union, union_params)], (union, union_params)


def run_report(report: rules.Report) -> ReportResult:
    """Answer a validated report: rows, totals, where they came from and how to drill."""
    with sql.report_session():
        return _answer(report)


def _answer(report: rules.Report) -> ReportResult:
    costs = contact_costs()
    currency = None if "currency" in report.levels_used else main_currency()
    cube = rules.choose_cube(report)
    query = _Query(report, cube, currency)
    total_query = _Query(report, cube, currency, total=True)
    names = _sum_names(report)
    n_keys = len(query.groups)
    want_customers = "customers" in report.measures
    passes, (union, union_params) = _passes(report)
    seg_index = report.dimensions.index("segment") if "segment" in report.dimensions else None
    activity_counts = None
    if want_customers and not union:
        activity_counts = _customers_by_activity(report)
        if activity_counts is None:
            activity_counts = _customers_from_cells(report, currency, group=True)

    rows: list[ReportRow] = []
    truncated = False
    with connection.cursor() as cursor:
        for seg_key, clause, clause_params in passes:
            params = query.case_params(costs) + query.params + clause_params
            statement = query.statement(query.sums_sql(costs), clause)
            cursor.execute(f"{statement} LIMIT {rules.MAX_ROWS + 1}", params)
            fetched = cursor.fetchall()
            if len(fetched) > rules.MAX_ROWS:
                truncated, fetched = True, fetched[: rules.MAX_ROWS]
            counts = {}
            if want_customers:
                counts = activity_counts
                if counts is None:
                    counts = _customers_on_facts(query, clause, clause_params, True)
            for row in fetched:
                keys = tuple(_key(v) for v in row[:n_keys])
                row_sums = {n: _number(v) for n, v in zip(names, row[n_keys:], strict=True)}
                full_keys = keys
                if seg_index is not None:
                    full_keys = keys[:seg_index] + (seg_key[0],) + keys[seg_index:]
                values = _measure_values(report, row_sums, counts.get(keys, 0) if counts else 0)
                rows.append(ReportRow(keys=full_keys, labels=full_keys, values=values))
        cursor.execute(
            total_query.statement(total_query.sums_sql(costs), union, group=False),
            total_query.case_params(costs) + total_query.params + union_params,
        )
        grand = {n: _number(v) for n, v in zip(names, cursor.fetchone(), strict=True)}
    grand_customers = 0
    if want_customers:
        grand_customers = _total_customers(report, query, union, union_params)
    _label(report, rows)
    _sort(report, rows)
    if len(rows) > report.limit:
        rows, truncated = rows[: report.limit], True
    for row in rows:
        for i, level in enumerate(report.dimensions):
            target = rules.drill(report, level, row.keys[i])
            if target is not None:
                row.drill[level] = target
    return ReportResult(
        report=report,
        rows=rows,
        totals=_measure_values(report, grand, grand_customers),
        source=cube.name if cube else "facts",
        currency=currency or "",
        truncated=truncated,
        breadcrumbs=_breadcrumbs(report),
    )


def _customers_ever(currency: str | None) -> int:
    """Every customer has exactly one first order: their number is the sum of first orders."""
    cube = rules.CUBES[0]
    where, params = f"cube = {cube.id}", []
    if currency is not None:
        where += " AND currency IN (%s, '')"
        params.append(currency)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT SUM(new_customers) FROM {CELL} WHERE {where}", params)
        return int(cursor.fetchone()[0] or 0)


def _total_customers(report: rules.Report, query: _Query, union: str, params: list) -> int:
    unbounded = report.date_from is None and report.date_to is None
    if not union and unbounded and not report.levels_used and not report.by_category:
        return _customers_ever(query.currency)
    if not union:
        whole = rules.Report(
            dimensions=(),
            measures=report.measures,
            filters=report.filters,
            date_from=report.date_from,
            date_to=report.date_to,
        )
        counts = _customers_by_activity(whole)
        if counts is not None:
            return counts.get((), 0)
        # By category the total is the buyers of the parent (or of every category) over
        # the whole period.
        untimed = replace(
            report, dimensions=tuple(d for d in report.dimensions if d not in rules.TIME_LEVELS)
        )
        counts = _customers_from_cells(
            untimed if report.by_category else whole, query.currency, group=False
        )
        if counts is not None:
            return counts.get((), 0)
    return _customers_on_facts(query, union, params, False).get((), 0)


def _label(report: rules.Report, rows: list[ReportRow]) -> None:
    names: dict[int, str] = {}
    if "category" in report.dimensions:
        i = report.dimensions.index("category")
        names = category_names({int(r.keys[i]) for r in rows if r.keys[i].isdigit()})
    segment_names = {}
    if "segment" in report.dimensions:
        segment_names = {str(k): v for k, v in _segments(report)}
    for row in rows:
        labels = []
        for level, key in zip(report.dimensions, row.keys, strict=True):
            if level in rules.TIME_LEVELS:
                labels.append(rules.period_label(level, _date(key)))
            elif level == "category":
                labels.append(names.get(int(key), key) if key.isdigit() else key)
            elif level == "segment":
                labels.append(segment_names.get(key, key))
            else:
                labels.append(key or _("(none)"))
        row.labels = tuple(labels)
        # Time rows drill by their label (2025-Q2), not by the period's first day.
        row.keys = tuple(
            rules.period_label(level, _date(key)) if level in rules.TIME_LEVELS else key
            for level, key in zip(report.dimensions, row.keys, strict=True)
        )


def _sort(report: rules.Report, rows: list[ReportRow]) -> None:
    if report.sort:
        name = report.sort.lstrip("-")
        reverse = report.sort.startswith("-")
        if name in report.dimensions:
            i = report.dimensions.index(name)
            rows.sort(key=lambda r: r.labels[i], reverse=reverse)
        else:
            rows.sort(key=lambda r: (r.values[name] is None, r.values[name] or 0), reverse=reverse)
        return
    if report.time_level is not None and report.dimensions[0] == report.time_level:
        return  # chronological, as the SQL ordered them
    first = report.measures[0]
    rows.sort(key=lambda r: r.values[first] or 0, reverse=True)


def _breadcrumbs(report: rules.Report) -> list[tuple[str, dict]]:
    """The drill path: "All", then each applied filter. Going back to a crumb drops the
    filters after it and puts each drilled dimension back at the highest dropped level."""
    data = report.as_dict()
    steps = [(level, [value]) for level, value in report.time_filters] + [
        (name, list(values)) for name, values in report.filters
    ]
    names = {}
    category_ids = [int(v) for name, vs in steps if name == "category" for v in vs]
    if category_ids:
        names = category_names(set(category_ids))

    def back_to(kept: int) -> dict:
        dims = list(report.dimensions)
        done: set[str] = set()
        for level, _values in steps[kept:]:
            hierarchy = rules.LEVELS[level].hierarchy
            if hierarchy in done:
                continue
            done.add(hierarchy)
            for i, d in enumerate(dims):
                if rules.LEVELS[d].hierarchy == hierarchy:
                    dims[i] = level
                    break
        return dict(data, dimensions=dims, filters={n: v for n, v in steps[:kept]})

    crumbs = [(_("All"), back_to(0))]
    for k, (level, values) in enumerate(steps, start=1):
        shown = ", ".join(names.get(int(v), v) if level == "category" else v for v in values)
        crumbs.append((f"{_(rules.LEVELS[level].label)}: {shown}", back_to(k)))
    return crumbs


# ---------------------------------------------------------------------------------------
# Dashboards


def activity_series(grain: str, periods: int | None = None) -> list[dict]:
    """Per period (m / q / y): visitors, viewers, carters, buyers, repeat buyers, new buyers,
    orders and revenue, summed over cohorts; oldest first."""
    rows: dict[dt.date, dict] = {}
    fields = (
        "visitors",
        "viewers",
        "carters",
        "checkouts",
        "buyers",
        "repeat_buyers",
        "new_buyers",
        "orders",
        "revenue",
    )
    for values in ActivityCell.objects.filter(grain=grain).values("period", *fields):
        period = _date(values.pop("period"))
        into = rows.setdefault(period, {f: 0 for f in fields})
        for f in fields:
            into[f] += values[f]
    ordered = [dict(period=p, **rows[p]) for p in sorted(rows)]
    if periods:
        ordered = ordered[-periods:]
    level = rules.ACTIVITY_GRAINS[grain]
    for row in ordered:
        row["label"] = rules.period_label(level, row["period"])
        row["repeat_rate"] = row["repeat_buyers"] / row["buyers"] if row["buyers"] else None
        row["revenue"] = Decimal(str(row["revenue"])).quantize(CENT)
    return ordered


def funnel(grain: str, period: dt.date) -> dict:
    """The funnel of one month / quarter / year: customers at each stage and the share of
    visitors and of the previous stage."""
    totals = dict.fromkeys([s for s, _l, _h in rules.FUNNEL_STAGES], 0)
    for values in ActivityCell.objects.filter(grain=grain, period=period).values(*totals):
        for k in totals:
            totals[k] += values[k]
    stages = []
    previous = None
    for key, label, help_text in rules.FUNNEL_STAGES:
        count = totals[key]
        stages.append(
            {
                "key": key,
                "label": _(label),
                "help": _(help_text),
                "customers": count,
                "of_visitors": count / totals["visitors"] if totals["visitors"] else None,
                "of_previous": count / previous if previous else None,
            }
        )
        previous = count
    return {"period": period, "stages": stages}


def funnel_periods(grain: str) -> list[dt.date]:
    periods = ActivityCell.objects.filter(grain=grain).values_list("period", flat=True)
    return sorted({_date(p) for p in periods}, reverse=True)


def cohorts(months: int = 18) -> dict:
    """Retention by first-order month: for each cohort, its size and the share of it that
    ordered in each following month (month 0 is the cohort's own month)."""
    cells = ActivityCell.objects.filter(grain="m", cohort__gt=0).values_list(
        "cohort", "period", "buyers"
    )
    by_cohort: dict[int, dict[int, int]] = {}
    for cohort, period, buyers in cells:
        period = _date(period)
        age = (period.year * 12 + period.month) - ((cohort // 100) * 12 + cohort % 100)
        if age < 0:
            continue
        by_cohort.setdefault(cohort, {})[age] = by_cohort.get(cohort, {}).get(age, 0) + buyers
    keys = sorted(by_cohort)[-months:]
    width = 0
    rows = []
    for cohort in keys:
        ages = by_cohort[cohort]
        size = ages.get(0, 0)
        width = max(width, max(ages) + 1)
        rows.append(
            {
                "cohort": f"{cohort // 100}-{cohort % 100:02d}",
                "size": size,
                "counts": [ages.get(a, 0) for a in range(max(ages) + 1)],
                "rates": [ages.get(a, 0) / size if size else None for a in range(max(ages) + 1)],
            }
        )
    width = min(width, months)
    for row in rows:
        row["counts"] = row["counts"][:width]
        row["rates"] = row["rates"][:width]
    return {"rows": rows, "width": width}


def members() -> dict:
    """The member snapshot: totals by status, by registration month and channel, by place."""
    cells = list(
        MemberCell.objects.values(
            "view",
            "registered",
            "channel",
            "country",
            "region",
            "city",
            "anonymous",
            "status",
            "customers",
        )
    )
    base = [c for c in cells if c["view"] == 1]
    known = [c for c in base if not c["anonymous"]]
    by_status = dict.fromkeys(rules.MEMBER_STATUSES, 0)
    for c in known:
        by_status[c["status"]] += c["customers"]
    by_month: dict[int, int] = {}
    by_channel: dict[str, int] = {}
    for c in known:
        by_month[c["registered"]] = by_month.get(c["registered"], 0) + c["customers"]
        by_channel[c["channel"]] = by_channel.get(c["channel"], 0) + c["customers"]
    by_region: dict[tuple[str, str], int] = {}
    by_city: dict[tuple[str, str, str], int] = {}
    for c in cells:
        if c["view"] != 2 or c["anonymous"]:
            continue
        key = (c["country"], c["region"])
        by_region[key] = by_region.get(key, 0) + c["customers"]
        city = (c["country"], c["region"], c["city"])
        by_city[city] = by_city.get(city, 0) + c["customers"]
    snap = Snapshot.objects.filter(part__in=["all", "members"]).order_by("-built_at").first()
    return {
        "members": sum(by_status.values()),
        "anonymous": sum(c["customers"] for c in base if c["anonymous"]),
        "by_status": by_status,
        "by_month": sorted((m, n) for m, n in by_month.items() if m),
        "by_channel": sorted(by_channel.items(), key=lambda kv: -kv[1]),
        "by_region": sorted(by_region.items(), key=lambda kv: -kv[1]),
        "by_city": by_city,
        "built_at": snap.built_at if snap else None,
    }


def staff_kpis(date_from: dt.date | None, date_to: dt.date | None) -> list[dict]:
    """Per employee: orders, revenue, customers' first orders and contacts handled."""
    report = rules.parse_report(
        {
            "dimensions": ["employee"],
            "measures": ["orders", "revenue", "new_customers", "contacts", "service_cost"],
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
            "limit": rules.MAX_ROWS,
        }
    )
    result = run_report(report)
    rows = []
    for row in result.rows:
        if not row.keys[0]:
            continue
        rows.append({"employee": row.keys[0], **row.values})
    rows.sort(key=lambda r: (-(r["revenue"] or 0), -r["contacts"], r["employee"]))
    return rows


def headline() -> dict:
    """The home page's figures: the last 12 months of buyers (first-time and returning) with
    the repeat-purchase rate, as a chart option, and the latest month."""
    from ecrm.analytics.web import charts

    series = activity_series("m", 12)
    latest = series[-1] if series else None
    chart = charts.bars(
        [r["label"] for r in series],
        [
            (_("New buyers"), [r["new_buyers"] for r in series]),
            (_("Returning buyers"), [r["repeat_buyers"] for r in series]),
        ],
        stack=True,
        line=(_("Repeat-purchase rate"), [r["repeat_rate"] for r in series], "percent"),
    )
    return {"series": series, "latest": latest, "chart": chart, "built_at": built_at()}


def report_table(result: ReportResult) -> tuple[list[str], list[list]]:
    """Header and rows of a report for CSV / XLSX: dimension labels, then measure values."""
    header = [label for _name, label in result.columns]
    body = [
        list(row.labels) + [row.values[m] for m in result.report.measures] for row in result.rows
    ]
    dims = len(result.report.dimensions)
    label = [_("Total")] + [""] * (dims - 1) if dims else []
    body.append(label + [result.totals[m] for m in result.report.measures])
    return header, body
