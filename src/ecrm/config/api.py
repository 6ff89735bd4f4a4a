"""The JSON API: one NinjaAPI, one router per domain, one error shape.

Every error is ``{"error": "<sentence>", "field": "<name or null>"}`` with a 4xx status.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from ecrm.contacts.api import ContactError
from ecrm.customers.api import MergeError, ProfileError
from ecrm.orders.api import OrderError
from ecrm.staff import api as staff


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
    description=(
        "Profiles, orders, products and the contact log of eCRM. Authenticate with "
        "`Authorization: Bearer <token>` (`ecrm apitoken create USER NAME`) or a console "
        "session. The Segment-compatible tracking API lives at `/v1/` and uses write keys."
    ),
)


def _error(request, status: int, message: str, field: str | None = None):
    return api.create_response(request, {"error": message, "field": field}, status=status)


@api.exception_handler(NinjaValidationError)
def _validation(request, exc: NinjaValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "payload")]
    field = ".".join(loc) or None
    message = first.get("msg", "invalid input")
    return _error(request, 400, f"{field}: {message}" if field else message, field)


@api.exception_handler(ProfileError)
@api.exception_handler(OrderError)
@api.exception_handler(ContactError)
def _domain_error(request, exc):
    return _error(request, 400, str(exc), exc.field)


@api.exception_handler(MergeError)
def _merge_error(request, exc):
    return _error(request, 409, str(exc))


@api.exception_handler(ObjectDoesNotExist)
@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, str(exc) or "not found")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return _error(request, 403, str(exc) or "your role does not allow this")


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return _error(request, 401, "authentication required: send Authorization: Bearer <token>")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc))


def require(request, permission: str) -> None:
    if not staff.can(request.user, permission):
        raise PermissionDenied(f"your role does not allow {permission.replace('_', ' ')}")


def _routers():
    from ecrm.catalog.endpoints import router as catalog
    from ecrm.customers.endpoints import router as customers
    from ecrm.orders.endpoints import router as orders

    api.add_router("/customers", customers)
    api.add_router("/orders", orders)
    api.add_router("/products", catalog)


_routers()
