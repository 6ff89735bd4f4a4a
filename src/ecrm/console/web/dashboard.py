"""The console's home page: today's figures and what just happened."""

from django.conf import settings
from django.shortcuts import render

from ecrm.analytics import api as analytics
from ecrm.console import figures
from ecrm.console.web.access import require_staff


@require_staff
def home(request):
    return render(
        request,
        "console/home.html",
        {
            "figures": figures.shop_figures(),
            "recent_orders": figures.recent_orders(),
            "recent_merges": figures.recent_merges(),
            "recent_contacts": figures.recent_contacts(),
            "currency": settings.ECRM["CURRENCY"],
            "trend": analytics.headline(),
        },
    )
