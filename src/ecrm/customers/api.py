"""What other domains may call in customers: identity resolution and profile writes."""

from ecrm.customers.models import ConsentChannel, ConsentStatus, IdentityKind
from ecrm.customers.rules import Claim, ProfileError, make_claim
from ecrm.customers.services import (
    MergeError,
    Resolved,
    add_identity,
    create_customer,
    live_id,
    merge_customers,
    resolve_customer,
    set_consent,
    update_profile,
)

__all__ = [
    "Claim", "ConsentChannel", "ConsentStatus", "IdentityKind", "MergeError", "ProfileError",
    "Resolved", "add_identity", "create_customer", "live_id", "make_claim", "merge_customers",
    "resolve_customer", "set_consent", "update_profile",
]
