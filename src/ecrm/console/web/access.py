"""Who may open a console page: every page needs a login and one permission.

Permissions come from ``ecrm.staff.api.can``; a signed-in user without it gets the
console's 403 page, an anonymous visitor is sent to the login page.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from ecrm.core.audit import Actor
from ecrm.core.text import whole_number
from ecrm.staff import api as staff
from ecrm.staff.models import Role

ADMIN_ONLY = "admin_only"


def allowed(user, permission: str) -> bool:
    """Whether ``user`` holds ``permission``; ``ADMIN_ONLY`` is the administrator role."""
    if permission == ADMIN_ONLY:
        return staff.role_of(user) == Role.ADMIN
    return staff.can(user, permission)


def require(permission: str):
    """Decorate a view: login first, then ``permission`` or a 403."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(request.user, permission):
                raise PermissionDenied(permission)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def require_staff(view):
    """Login and any console role (the dashboard)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if staff.role_of(request.user) is None:
            raise PermissionDenied("no console role")
        return view(request, *args, **kwargs)

    return wrapped


def actor(request) -> Actor:
    return Actor.of(request.user)


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def int_param(request, name: str) -> int | None:
    """A positive whole number from the query string, or None when absent or malformed."""
    return whole_number(request.GET.get(name, ""))
