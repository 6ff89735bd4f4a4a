"""The customer-value page: RFM groups, the 80/20 curve and dormant / low-return counts."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext

from ecrm.console.web.access import require
from ecrm.staff import rules as perms
from ecrm.value import api

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
    return render(
        request,
        "value/customer_value.html",
        {
            "groups": groups,
            "flags": api.flag_counts(),
            "pareto": pareto,
            "top20": f"{pareto.top20_share:.1%}" if pareto else "—",
            "chart": _chart(pareto.curve) if pareto else None,
        },
    )
