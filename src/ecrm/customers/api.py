"""What other domains may call in customers: identity resolution and profile writes."""

from ecrm.customers.models import ConsentChannel, ConsentStatus, IdentityKind
from ecrm.customers.queries import holders_of
from ecrm.customers.rules import PROFILE_FIELDS, Claim, ProfileError, clean_profile, make_claim
from ecrm.customers.services import (
    BulkResolved,
    MergeError,
    ProfileRecord,
    Resolved,
    add_identity,
    create_customer,
    live_id,
    merge_customers,
    resolve_customer,
    resolve_customers_bulk,
    set_consent,
    update_profile,
)

__all__ = [
    "PROFILE_FIELDS",
    "BulkResolved",
    "ProfileRecord",
    "resolve_customers_bulk",
    "Claim",
    "ConsentChannel",
    "ConsentStatus",
    "IdentityKind",
    "MergeError",
    "ProfileError",
    "Resolved",
    "add_identity",
    "clean_profile",
    "create_customer",
    "holders_of",
    "live_id",
    "make_claim",
    "merge_customers",
    "resolve_customer",
    "set_consent",
    "update_profile",
]
