"""The JSON API: one NinjaAPI, one router per domain, one error shape.

Every error is ``{"error": "<sentence>", "field": "<name or null>"}`` with a 4xx status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import DataError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import Field, NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import AfterValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from ecrm.analytics.rules import ReportError
from ecrm.contacts.api import ContactError
from ecrm.core import clock, currency
from ecrm.core.text import MAX_KEY, SUSPECT_JSON, NotFinite, load_json, unstorable
from ecrm.customers.api import MergeError, ProfileError
from ecrm.loyalty.api import InsufficientPoints, LoyaltyError, ReferenceReused
from ecrm.orders.api import OrderError
from ecrm.promotions import api as promotions
from ecrm.segments.api import DefinitionError, SegmentError
from ecrm.staff import api as staff


class Unstorable(ValueError):
    """A string of a JSON body that no database stores (``core.text.unstorable``)."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field or None


class JsonBodies(Parser):
    """JSON bodies without a NUL character or an unpaired surrogate in any string: neither
    can be stored (PostgreSQL refuses NUL in text, neither driver encodes a lone surrogate),
    and reaching the database they were a 500. The tracking API refuses the same."""

    def parse_body(self, request):
        try:
            data = load_json(request.body)
        except NotFinite as exc:
            raise Unstorable("", str(exc)) from exc
        if SUSPECT_JSON.search(request.body):
            found = unstorable(data, item=".{}")
            if found:
                raise Unstorable(*found)
        return data


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = staff.user_for_token(token)
        if user is not None:
            request.user = user
        return user


class ConsoleSession(APIKeyCookie):
    """The console's own session cookie, with Django's CSRF check on writes."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


api = NinjaAPI(
    title="eCRM API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), ConsoleSession()],
    parser=JsonBodies(),
    description=(
        "Profiles, orders, products and the contact log of eCRM. Authenticate with "
        "`Authorization: Bearer <token>` (`ecrm apitoken create USER NAME`) or a console "
        "session. The Segment-compatible tracking API lives at `/v1/` and uses write keys."
    ),
)


# A row id or keyset cursor in a request: what the databases' 64-bit keys hold. A larger
# number reached the query and failed there (SQLite: OverflowError) with a 500.
Key = Annotated[int, Field(ge=0, le=MAX_KEY)]


def _in_calendar(moment: dt.datetime) -> dt.datetime:
    if not clock.in_calendar(moment.date()):
        raise PydanticCustomError(
            "out_of_calendar",
            "must be a date from {first} to {last}",
            {"first": str(clock.FIRST_DAY), "last": str(clock.LAST_DAY)},
        )
    return moment


# A date and time in a request, within the calendar the rest of eCRM keeps to. Year 1 with
# an eastern offset (or 9999 with a western one) leaves Python's calendar once converted
# to UTC for storing, and failed there (OverflowError), a 400 naming no field.
Moment = Annotated[dt.datetime, AfterValidator(_in_calendar)]


def _currency(raw: str) -> str:
    if raw == "":
        return raw  # none given: the shop's currency, or the product's as it is
    code = currency.iso_code(raw)
    if code is None:
        template = currency.NOT_A_CURRENCY.replace("%(value)s", "{value}")
        raise PydanticCustomError("currency", template, {"value": repr(raw)})
    return code


# A currency in a request (``core.currency``): "cny" and "RMB" are read as CNY; "CYN"
# was stored and split the shop's revenue by currency.
Currency = Annotated[
    str,
    AfterValidator(_currency),
    WithJsonSchema({"type": "string", "description": "ISO 4217 code such as CNY; empty: none"}),
]


# What an endpoint checks itself, with its own message naming the field (translated where
# the console shows it), declared in the OpenAPI document too: a client generated from it
# then knows the choices and bounds. Validation is unchanged (``WithJsonSchema`` only
# describes).
def one_of(values: Iterable[str]) -> Any:
    """Text that must be one of ``values``."""
    return Annotated[str, WithJsonSchema({"type": "string", "enum": list(values)})]


def between(low: int, high: int) -> Any:
    """A whole number from ``low`` to ``high``."""
    return Annotated[int, WithJsonSchema({"type": "integer", "minimum": low, "maximum": high})]


def name_text(limit: int) -> Any:
    """A name: not blank, at most ``limit`` characters."""
    schema = {"type": "string", "minLength": 1, "maxLength": limit, "pattern": r"\S"}
    return Annotated[str, WithJsonSchema(schema)]


def key_text(limit: int) -> Any:
    """A shop's own key for a record (a SKU, an order number): without the blanks around
    it, as the tracking API and the importer read it, then 1 to ``limit`` characters. Kept
    as sent, "   " was a product or an order, and " A1" another than "A1"."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=limit)]


def error_response(request, status: int, message: str, field: str | None = None):
    return api.create_response(request, {"error": message, "field": field}, status=status)


PARAM_SOURCES = ("body", "query", "path", "file", "form", "header", "cookie")


@api.exception_handler(NinjaValidationError)
def _validation(request, exc: NinjaValidationError):
    first = exc.errors[0] if exc.errors else {}
    where = [str(p) for p in first.get("loc", [])]
    # ninja's loc starts with where the value came from, then (a body) the parameter:
    # ("query", "limit"), ("body", "payload", "lines", 0, "sku"), ("file", "file"). Only
    # that prefix goes: an uploaded file was "file.file", and a field of the body that
    # happened to be called path or query would have lost its name.
    loc = where[1:] if where[:1] and where[0] in PARAM_SOURCES else where
    if where[:1] == ["body"] and loc[:1] == ["payload"]:
        loc = loc[1:]
    # The body as a whole (missing, or not the list or object the endpoint takes): "body".
    field = ".".join(loc) or ("body" if "body" in where else None)
    message = first.get("msg", "invalid input")
    return error_response(request, 400, f"{field}: {message}" if field else message, field)


@api.exception_handler(MultiPartParserError)
def _malformed_multipart(request, exc):
    """A file upload whose body cannot be read as multipart/form-data (no or a wrong
    boundary, a cut-off body): Django raises when the form is read, ninja would pass it on
    as a 500."""
    return error_response(request, 400, f"the request body is not valid multipart/form-data: {exc}")


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def _out_of_range(request, exc):
    """The safety net for a value no schema bounds that the database cannot hold: a number
    past its integer columns (OverflowError from SQLite's driver, PostgreSQL's "integer out
    of range") or text PostgreSQL refuses (a NUL character). Nothing was saved: the
    request's transaction ended with the error."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return error_response(request, 400, f"a value cannot be stored: {reason}")


@api.exception_handler(ProfileError)
@api.exception_handler(OrderError)
@api.exception_handler(ContactError)
@api.exception_handler(ReportError)
def _domain_error(request, exc):
    return error_response(request, 400, str(exc), exc.field)


@api.exception_handler(LoyaltyError)
def _loyalty_error(request, exc):
    return error_response(request, 400, str(exc), exc.field)


@api.exception_handler(ReferenceReused)
def _reference_reused(request, exc):
    return error_response(request, 409, str(exc), exc.field)


@api.exception_handler(InsufficientPoints)
def _insufficient_points(request, exc):
    body = {"error": str(exc), "field": "points", "balance": exc.balance}
    return api.create_response(request, body, status=409)


@api.exception_handler(promotions.PromotionError)
@api.exception_handler(promotions.DefinitionError)
def _promotion_error(request, exc):
    return error_response(request, 400, str(exc), exc.field)


@api.exception_handler(promotions.CouponRefused)
def _coupon_refused(request, exc):
    body = {"error": str(exc), "field": "code", "reason": exc.reason}
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(promotions.RewardRefused)
def _reward_refused(request, exc):
    body = {"error": exc.message, "field": "reward_id", "reason": exc.reason}
    if exc.balance is not None:
        body["balance"] = exc.balance
    return api.create_response(request, body, status=409)


@api.exception_handler(DefinitionError)
def _segment_definition_error(request, exc):
    field = "definition" if exc.path == "$" else f"definition.{exc.path}"
    return error_response(request, 400, str(exc), field)


@api.exception_handler(SegmentError)
def _segment_error(request, exc):
    return error_response(request, 400, str(exc), exc.field_name)


@api.exception_handler(MergeError)
def _merge_error(request, exc):
    return error_response(request, 409, str(exc))


@api.exception_handler(ObjectDoesNotExist)
@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, str(exc) or "not found")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return error_response(request, 403, str(exc) or "your role does not allow this")


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return error_response(
        request, 401, "authentication required: send Authorization: Bearer <token>"
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, Unstorable):  # ninja wraps what the parser raises
        return error_response(request, 400, str(exc.__cause__), exc.__cause__.field)
    return error_response(request, exc.status_code, str(exc))


def require(request, permission: str) -> None:
    if not staff.can(request.user, permission):
        raise PermissionDenied(f"your role does not allow {permission.replace('_', ' ')}")


def _routers():
    from ecrm.analytics.endpoints import router as analytics
    from ecrm.catalog.endpoints import router as catalog
    from ecrm.customers.endpoints import router as customers
    from ecrm.loyalty.endpoints import members
    from ecrm.loyalty.endpoints import router as loyalty
    from ecrm.orders.endpoints import router as orders
    from ecrm.promotions.endpoints import router as promotions_router
    from ecrm.segments.endpoints import router as segments

    api.add_router("/customers", customers)
    api.add_router("/analytics", analytics)
    api.add_router("/loyalty", loyalty)
    api.add_router("/members", members)
    api.add_router("/orders", orders)
    api.add_router("/products", catalog)
    api.add_router("/segments", segments)
    api.add_router("", promotions_router)  # /promotions/…, /checkout/coupons/…, /members/…


_routers()
