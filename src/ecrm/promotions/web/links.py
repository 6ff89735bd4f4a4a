"""The public referral link ``/r/<code>``: count the click, remember the code, go to the shop.

The code travels on as ``?ref=<code>`` on the shop's landing page and in the ``ecrm_ref``
cookie (readable by the shop's page when eCRM shares its domain), so the sign-up can send
it back as the ``referral_code`` trait of ``identify`` or to ``POST /api/promotions/referrals``.
"""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect
from django.views.decorators.http import require_GET

from ecrm.promotions import rules, services

COOKIE = "ecrm_ref"


@require_GET
def referral_link(request, code: str):
    code = code.strip().upper()[:20]
    if not services.note_click(code):
        raise Http404("no such referral code")
    terms = services.programme()
    response = HttpResponseRedirect(rules.landing_address(terms.landing_url, code))
    response.set_cookie(
        COOKIE, code, max_age=terms.cookie_days * 86400, samesite="Lax", httponly=False
    )
    response["Cache-Control"] = "no-store"
    return response
