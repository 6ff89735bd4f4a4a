"""Reads of customer profiles, with the joins they need built in."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from ecrm.core.phone import InvalidPhone, looks_like_phone, normalize_phone
from ecrm.core.text import has_cjk, search_key
from ecrm.customers.models import Consent, Customer, Identity, IdentityKind, Merge

PAGE = 50


def _prefix(field: str, text: str) -> Q:
    """``field`` starts with ``text``, written so both databases use the index.

    A range over the index works under SQLite's binary collation; PostgreSQL gets
    LIKE, which Django backs with a ``varchar_pattern_ops`` index.
    """
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": text, f"{field}__lt": text + "\U0010ffff"})
    return Q(**{f"{field}__startswith": text})


@dataclass(frozen=True)
class Page:
    items: list[Customer]
    next_cursor: int | None


def search_customers(
    query: str = "", *, after: int | None = None, limit: int = PAGE, include_anonymous: bool = False
) -> Page:
    """Find live profiles by name (汉字 or pinyin, full or initials), email, mobile or id.

    Keyset pagination on id, newest first: ``after`` is the last id of the previous
    page. No COUNT is ever run.
    """
    limit = max(1, min(limit, 200))
    qs: QuerySet = Customer.objects.filter(merged_into__isnull=True)
    text = (query or "").strip()
    if text:
        qs = qs.filter(_match(text))
    elif not include_anonymous:
        qs = qs.filter(is_anonymous=False)
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=rows[-1].pk if more and rows else None)


def _match(text: str) -> Q:
    if text.startswith("#") and text[1:].isdigit():
        return Q(pk=int(text[1:]))
    if "@" in text:
        value = text.lower()
        ids = Identity.objects.filter(kind=IdentityKind.EMAIL, value=value).values("customer_id")
        return _prefix("email", value) | Q(pk__in=ids)
    if looks_like_phone(text):
        condition = Q()
        try:
            e164 = normalize_phone(text)
            ids = Identity.objects.filter(kind=IdentityKind.PHONE, value=e164).values("customer_id")
            condition |= Q(phone=e164) | Q(pk__in=ids)
        except InvalidPhone:
            pass
        digits = "".join(c for c in text if c.isdigit())
        if text.strip().isdigit() and len(digits) <= 12:
            condition |= Q(pk=int(digits))
        external = Identity.objects.filter(
            kind__in=[IdentityKind.USER_ID, IdentityKind.EXTERNAL], value=text.strip()
        ).values("customer_id")
        return condition | Q(pk__in=external)
    if has_cjk(text):
        return _prefix("name", text)
    key = search_key(text)
    condition = Q()
    if text.isdigit():
        condition |= Q(pk=int(text))
    if key:
        condition |= _prefix("name_pinyin", key) | _prefix("name_initials", key)
        condition |= _prefix("name", text)
    ids = Identity.objects.filter(
        kind__in=[IdentityKind.USER_ID, IdentityKind.EXTERNAL, IdentityKind.WECHAT],
        value=text,
    ).values("customer_id")
    return condition | Q(pk__in=ids)


def get_customer(customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def holders_of(claims) -> dict[tuple[str, str, str], int]:
    """The profile holding each exclusive identifier among ``claims``, in one query.

    Keys are ``Claim.key``; claims nobody holds yet are absent. Only exclusive kinds
    (anonymous id, user id, WeChat, external) are looked up: they have one holder.
    """
    wanted = {c.key for c in claims if c.exclusive}
    if not wanted:
        return {}
    # By value alone: SQLite would otherwise pick the (kind, ...) index and scan a kind.
    rows = Identity.objects.filter(value__in=sorted({key[2] for key in wanted})).values_list(
        "kind", "namespace", "value", "customer_id"
    )
    return {(k, ns, v): cid for k, ns, v, cid in rows if (k, ns, v) in wanted}


# --- reads for the Customer 360 page ------------------------------------------------


def identities_of(customer_id: int) -> list[Identity]:
    return list(Identity.objects.filter(customer_id=customer_id).order_by("kind", "value"))


def consents_of(customer_id: int) -> dict[str, Consent]:
    return {c.channel: c for c in Consent.objects.filter(customer_id=customer_id)}


def merges_of(customer_id: int) -> list[Merge]:
    """Merges this profile took part in, as survivor or as the one folded away."""
    return list(
        Merge.objects.filter(Q(target_id=customer_id) | Q(source_id=customer_id))
        .select_related("source", "target")
        .order_by("-at", "-pk")[:50]
    )


def possible_duplicates(customer_id: int, limit: int = 10) -> list[Customer]:
    """Other live profiles holding one of this profile's e-mail addresses or mobiles.

    Unverified e-mails and phones never merge by themselves (a family mailbox, a shop's
    front desk), so staff see the candidates and decide.
    """
    mine = list(
        Identity.objects.filter(
            customer_id=customer_id, kind__in=[IdentityKind.EMAIL, IdentityKind.PHONE]
        ).values_list("kind", "namespace", "value")
    )
    if not mine:
        return []
    shared = Q()
    for kind, namespace, value in mine:
        shared |= Q(kind=kind, namespace=namespace, value=value)
    ids = (
        Identity.objects.filter(shared)
        .exclude(customer_id=customer_id)
        .values_list("customer_id", flat=True)
        .distinct()[: limit * 5]
    )
    return list(
        Customer.objects.filter(pk__in=list(ids), merged_into__isnull=True).order_by("-pk")[:limit]
    )
