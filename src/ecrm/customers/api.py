"""What other domains may call in customers: identity resolution and profile writes."""

from ecrm.customers.models import ConsentChannel, ConsentStatus, IdentityKind
from ecrm.customers.queries import holders_of
from ecrm.customers.rules import (
    PROFILE_FIELDS,
    Claim,
    ProfileError,
    clean_profile,
    customer_number,
    make_claim,
    profile_problems,
)
from ecrm.customers.services import (
    REMEMBERED_LIMIT,
    BulkResolved,
    MergeError,
    ProfileRecord,
    Resolved,
    add_identity,
    create_customer,
    known_profiles,
    live_id,
    live_profiles,
    merge_customers,
    merge_refusal,
    resolve_customer,
    resolve_customers_bulk,
    set_consent,
    update_profile,
)


def live_count() -> int:
    """How many profiles the shop has (merged ones left out)."""
    from ecrm.customers.models import Customer

    return Customer.objects.filter(merged_into__isnull=True).count()


def is_anonymous(customer_id: int) -> bool:
    """Whether the profile knows nothing but anonymous ids (a guest who never identified)."""
    from ecrm.customers.models import Customer

    return Customer.objects.filter(pk=customer_id, is_anonymous=True).exists()


def find_customers(kind: str, values) -> dict[str, set[int]]:
    """The live profiles each raw identifier names, for lists uploaded by staff.

    ``kind`` is "customer_id", "email", "phone" or "user_id"; e-mails and phones are
    normalised first (a value that does not normalise is absent from the answer), merged
    customer ids lead to the profile they were merged into. A value may name several
    profiles (an unverified e-mail on two of them); values nobody holds are absent.
    """
    from ecrm.customers.models import Customer, Identity

    normal: dict[str, str] = {}
    for raw in values:
        if kind == "customer_id":
            number = customer_number(str(raw))
            if number is not None:
                normal[raw] = str(number)
            continue
        try:
            normal[raw] = make_claim(kind, raw).value
        except ProfileError:
            continue
    wanted = set(normal.values())
    found: dict[str, set[int]] = {}
    chunk = 500
    keys = sorted(wanted)
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        if kind == "customer_id":
            rows = Customer.objects.filter(pk__in=[int(k) for k in part]).values_list(
                "pk", "merged_into_id"
            )
            for pk, merged in rows:
                found.setdefault(str(pk), set()).add(live_id(pk) if merged else pk)
            continue
        if kind in ("email", "phone"):
            for value, pk in Customer.objects.filter(
                **{f"{kind}__in": part}, merged_into__isnull=True
            ).values_list(kind, "pk"):
                found.setdefault(value, set()).add(pk)
        for value, pk in Identity.objects.filter(kind=kind, value__in=part).values_list(
            "value", "customer_id"
        ):
            found.setdefault(value, set()).add(pk)
    return {raw: found[value] for raw, value in normal.items() if value in found}


__all__ = [
    "customer_number",
    "PROFILE_FIELDS",
    "REMEMBERED_LIMIT",
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
    "find_customers",
    "holders_of",
    "known_profiles",
    "live_profiles",
    "live_id",
    "make_claim",
    "profile_problems",
    "merge_customers",
    "merge_refusal",
    "resolve_customer",
    "set_consent",
    "update_profile",
]


def contact_points(customer_id: int) -> tuple[str, str, list[str]]:
    """(mobile, e-mail, anonymous ids) of a profile, for guards such as self-referral."""
    from ecrm.customers.models import Customer, Identity

    phone, email = Customer.objects.values_list("phone", "email").get(pk=customer_id)
    anonymous = list(
        Identity.objects.filter(
            customer_id=customer_id, kind=IdentityKind.ANONYMOUS_ID
        ).values_list("value", flat=True)[:200]
    )
    return phone, email, anonymous


def display_names(customer_ids) -> dict[int, str]:
    """id -> how the console shows the profile (name, else e-mail, phone or #id)."""
    from ecrm.customers.models import Customer

    ids = list(customer_ids)
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        for pk, name, email, phone in Customer.objects.filter(
            pk__in=ids[start : start + 500]
        ).values_list("pk", "name", "email", "phone"):
            found[pk] = name or email or phone or f"#{pk}"
    return found
