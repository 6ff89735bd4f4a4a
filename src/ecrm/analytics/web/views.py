"""The analytics pages of the console: members, funnel, retention, the multi-dimensional
report and staff KPIs. Every table downloads as CSV or XLSX with ``?export=csv|xlsx``."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ecrm.analytics import exports, queries, rules
from ecrm.analytics.web import charts
from ecrm.analytics.web.params import from_query, to_query
from ecrm.console.web.access import require
from ecrm.staff import rules as perms

GRAINS = {"m": "month", "q": "quarter", "y": "year"}
GRAIN_LABELS = {"m": gettext_noop("Month"), "q": gettext_noop("Quarter"), "y": gettext_noop("Year")}
STATUS_LABELS = {
    "active": gettext_noop("Active (seen in the last 30 days)"),
    "recent": gettext_noop("Recent (30–90 days)"),
    "lapsed": gettext_noop("Lapsed (over 90 days)"),
    "never": gettext_noop("Never seen"),
}


def _export(request, name: str, header: list[str], rows: list[list], kinds=None):
    fmt = request.GET.get("export")
    if fmt in exports.FORMATS:
        return exports.response(fmt, name, header, rows, kinds)
    return None


def _month_label(yyyymm: int) -> str:
    return f"{yyyymm // 100}-{yyyymm % 100:02d}"


def _tiers() -> list[tuple[str, int]]:
    try:
        from ecrm.loyalty import api as loyalty
    except ImportError:  # the loyalty domain is optional
        return []
    counts = getattr(loyalty, "tier_counts", None)
    return [(name, n) for _code, name, n in counts()] if counts else []


# ---------------------------------------------------------------------------------------


@require(perms.VIEW_ANALYTICS)
def members(request):
    data = queries.members()
    region = request.GET.get("region", "")
    places = data["by_region"]
    if region:
        places = sorted(
            ((key[2], n) for key, n in data["by_city"].items() if key[1] == region),
            key=lambda kv: -kv[1],
        )
    else:
        places = [(key[1], n) for key, n in places]
    tiers = _tiers()
    table = request.GET.get("table", "region")
    if table == "month":
        header = [_("Registration month"), _("Members")]
        rows = [[_month_label(m), n] for m, n in data["by_month"]]
    elif table == "channel":
        header = [_("Registration channel"), _("Members")]
        rows = [[c or _("(none)"), n] for c, n in data["by_channel"]]
    elif table == "tier":
        header = [_("Tier"), _("Members")]
        rows = [[t, n] for t, n in tiers]
    else:
        header = [_("City") if region else _("Province / region"), _("Members")]
        rows = [[p or _("(none)"), n] for p, n in places]
    exported = _export(request, f"members-{table}", header, rows, ["text", "count"])
    if exported:
        return exported
    months = data["by_month"][-24:]
    status = [(_(STATUS_LABELS[k]), v) for k, v in data["by_status"].items()]
    base = request.path
    top_places = places[:20]
    context = {
        "data": data,
        "region": region,
        "places": places,
        "tiers": tiers,
        "status": status,
        "status_chart": charts.pie(status),
        "channel_chart": charts.pie([(c or _("(none)"), n) for c, n in data["by_channel"]]),
        "tier_chart": charts.pie(tiers) if tiers else None,
        "month_chart": charts.bars(
            [_month_label(m) for m, _n in months], [(_("New members"), [n for _m, n in months])]
        ),
        "place_chart": charts.bars(
            [p or _("(none)") for p, _n in top_places],
            [(_("Members"), [n for _p, n in top_places])],
            horizontal=True,
            urls=None if region else [f"{base}?region={p}" if p else None for p, _n in top_places],
        ),
        "active_share": (data["by_status"]["active"] / data["members"])
        if data["members"]
        else None,
        "new_last_month": data["by_month"][-1][1] if data["by_month"] else 0,
        "new_last_month_label": _month_label(data["by_month"][-1][0]) if data["by_month"] else "",
    }
    return render(request, "analytics/members.html", context)


@require(perms.VIEW_ANALYTICS)
def funnel(request):
    grain = request.GET.get("grain", "m")
    if grain not in GRAINS:
        grain = "m"
    periods = queries.funnel_periods(grain)
    period = None
    if request.GET.get("period"):
        try:
            period = dt.date.fromisoformat(request.GET["period"])
        except ValueError:
            period = None
    if period not in periods:
        period = periods[0] if periods else None
    result = queries.funnel(grain, period) if period else None
    level = GRAINS[grain]
    if result:
        header = [_("Stage"), _("Customers"), _("Share of visitors"), _("Of previous stage")]
        rows = [
            [s["label"], s["customers"], s["of_visitors"], s["of_previous"]]
            for s in result["stages"]
        ]
        exported = _export(
            request,
            f"funnel-{rules.period_label(level, period)}",
            header,
            rows,
            ["text", "count", "ratio", "ratio"],
        )
        if exported:
            return exported
    series = queries.activity_series(grain, 24 if grain == "m" else None)
    context = {
        "grain": grain,
        "grains": [(k, _(GRAIN_LABELS[k])) for k in GRAINS],
        "periods": [(p.isoformat(), rules.period_label(level, p)) for p in periods],
        "period": period.isoformat() if period else "",
        "period_label": rules.period_label(level, period) if period else "",
        "result": result,
        "funnel_chart": charts.funnel([(s["label"], s["customers"]) for s in result["stages"]])
        if result
        else None,
        "trend_chart": charts.lines(
            [r["label"] for r in series],
            [
                (_("Visitors"), [r["visitors"] for r in series]),
                (_("Product views"), [r["viewers"] for r in series]),
                (_("Carts"), [r["carters"] for r in series]),
                (_("Orders"), [r["buyers"] for r in series]),
                (_("Repeat orders"), [r["repeat_buyers"] for r in series]),
            ],
        ),
    }
    return render(request, "analytics/funnel.html", context)


@require(perms.VIEW_ANALYTICS)
def retention(request):
    try:
        months = max(3, min(36, int(request.GET.get("months", 18))))
    except ValueError:
        months = 18
    series = queries.activity_series("m", months)
    matrix = queries.cohorts(months)
    table = request.GET.get("table", "cohorts")
    if table == "repeat":
        header = [
            _("Month"),
            _("Buyers"),
            _("New buyers"),
            _("Returning buyers"),
            _("Repeat-purchase rate"),
            _("Orders"),
            _("Revenue"),
        ]
        rows = [
            [
                r["label"],
                r["buyers"],
                r["new_buyers"],
                r["repeat_buyers"],
                r["repeat_rate"],
                r["orders"],
                r["revenue"],
            ]
            for r in series
        ]
        kinds = ["text", "count", "count", "count", "ratio", "count", "money"]
    else:
        header = [_("First-order month"), _("Customers")] + [
            _("Month %(n)s") % {"n": i} for i in range(matrix["width"])
        ]
        rows = [[r["cohort"], r["size"]] + r["rates"] for r in matrix["rows"]]
        kinds = ["text", "count"] + ["ratio"] * matrix["width"]
    exported = _export(request, f"retention-{table}", header, rows, kinds)
    if exported:
        return exported
    cells = [
        (x, y, rate)
        for y, row in enumerate(matrix["rows"])
        for x, rate in enumerate(row["rates"])
        if rate is not None
    ]
    context = {
        "months": months,
        "series": series,
        "matrix": matrix,
        "ages": list(range(matrix["width"])),
        "repeat_chart": charts.bars(
            [r["label"] for r in series],
            [
                (_("New buyers"), [r["new_buyers"] for r in series]),
                (_("Returning buyers"), [r["repeat_buyers"] for r in series]),
            ],
            stack=True,
            line=(_("Repeat-purchase rate"), [r["repeat_rate"] for r in series], "percent"),
        ),
        "cohort_chart": charts.heatmap(
            [str(i) for i in range(matrix["width"])],
            [r["cohort"] for r in matrix["rows"]],
            cells,
        ),
        "cohort_height": 80 + 26 * max(1, len(matrix["rows"])),
    }
    return render(request, "analytics/retention.html", context)


def _report_chart(result: queries.ReportResult) -> dict | None:
    report = result.report
    if not report.dimensions or not result.rows:
        return None
    measure = report.measures[0]
    kind = rules.MEASURES[measure].kind
    fmt = {"money": "money", "ratio": "percent", "count": "integer"}.get(kind, "decimal")
    label = _(rules.MEASURES[measure].label)
    time_level = report.time_level
    if time_level and len(report.dimensions) == 1:
        rows = sorted(result.rows, key=lambda r: r.keys[0])
        return charts.lines(
            [r.labels[0] for r in rows],
            [(label, [r.values[measure] for r in rows])],
            fmt=fmt,
            area=True,
        )
    if time_level and len(report.dimensions) == 2:
        t = report.dimensions.index(time_level)
        o = 1 - t
        periods = sorted({r.keys[t] for r in result.rows})
        totals: dict[str, float] = {}
        for r in result.rows:
            totals[r.labels[o]] = totals.get(r.labels[o], 0) + float(r.values[measure] or 0)
        top = sorted(totals, key=lambda k: -totals[k])[:8]
        grid = {(r.labels[o], r.keys[t]): r.values[measure] for r in result.rows}
        return charts.lines(
            [
                rules.period_label(time_level, dt.date.fromisoformat(p)) if len(p) == 10 else p
                for p in periods
            ],
            [(name, [grid.get((name, p)) for p in periods]) for name in top],
            fmt=fmt,
        )
    rows = result.rows[:25]
    urls = [
        ("?" + to_query(r.drill[report.dimensions[0]])) if report.dimensions[0] in r.drill else None
        for r in rows
    ]
    return charts.bars(
        [" · ".join(r.labels) for r in rows],
        [(label, [r.values[measure] for r in rows])],
        fmt=fmt,
        horizontal=True,
        urls=urls,
    )


@require(perms.VIEW_ANALYTICS)
def report(request):
    data = from_query(request.GET)
    if not data.get("dimensions") and "dims" not in request.GET:
        data["dimensions"] = ["month"]
    error = None
    result = None
    dropped: list[str] = []
    try:
        parsed = rules.parse_report(data)
    except rules.ReportError as exc:
        # Asked for measures that do not exist by category: keep the ones that do.
        if exc.text.template == rules.NOT_BY_CATEGORY and data.get("measures"):
            dropped = [m for m in data["measures"] if not rules.MEASURES[m].by_category]
            data["measures"] = [m for m in data["measures"] if rules.MEASURES[m].by_category]
            data["measures"] = data["measures"] or list(
                rules.category_measures(rules.DEFAULT_MEASURES)
            )
            parsed = rules.parse_report(data)
        else:
            parsed, error = None, exc.text.localized(with_subject=False)
    if parsed is not None:
        result = queries.run_report(parsed)
        header, rows = queries.report_table(result)
        kinds = ["text"] * len(parsed.dimensions) + [
            rules.MEASURES[m].kind for m in parsed.measures
        ]
        exported = _export(request, "report", header, rows, kinds)
        if exported:
            return exported
    context = {
        "error": error,
        "result": result,
        "dropped": [_(rules.MEASURES[m].label) for m in dropped],
        "chart": _report_chart(result) if result else None,
        "levels": [(name, _(level.label)) for name, level in rules.LEVELS.items()],
        "measures": [(m.name, _(m.label), _(m.help)) for m in rules.MEASURES.values()],
        "chosen_dims": (data.get("dimensions") or []) + ["", "", ""],
        "chosen_measures": data.get("measures") or list(rules.DEFAULT_MEASURES),
        "data": data,
        "query": to_query(data),
        "filters_hidden": [
            (f"f.{name}", v) for name, values in (data.get("filters") or {}).items() for v in values
        ],
        "rows": _rows_view(result) if result else [],
        "totals": [
            {"value": result.totals[m], "kind": rules.MEASURES[m].kind}
            for m in result.report.measures
        ]
        if result
        else [],
        "crumbs": [(label, "?" + to_query(target)) for label, target in result.breadcrumbs]
        if result
        else [],
        "currencies": queries.currencies(),
    }
    return render(request, "analytics/report.html", context, status=400 if error else 200)


def _rows_view(result: queries.ReportResult) -> list[dict]:
    report = result.report
    rows = []
    for row in result.rows:
        cells = []
        for i, level in enumerate(report.dimensions):
            target = row.drill.get(level)
            cells.append({"label": row.labels[i], "url": "?" + to_query(target) if target else ""})
        values = [{"value": row.values[m], "kind": rules.MEASURES[m].kind} for m in report.measures]
        rows.append({"dims": cells, "values": values})
    return rows


@require(perms.VIEW_ANALYTICS)
def staff(request):
    today = dt.date.today()
    error = None
    date_from = date_to = None
    try:
        if request.GET.get("from"):
            date_from = rules.parse_date(request.GET["from"], "from")
        if request.GET.get("to"):
            date_to = rules.parse_date(request.GET["to"], "to")
        if date_from is None and date_to is None and "from" not in request.GET:
            date_from = rules.add_months(rules.month_start(today), -11)
        rows = queries.staff_kpis(date_from, date_to)
    except rules.ReportError as exc:
        error, rows = exc.text.localized(), []
    recruits = {}
    try:
        from ecrm.loyalty import api as loyalty

        reader = getattr(loyalty, "recruits_by_employee", None)
        recruits = reader(date_from, date_to) if reader and not error else {}
    except ImportError:
        recruits = {}
    known = {r["employee"] for r in rows}
    for employee in sorted(set(recruits) - known):
        rows.append(
            {
                "employee": employee,
                "orders": 0,
                "revenue": 0,
                "new_customers": 0,
                "contacts": 0,
                "service_cost": 0,
            }
        )
    for r in rows:
        r["recruits"] = recruits.get(r["employee"], 0)
    header = [
        _("Employee"),
        _("Orders"),
        _("Revenue"),
        _("First orders"),
        _("New members"),
        _("Contacts handled"),
        _("Service cost"),
    ]
    table = [
        [
            r["employee"],
            r["orders"],
            r["revenue"],
            r["new_customers"],
            r["recruits"],
            r["contacts"],
            r["service_cost"],
        ]
        for r in rows
    ]
    exported = _export(
        request,
        "staff-kpis",
        header,
        table,
        ["text", "count", "money", "count", "count", "count", "money"],
    )
    if exported:
        return exported
    top = rows[:15]
    context = {
        "rows": rows,
        "error": error,
        "has_recruits": bool(recruits),
        "date_from": date_from.isoformat() if date_from else "",
        "date_to": date_to.isoformat() if date_to else "",
        "currency": queries.main_currency(),
        "chart": charts.bars(
            [r["employee"] for r in top],
            [(_("Revenue"), [r["revenue"] for r in top])],
            fmt="money",
            horizontal=True,
        )
        if top
        else None,
    }
    return render(request, "analytics/staff.html", context, status=400 if error else 200)
