"""The member analytics page: membership growth and composition, the staff KPI table,
points issued / redeemed / expired, the points liability; charts and CSV export."""

from __future__ import annotations

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ecrm.console.web.access import require
from ecrm.loyalty import analytics
from ecrm.staff import rules as perms

TABLES = ("series", "tiers", "channels", "stores", "staff")


def _bar_line(rows) -> dict:
    labels = [r.bucket.isoformat() for r in rows]
    return {
        "ecrmFormat": "integer",
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": [{"type": "value"}, {"type": "value"}],
        "series": [
            {"name": _("New members"), "type": "bar", "data": [r.new_members for r in rows]},
            {
                "name": _("Members"),
                "type": "line",
                "yAxisIndex": 1,
                "showSymbol": False,
                "data": [r.members for r in rows],
            },
        ],
    }


def _points_chart(rows) -> dict:
    labels = [r.bucket.isoformat() for r in rows]
    return {
        "ecrmFormat": "integer",
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": _("Issued"),
                "type": "line",
                "showSymbol": False,
                "data": [r.issued for r in rows],
            },
            {
                "name": _("Redeemed"),
                "type": "line",
                "showSymbol": False,
                "data": [r.redeemed for r in rows],
            },
            {
                "name": _("Expired"),
                "type": "line",
                "showSymbol": False,
                "data": [r.expired for r in rows],
            },
        ],
    }


def _pie(items) -> dict:
    return {
        "ecrmFormat": "integer",
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "pie",
                "radius": ["40%", "70%"],
                "data": [{"name": b.label or "—", "value": b.members} for b in items if b.members],
            }
        ],
    }


def _csv(name: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="member-{name}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 with a BOM
    out = csv.writer(response)
    out.writerow(header)
    out.writerows(rows)
    return response


def _export(table: str, p: analytics.Period) -> HttpResponse:
    if table == "series":
        return _csv(
            f"series-{p.grain}-{p.start}-{p.end}",
            [
                "period_start",
                "new_members",
                "members",
                "points_issued",
                "points_redeemed",
                "points_expired",
            ],
            [
                (r.bucket.isoformat(), r.new_members, r.members, r.issued, r.redeemed, r.expired)
                for r in analytics.series(p)
            ],
        )
    if table == "staff":
        return _csv(
            f"staff-{p.start}-{p.end}",
            ["employee", "new_members", "buyers", "revenue", "points_held"],
            [
                (k.employee, k.new_members, k.buyers, k.revenue, k.points_held)
                for k in analytics.staff_kpis(p)
            ],
        )
    read = {
        "tiers": analytics.by_tier,
        "channels": analytics.by_channel,
        "stores": analytics.by_store,
    }[table]
    return _csv(
        f"{table}-{p.start}-{p.end}",
        ["key", "label", "members", "new_members", "points"],
        [(b.key, b.label, b.members, b.new_members, b.points) for b in read(p)],
    )


@require(perms.VIEW_ANALYTICS)
def member_analytics(request):
    error = None
    try:
        p = analytics.period(
            request.GET.get("start", "").strip(),
            request.GET.get("end", "").strip(),
            request.GET.get("by", "").strip(),
        )
    except analytics.PeriodError as exc:
        error = exc
        p = analytics.period()
    table = request.GET.get("export", "")
    if table in TABLES and error is None:
        return _export(table, p)
    rows = analytics.series(p)
    tiers = analytics.by_tier(p)
    context = {
        "period": p,
        # The reason alone (as before), in the page's language.
        "error": error.text.localized(with_subject=False) if error else None,
        "grains": [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
        "overview": analytics.overview(p),
        "series": rows,
        "tiers": tiers,
        "channels": analytics.by_channel(p),
        "stores": analytics.by_store(p)[:20],
        "staff": analytics.staff_kpis(p)[:50],
        "growth_chart": _bar_line(rows),
        "points_chart": _points_chart(rows),
        "tier_chart": _pie(tiers),
        "query": f"start={p.start}&end={p.end}&by={p.grain}",
    }
    return render(request, "loyalty/analytics.html", context)
