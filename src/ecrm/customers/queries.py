"""Reads of customer profiles, with the joins they need built in."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from ecrm.core.phone import InvalidPhone, looks_like_phone, normalize_phone
from ecrm.core.text import has_cjk, search_key
from ecrm.customers.models import Consent, Customer, Identity, IdentityKind, Merge
from ecrm.customers.rules import customer_number

PAGE = 50
# What an e-mail address may start with: ``zhang.wei`` finds zhang.wei@example.com.
_EMAIL_START = re.compile(r"[\w.+-]+", re.ASCII)


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
    """Find live profiles by name (汉字 or pinyin, full or initials, tone marks or numbers
    allowed), e-mail address (its start, or its domain as ``@qq.com``), mobile or id.

    Keyset pagination on id, newest first: ``after`` is the last id of the previous
    page. No COUNT is ever run. Each way of matching runs as its own query on its own
    index (an OR across columns would make the database scan the table), and the pages
    are merged by id.
    """
    limit = max(1, min(limit, 200))
    text = (query or "").strip()
    if not text:
        qs: QuerySet = Customer.objects.filter(merged_into__isnull=True)
        if not include_anonymous:
            qs = qs.filter(is_anonymous=False)
        if after is not None:
            qs = qs.filter(pk__lt=after)
        rows = list(qs.order_by("-pk")[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(items=rows, next_cursor=rows[-1].pk if more and rows else None)

    candidates: set[int] = set()
    for condition in _conditions(text):
        qs = Customer.objects.filter(condition)
        if after is not None:
            qs = qs.filter(pk__lt=after)
        candidates.update(qs.order_by("-pk").values_list("pk", flat=True)[: limit + 1])
    for ids in _identity_matches(text):
        qs = Identity.objects.filter(ids)
        if after is not None:
            qs = qs.filter(customer_id__lt=after)
        candidates.update(
            qs.order_by("-customer_id").values_list("customer_id", flat=True)[: limit + 1]
        )
    top = sorted(candidates, reverse=True)[: limit + 1]
    more = len(top) > limit
    top = top[:limit]
    rows = list(Customer.objects.filter(pk__in=top, merged_into__isnull=True).order_by("-pk"))
    return Page(items=rows, next_cursor=top[-1] if more else None)


def _conditions(text: str) -> list[Q]:
    """Conditions on the customer table, each served by one index."""
    number = customer_number(text)
    if text.startswith("#") and number is not None:
        return [Q(pk=number)]
    if text.startswith("@") and len(text) > 1:
        # A domain ("@qq.com"): no index serves an address's end, so this walks the table
        # newest first and stops at a page of matches; a rare domain reads it all.
        return [Q(email__endswith=text.lower())]
    if "@" in text:
        return [_prefix("email", text.lower())]
    if looks_like_phone(text):
        conditions = []
        with contextlib.suppress(InvalidPhone):
            conditions.append(Q(phone=normalize_phone(text)))
        if number is not None and len(text) <= 12:
            conditions.append(Q(pk=number))
        return conditions
    if has_cjk(text):
        return [_prefix("name", text)]
    conditions = [_prefix("name", text)]
    if number is not None:
        conditions.append(Q(pk=number))
    if _EMAIL_START.fullmatch(text):  # the start of an address typed without its @
        conditions.append(_prefix("email", text.lower()))
    key = search_key(text)
    if key:
        conditions += [_prefix("name_pinyin", key), _prefix("name_initials", key)]
    return conditions


def _identity_matches(text: str) -> list[Q]:
    """Conditions on identities: every email, phone and shop id a profile has, exactly."""
    if text.startswith(("#", "@")) or has_cjk(text):
        return []
    if "@" in text:
        return [Q(value=text.lower(), kind=IdentityKind.EMAIL)]
    exact = [
        Q(
            value=text,
            kind__in=[IdentityKind.USER_ID, IdentityKind.EXTERNAL, IdentityKind.WECHAT],
        )
    ]
    if looks_like_phone(text):
        with contextlib.suppress(InvalidPhone):
            exact.append(Q(value=normalize_phone(text), kind=IdentityKind.PHONE))
    return exact


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
    # Written out: the tracking API asks this for every request, and building an IN
    # lookup of a few hundred values costs the ORM more than the query costs the database.
    values = sorted({key[2] for key in wanted})
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote('kind')}, {quote('namespace')}, {quote('value')}, "
        f"{quote('customer_id')} FROM {quote(Identity._meta.db_table)} "
        f"WHERE {quote('value')} IN ({', '.join(['%s'] * len(values))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
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
