"""What each role may do. One line per permission so coverage shows each was tested."""

from __future__ import annotations

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


def role_allows(role: str | None, permission: str) -> bool:
    if role is None:
        return False
    return permission in PERMISSIONS.get(role, frozenset())
