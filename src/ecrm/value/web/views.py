"""Customer-value pages: RFM groups and the 80/20 curve, predicted value, profitability
(with CSV export) and the settings of the three runs."""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.conf import settings as django_settings
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as N_
from django.views.decorators.http import require_POST

from ecrm.console.web.access import require
from ecrm.core import audit
from ecrm.staff import rules as perms
from ecrm.value import api, queries
from ecrm.value.models import PredictionRun, ProfitRun

if TYPE_CHECKING:
    from ecrm.value import rules

# ``rules`` and ``services`` (numpy, scipy) are imported by the views that run or check
# settings, so loading the console does not load them.

# The 80/20 chart: an SVG drawn on the server, in its own coordinate box.
WIDTH, HEIGHT, PAD = 480, 300, 40


def _chart(curve) -> dict:
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def at(x: float, y: float) -> tuple[float, float]:
        return round(PAD + x * plot_w, 1), round(HEIGHT - PAD - y * plot_h, 1)

    points = " ".join(f"{px},{py}" for px, py in (at(x, y) for x, y in curve))
    top20 = next((y for x, y in curve if abs(x - 0.2) < 1e-9), None)
    ticks = [{"label": f"{k * 20}%", "x": at(k / 5, 0)[0], "y": at(0, k / 5)[1]} for k in range(6)]
    marker = None
    if top20 is not None:
        mx, my = at(0.2, top20)
        marker = {"x": mx, "y": my, "x0": at(0, 0)[0], "y0": at(0, 0)[1]}
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "points": points,
        "diagonal": f"{PAD},{HEIGHT - PAD} {WIDTH - PAD},{PAD}",
        "ticks": ticks,
        "marker": marker,
        "left": PAD,
        "right": WIDTH - PAD,
        "top": PAD,
        "bottom": HEIGHT - PAD,
    }


@require(perms.VIEW_ANALYTICS)
def customer_value(request):
    groups = [
        {
            "group": group,
            "name": gettext(group.en),
            "other": group.en,
            "share": f"{group.share:.1%}",
            "revenue_share": f"{group.revenue_share:.1%}",
        }
        for group in api.group_counts()
    ]
    pareto = api.pareto()
    prediction = PredictionRun.objects.first()
    histogram = queries.p_alive_histogram() if prediction else []
    peak = max(histogram) if histogram and max(histogram) else 1
    profit = ProfitRun.objects.first()
    return render(
        request,
        "value/customer_value.html",
        {
            "groups": groups,
            "flags": api.flag_counts(),
            "pareto": pareto,
            "top20": f"{pareto.top20_share:.1%}" if pareto else "—",
            "chart": _chart(pareto.curve) if pareto else None,
            "prediction": prediction,
            "fits": _fits(prediction),
            "histogram": [
                {"low": k * 10, "high": (k + 1) * 10, "n": n, "width": round(100 * n / peak, 1)}
                for k, n in enumerate(histogram)
            ],
            "bands": queries.clv_bands() if prediction else [],
            "top": queries.top_clv(20) if prediction else [],
            "profit": profit,
            "currency": django_settings.ECRM["CURRENCY"],
        },
    )


MODEL_NAMES = {"bgnbd": "BG/NBD", "gamma_gamma": "Gamma-Gamma", "pareto_nbd": "Pareto/NBD"}


def _fits(run) -> list[dict]:
    if run is None:
        return []
    return [
        {
            "name": MODEL_NAMES.get(key, key),
            "params": ", ".join(f"{k} = {v:.4g}" for k, v in fit["params"].items()),
            "log_likelihood": fit["log_likelihood"],
            "customers": fit["customers"],
            "converged": fit["converged"],
            "seconds": fit["seconds"],
        }
        for key, fit in run.fits.items()
    ]


# --- profitability ----------------------------------------------------------------------

PAGE = 50
GROUP_CODES = {g.code for g in api.GROUPS}


def _profit_filters(request) -> tuple[str, str]:
    order = request.GET.get("order", "profit")
    group = request.GET.get("group", "")
    if order not in queries.PROFIT_ORDERS:
        order = "profit"
    if group not in GROUP_CODES:
        group = ""
    return order, group


def _after(raw: str):
    value, sep, pk = raw.partition("_")
    try:
        return (Decimal(value), int(pk)) if sep else None
    except (InvalidOperation, ValueError):
        return None


@require(perms.VIEW_ANALYTICS)
def profitability(request):
    order, group = _profit_filters(request)
    after = _after(request.GET.get("after", ""))
    rows = list(queries.profit_rows(order, group, after)[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    column = order.lstrip("-")
    following = f"{getattr(rows[-1], column)}_{rows[-1].customer_id}" if more else ""
    names = {g.code: gettext(g.en) for g in api.GROUPS}
    return render(
        request,
        "value/profitability.html",
        {
            "rows": [{"row": r, "group": names.get(r.rfm_group, "—")} for r in rows],
            "order": order,
            "group": group,
            "groups": [(g.code, names[g.code]) for g in api.GROUPS],
            "following": following,
            "first_page": after is None,
            "run": ProfitRun.objects.first(),
            "currency": django_settings.ECRM["CURRENCY"],
        },
    )


class _Echo:
    def write(self, value):
        return value


CSV_COLUMNS = (
    "customer_id",
    "name",
    "rfm_group",
    "orders",
    "revenue",
    "product_cost",
    "estimated_cost_revenue",
    "margin",
    "discounts",
    "points_redeemed",
    "refunds",
    "returned_cost",
    "contacts",
    "service_cost",
    "profit",
)


@require(perms.VIEW_ANALYTICS)
def profitability_csv(request):
    """Every customer of the current filter, in its order, as UTF-8 CSV with a BOM (so
    spreadsheet programs read the Chinese names)."""
    order, group = _profit_filters(request)
    writer = csv.writer(_Echo())
    rows = queries.profit_rows(order, group).values_list(*CSV_COLUMNS).iterator(chunk_size=5000)

    def lines():
        yield "\ufeff" + writer.writerow(CSV_COLUMNS)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    suffix = f"-{group}" if group else ""
    response["Content-Disposition"] = f'attachment; filename="customer-profit{suffix}.csv"'
    return response


# --- settings and runs ------------------------------------------------------------------


def _number(request, name: str, kind=float):
    from ecrm.value import rules

    raw = (request.POST.get(name) or "").strip()
    try:
        return kind(raw)
    except ValueError:
        raise rules.SettingsError(name, N_("must be a number")) from None


@require(perms.VIEW_ANALYTICS)
def value_settings(request):
    from ecrm.contacts import api as contacts
    from ecrm.value import services

    profit = services.profit_settings()
    return render(
        request,
        "value/settings.html",
        {
            "rfm": services.rfm_settings(),
            "prediction": services.prediction_settings(),
            "channels": [
                (code, label, profit.cost_of(code))
                for code, label in contacts.ContactChannel.choices
            ],
            "unknown_cost_ratio": profit.unknown_cost_ratio,
            "currency": django_settings.ECRM["CURRENCY"],
            "error": None,
        },
    )


def _queued(request, what: str):
    messages.success(
        request,
        gettext("%(what)s queued: the results appear here when the worker has run it.")
        % {"what": what},
    )
    return redirect("console:value_settings")


def _refused(request, exc: rules.SettingsError):
    messages.error(request, exc.text.localized())
    return redirect("console:value_settings")


@require_POST
@require(perms.MANAGE_VALUE)
def run_rfm(request):
    from ecrm.value import rules, tasks

    try:
        window = _number(request, "window_days", int)
        chosen = {
            "window_days": window or None,
            "dormant_days": _number(request, "dormant_days", int),
            "min_revenue": _number(request, "low_return_revenue"),
            "max_return_ratio": _number(request, "low_return_ratio"),
        }
        rules.check_rfm_settings(**chosen)
    except rules.SettingsError as exc:
        return _refused(request, exc)
    audit.record(audit.Actor.of(request.user), "value.rfm_run", "value", "rfm", after=chosen)
    tasks.run_rfm(chosen)
    return _queued(request, gettext("RFM scoring"))


@require_POST
@require(perms.MANAGE_VALUE)
def run_predictions(request):
    from ecrm.value import rules, tasks

    try:
        horizon = _number(request, "horizon_days", int)
        rate = _number(request, "discount_rate")
        rules.Horizon(horizon, rate)
    except rules.SettingsError as exc:
        return _refused(request, exc)
    chosen = {"horizon_days": horizon, "discount_rate": rate}
    audit.record(
        audit.Actor.of(request.user), "value.predict_run", "value", "predict", after=chosen
    )
    tasks.run_predictions(horizon, rate)
    return _queued(request, gettext("Customer value predictions"))


@require_POST
@require(perms.MANAGE_VALUE)
def run_profit(request):
    from ecrm.contacts import api as contacts
    from ecrm.value import rules, services, tasks

    try:
        costs = {code: _number(request, f"cost_{code}") for code in contacts.ContactChannel.values}
        raw_ratio = (request.POST.get("unknown_cost_ratio") or "").strip()
        ratio = _number(request, "unknown_cost_ratio") if raw_ratio else None
        chosen = services.profit_settings(
            {"contact_costs": costs, "unknown_cost_ratio": ratio}
        ).as_json()
    except rules.SettingsError as exc:
        return _refused(request, exc)
    audit.record(audit.Actor.of(request.user), "value.profit_run", "value", "profit", after=chosen)
    tasks.run_profit(chosen)
    return _queued(request, gettext("Customer profit"))
