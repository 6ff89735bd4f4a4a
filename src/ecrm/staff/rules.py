"""What each role may do. One line per permission so coverage shows each was tested."""

from __future__ import annotations

import re

from django.utils.translation import gettext_noop as N_

from ecrm.core.messages import EMPTY, TOO_LONG, Problem
from ecrm.staff.models import Role

VIEW_CUSTOMERS = "view_customers"
EDIT_CUSTOMERS = "edit_customers"
MERGE_CUSTOMERS = "merge_customers"
LOG_CONTACTS = "log_contacts"
IMPORT_DATA = "import_data"
MANAGE_KEYS = "manage_keys"
VIEW_ANALYTICS = "view_analytics"

PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {
            VIEW_CUSTOMERS,
            EDIT_CUSTOMERS,
            MERGE_CUSTOMERS,
            LOG_CONTACTS,
            IMPORT_DATA,
            MANAGE_KEYS,
            VIEW_ANALYTICS,
        }
    ),
    Role.MARKETER: frozenset(
        {VIEW_CUSTOMERS, EDIT_CUSTOMERS, MERGE_CUSTOMERS, IMPORT_DATA, VIEW_ANALYTICS}
    ),
    Role.SERVICE_AGENT: frozenset({VIEW_CUSTOMERS, EDIT_CUSTOMERS, MERGE_CUSTOMERS, LOG_CONTACTS}),
    Role.SALES_REP: frozenset({VIEW_CUSTOMERS, EDIT_CUSTOMERS, LOG_CONTACTS}),
    Role.ANALYST: frozenset({VIEW_CUSTOMERS, VIEW_ANALYTICS}),
}

# Loyalty: who may set up the programme (settings, tiers, earning rules), adjust a member's
# points by hand (audited), and redeem points for a customer (checkout, service desk).
MANAGE_LOYALTY = "manage_loyalty"
ADJUST_POINTS = "adjust_points"
REDEEM_POINTS = "redeem_points"
PERMISSIONS[Role.ADMIN] |= {MANAGE_LOYALTY, ADJUST_POINTS, REDEEM_POINTS}
PERMISSIONS[Role.MARKETER] |= {MANAGE_LOYALTY}
PERMISSIONS[Role.SERVICE_AGENT] |= {ADJUST_POINTS, REDEEM_POINTS}

# Promotions: who may set up coupon campaigns, the rewards catalogue and the referral
# programme, and who may use a coupon for a customer (checkout, service desk).
MANAGE_PROMOTIONS = "manage_promotions"
REDEEM_COUPONS = "redeem_coupons"
PERMISSIONS[Role.ADMIN] |= {MANAGE_PROMOTIONS, REDEEM_COUPONS}
PERMISSIONS[Role.MARKETER] |= {MANAGE_PROMOTIONS}
PERMISSIONS[Role.SERVICE_AGENT] |= {REDEEM_COUPONS}

# Segments: who may create, change and delete segments and edit static lists (anyone who
# views customers may look at segments and their members).
MANAGE_SEGMENTS = "manage_segments"
PERMISSIONS[Role.ADMIN] |= {MANAGE_SEGMENTS}
PERMISSIONS[Role.MARKETER] |= {MANAGE_SEGMENTS}


# Customer value: who may rerun RFM, predictions and profit and change their settings
# (limits, horizon, contact costs); anyone who views analytics may look at the results.
MANAGE_VALUE = "manage_value"
PERMISSIONS[Role.ADMIN] |= {MANAGE_VALUE}
PERMISSIONS[Role.MARKETER] |= {MANAGE_VALUE}
PERMISSIONS[Role.ANALYST] |= {MANAGE_VALUE}


def role_allows(role: str | None, permission: str) -> bool:
    if role is None:
        return False
    return permission in PERMISSIONS.get(role, frozenset())


# --- accounts ------------------------------------------------------------------------


class StaffError(Problem):
    """A staff account's ``username``, ``password`` or ``department`` was refused."""


USERNAME_LENGTH = 150  # Django's user model
# Django's own rule for user names (``UnicodeUsernameValidator``): letters, digits, @.+-_
_USERNAME = re.compile(r"^[\w.@+-]+\Z")
_DEPARTMENT_CODE = re.compile(r"^[-a-zA-Z0-9_]+\Z")
DEPARTMENT_CODE_LENGTH = 40
USERNAME_TAKEN = N_("a user named %(username)s exists already")


def account_problems(username: str, password: str, department_code: str = "") -> list[StaffError]:
    """Why a new console account could not be made: a user name one could not type at the
    login form, an empty password, a department code that is no slug."""
    problems = []
    if not username.strip():
        problems.append(StaffError("username", EMPTY))
    elif len(username) > USERNAME_LENGTH:
        problems.append(StaffError("username", TOO_LONG, limit=USERNAME_LENGTH))
    elif not _USERNAME.match(username):
        problems.append(
            StaffError("username", N_("may contain only letters, digits and @ . + - _"))
        )
    if not password:
        problems.append(StaffError("password", EMPTY))
    if department_code and (
        len(department_code) > DEPARTMENT_CODE_LENGTH or not _DEPARTMENT_CODE.match(department_code)
    ):
        problems.append(
            StaffError(
                "department",
                N_("must be 1–%(limit)s letters, digits, - or _"),
                limit=DEPARTMENT_CODE_LENGTH,
            )
        )
    return problems
