"""JSON errors for the machine-facing paths, whatever part of Django answers them.

The JSON API (``/api/``) and the tracking API (``/v1/``) answer their own errors in their
own shapes. Some answers come from elsewhere: a path no endpoint matches (``/api/nope``,
``/api/customers/abc``) reaches the console's HTML 404 page; django-ninja answers a wrong
method with a plain-text 405; an unexpected exception would end in Django's HTML 500.
This middleware gives those (and Django's own 400 and 403 pages there) the path's JSON
shape, keeping the status and the Allow header.

A NUL character in a query parameter (or a console form's field) is refused up front with a
400 naming the parameter: PostgreSQL cannot store or even compare one in text, and a search
for ``?q=%00`` answered 500 there.

It also answers a busy database, on every path, with 503 and ``Retry-After`` instead of a
500: SQLite lets one connection write at a time, and a long job (``core.database``) can hold
the lock longer than a request waits for it (``busy_timeout``, 30 s). Nothing of such a
request was saved; the console says so in its language and the APIs in their JSON.
"""

from __future__ import annotations

import logging

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ecrm.config.api import error_response as api_error
from ecrm.core import database
from ecrm.core.text import NUL_CHARACTER
from ecrm.events.web.tracking import error_response as tracking_error

log = logging.getLogger("ecrm.api")

MESSAGES = {
    400: "bad request: {method} {path}",
    403: "not allowed: {method} {path}",
    404: "no such endpoint: {method} {path}",
    405: "{method} is not allowed on {path}; allowed: {allowed}",
    500: "internal error: the request was not completed; it has been logged",
    503: "the database is busy with a long job; nothing was saved, retry in a minute",
}
CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    500: "internal_error",
    503: "unavailable",
}
RETRY_AFTER = 30  # seconds
# Exceptions Django itself turns into 4xx responses (which ``JsonErrors`` then shapes).
DJANGO_4XX = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)


def _shape(request: HttpRequest) -> str | None:
    """'api' or 'tracking' for the machine-facing paths, else None (the console)."""
    if request.path.startswith("/api/"):
        return "api"
    if request.path.startswith("/v1/"):
        return "tracking"
    return None


def _json(request: HttpRequest, shape: str, status: int, allowed: str = "") -> HttpResponse:
    """The error in the path's own shape, made by that API's own error function."""
    message = MESSAGES[status].format(method=request.method, path=request.path, allowed=allowed)
    if shape == "api":
        return api_error(request, status, message)
    return tracking_error(status, "", message, CODES[status])


def _nul_parameter(request: HttpRequest, shape: str | None) -> str | None:
    """The first query parameter (or, in the console, posted form field) whose name or value
    holds a NUL character. The APIs' JSON bodies are checked by their own parsers."""
    sources = [request.GET]
    if shape is None and request.method == "POST":
        sources.append(request.POST)
    for source in sources:
        for name, values in source.lists():
            if any("\x00" in text for text in (name, *values)):
                return name.replace("\x00", "") or "?"
    return None


def _refuse_nul(request: HttpRequest, shape: str | None, name: str) -> HttpResponse:
    if shape == "api":
        return api_error(request, 400, f"{name}: {NUL_CHARACTER}", name)
    if shape == "tracking":
        return tracking_error(400, name, NUL_CHARACTER, "invalid_request")
    problem = _("%(name)s: contains a NUL character") % {"name": name}
    return render(request, "console/bad_request.html", {"problem": problem}, status=400)


class JsonErrors:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        shape = _shape(request)
        nul = _nul_parameter(request, shape)
        if nul is not None:
            return _refuse_nul(request, shape, nul)
        response = self.get_response(request)
        if shape is None or response.status_code not in (400, 403, 404, 405):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        # ninja lists allowed methods in set order: sorted, the header reads the same each time
        allowed = ", ".join(sorted(m.strip() for m in response.get("Allow", "").split(",") if m))
        replaced = _json(request, shape, response.status_code, allowed)
        if allowed:
            replaced["Allow"] = allowed
        return replaced

    def process_exception(self, request: HttpRequest, exception: Exception):
        shape = _shape(request)
        if database.busy(exception):
            log.warning("%s %s: the database is busy: %s", request.method, request.path, exception)
            if shape is None:
                response = render(request, "503.html", status=503)
            else:
                response = _json(request, shape, 503)
            response["Retry-After"] = str(RETRY_AFTER)
            return response
        if shape is None or isinstance(exception, DJANGO_4XX):
            return None  # the console's own 500 page; Django's own 4xx
        log.exception("%s %s failed", request.method, request.path)
        return _json(request, shape, 500)
