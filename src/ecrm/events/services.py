"""Writes of the tracking API: one request, one transaction.

``ingest`` stores validated messages (``rules.Message``) and does what they say to
profiles, the catalogue and orders. Everything happens inside one transaction, so a
request is taken whole or not at all, and the caller answers only after the commit
(SQLite runs with ``synchronous=FULL``: committed is durable).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, connection, transaction

from ecrm import flows
from ecrm.catalog import api as catalog
from ecrm.core import audit
from ecrm.core.tables import insert_rows
from ecrm.customers import api as customers
from ecrm.events import ecommerce
from ecrm.events.models import Event
from ecrm.events.rules import Message, alias_claims
from ecrm.orders import api as orders

log = logging.getLogger(__name__)

SOURCE = "tracking"
TRACKING = audit.Actor("tracking")
CHUNK = 500
VISITOR_TYPES = frozenset({"track", "page", "screen"})


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # messages stored now
    duplicates: int  # messages whose id had been stored before (or twice in the request)
    customer_ids: tuple[int, ...]  # live profiles the request touched


def ingest(
    messages: list[Message], write_key_id: int | None, *, source: str = SOURCE
) -> IngestResult:
    """Store new messages and apply them, in one transaction.

    A message id already stored (or repeated within ``messages``) is skipped: each
    message is stored and processed once. The unique index on ``message_id`` decides
    between two requests racing with the same id: the loser's transaction fails and
    is run again, when the pre-check sees the winner's rows.
    """
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return ingest_once(messages, write_key_id, source)
        except (IntegrityError, OperationalError) as exc:
            if attempt == ATTEMPTS - 1 or not retryable(exc):
                raise
            log.info("concurrent request won a race (%s), retrying", exc)
    raise AssertionError("unreachable")


ATTEMPTS = 4
# PostgreSQL's deadlock_detected and serialization_failure: the transaction was chosen
# to give way to a concurrent one and can simply run again.
_RETRY_STATES = frozenset({"40P01", "40001"})


def retryable(exc: Exception) -> bool:
    """A unique-key race or a deadlock with another server process: run it again."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.__cause__, "sqlstate", None) in _RETRY_STATES


def ingest_once(
    messages: list[Message], write_key_id: int | None, source: str = SOURCE
) -> IngestResult:
    """One request's messages, applied inside the caller's transaction (no retries)."""
    fresh = _unseen(messages)
    if not fresh:
        return IngestResult(0, len(messages), ())
    resolver = _Resolver(fresh, source)
    pending: list[tuple[Message, int]] = []
    products: dict[str, catalog.ProductInput] = {}
    touched: set[int] = set()
    for message in fresh:
        customer_id = resolver.customer_for(message)
        pending.append((message, customer_id))
        if message.commerce is not None:
            _collect_products(products, message.commerce.products)
    if products:
        catalog.upsert_products(list(products.values()))
    for message, customer_id in pending:
        if message.commerce is not None and message.commerce.is_order:
            touched |= _apply_order(message, resolver.live(customer_id))
    _insert_events([(m, resolver.live(cid)) for m, cid in pending], write_key_id, source)
    # Customers whose orders changed, or who took part in a merge, get every figure
    # recomputed; for the rest only "last seen" can have moved.
    full = {resolver.live(c) for c in touched if c is not None}
    full |= set(resolver.merged.values())
    seen: dict[int, object] = {}
    for message, cid in pending:
        live_id = resolver.live(cid)
        if live_id not in full and (live_id not in seen or message.timestamp > seen[live_id]):
            seen[live_id] = message.timestamp
    flows.orders_changed(full)
    tracked = [
        (resolver.live(cid), m.message_id, m.name, m.timestamp)
        for m, cid in pending
        if m.type == "track"
    ]
    flows.customers_seen(seen, activities=tracked)
    flows.referrals_claimed(_referral_claims(pending, resolver.live))
    live = tuple(sorted(full | set(seen)))
    return IngestResult(len(fresh), len(messages) - len(fresh), live)


def _referral_claims(pending, live) -> list[tuple[int, str, str, str]]:
    """Identify calls carrying a ``referral_code`` trait (a new customer who came through a
    referral link): (customer id, code, anonymous id, device id from ``context.device.id``)."""
    claims = []
    for message, customer_id in pending:
        if message.type != "identify":
            continue
        code = message.properties.get("referral_code") or message.properties.get("referralCode")
        if not isinstance(code, str) or not code.strip():
            continue
        device = message.context.get("device")
        device_id = device.get("id") if isinstance(device, dict) else None
        device_id = device_id if isinstance(device_id, str) else ""
        claims.append((live(customer_id), code.strip(), message.anonymous_id, device_id))
    return claims


def _unseen(messages: list[Message]) -> list[Message]:
    """Messages whose id is new: first occurrence in the request, not stored before."""
    first: dict[str, Message] = {}
    for message in messages:
        first.setdefault(message.message_id, message)
    given = [m.message_id for m in first.values() if not m.generated_id]
    seen: set[str] = set()
    quote = connection.ops.quote_name
    column = quote(Event._meta.get_field("message_id").column)
    select = f"SELECT {column} FROM {quote(Event._meta.db_table)} WHERE {column} IN "
    with connection.cursor() as cursor:  # written out: the ORM's IN lookup costs more
        for start in range(0, len(given), CHUNK):
            chunk = given[start : start + CHUNK]
            cursor.execute(select + f"({', '.join(['%s'] * len(chunk))})", chunk)
            seen.update(row[0] for row in cursor.fetchall())
    return [m for m in first.values() if m.message_id not in seen]


class _Resolver:
    """Maps messages to profiles, cheaply for the common case.

    Track, page and screen messages whose identifiers one profile already holds need
    no resolution: one query for the whole request finds those holders. Every other
    message goes through ``customers.resolve_customer``; a visitor's (anonymousId,
    userId) is resolved once per request. Merges made on the way are remembered so
    rows written later point at the surviving profile.
    """

    def __init__(self, messages: list[Message], source: str):
        self.source = source
        claims = [c for m in messages if m.type in VISITOR_TYPES for c in m.claims]
        self.held: dict[tuple[str, str, str], int] = {}
        for start in range(0, len(claims), CHUNK):
            self.held.update(customers.holders_of(claims[start : start + CHUNK]))
        self.visitors: dict[tuple[str, str], int] = {}
        self.merged: dict[int, int] = {}
        self._create_new_visitors(messages)

    def _create_new_visitors(self, messages: list[Message]) -> None:
        """Profiles of first-time visitors, made together in a few set-based statements.

        Only visitors whose identifiers nobody holds yet, that no identify, group or alias
        of this request names, and that share no identifier with another new visitor:
        for them resolution can only mean "a new profile with these identifiers".
        """
        named: set[tuple[str, str, str]] = set()
        for m in messages:
            if m.type not in VISITOR_TYPES:
                named.update(c.key for c in m.claims)
                if m.previous_id:
                    named.add((customers.IdentityKind.ANONYMOUS_ID, "", m.previous_id))
                    named.add((customers.IdentityKind.USER_ID, "", m.previous_id))
        fresh: dict[tuple[str, str], tuple] = {}
        uses: dict[tuple[str, str, str], int] = {}
        for m in messages:
            if m.type not in VISITOR_TYPES or m.visitor in fresh:
                continue
            keys = [c.key for c in m.claims]
            if any(k in self.held or k in named for k in keys):
                continue
            fresh[m.visitor] = m.claims
            for k in keys:
                uses[k] = uses.get(k, 0) + 1
        fresh = {v: claims for v, claims in fresh.items() if all(uses[c.key] == 1 for c in claims)}
        if not fresh:
            return
        records = [
            customers.ProfileRecord(claims=tuple(claims), profile={}, attributes={}, consents={})
            for claims in fresh.values()
        ]
        made = customers.resolve_customers_bulk(records, source=self.source, update_existing=False)
        for (visitor, claims), customer_id in zip(fresh.items(), made.customer_ids, strict=True):
            self.visitors[visitor] = customer_id
            for claim in claims:
                self.held[claim.key] = customer_id

    def live(self, customer_id: int | None) -> int | None:
        while customer_id in self.merged:
            customer_id = self.merged[customer_id]
        return customer_id

    def customer_for(self, message: Message) -> int:
        if message.type in VISITOR_TYPES:
            return self._visitor(message)
        if message.type == "identify":
            return self._resolve(
                message.claims, profile=message.profile, attributes=message.attributes
            )
        if message.type == "group":
            return self._resolve(message.claims, attributes=message.attributes)
        user = customers.make_claim(customers.IdentityKind.USER_ID, message.previous_id)
        previous_is_user = bool(customers.holders_of([user]))
        return self._resolve(alias_claims(message, previous_is_user))

    def _visitor(self, message: Message) -> int:
        known = self.visitors.get(message.visitor)
        if known is not None:
            return self.live(known)
        holders = {self.held.get(c.key) for c in message.claims}
        if len(holders) == 1 and None not in holders:
            customer_id = self.live(holders.pop())
        else:
            customer_id = self._resolve(message.claims)
        self.visitors[message.visitor] = customer_id
        return customer_id

    def _resolve(self, claims, *, profile=None, attributes=None) -> int:
        resolved = customers.resolve_customer(
            list(claims),
            profile=profile or None,
            attributes=attributes or None,
            source=self.source,
        )
        for other in resolved.merged:
            self.merged[other] = resolved.customer_id
        return resolved.customer_id


def _collect_products(into: dict[str, catalog.ProductInput], items: Iterable) -> None:
    """One upsert per SKU per request; a later mention fills in, never blanks."""
    for item in items:
        before = into.get(item.sku)
        if before is None:
            into[item.sku] = item
            continue
        values = {
            k: getattr(item, k) if getattr(item, k) not in (None, "") else getattr(before, k)
            for k in ("name", "category", "brand", "price", "cost", "currency", "url", "image_url")
        }
        into[item.sku] = catalog.ProductInput(sku=item.sku, **values)


def _apply_order(message: Message, customer_id: int) -> set[int | None]:
    """An order event of the spec, applied; returns the customers whose orders changed."""
    commerce = message.commerce
    brief = orders.order_brief(commerce.order_id)
    owner = brief.customer_id if brief is not None and brief.customer_id else customer_id
    if commerce.event == "Order Completed":
        # A late or repeated Completed (a retry with a new message id, or one that arrives
        # after the Cancelled or Refunded) keeps the order's later status, and its buyer
        # unless that is a guest profile (the shop's server reporting a guest checkout with
        # the account's userId): the write key is public, so another user cannot take it.
        if owner != customer_id and customers.is_anonymous(owner):
            owner = customer_id
        order = ecommerce.order_input(
            commerce,
            placed_at=message.timestamp,
            status=ecommerce.completed_status(brief.status if brief else None),
            channel=message.channel,
        )
        orders.record_order(order, customer_id=owner, refresh=False, as_of=message.timestamp)
        return {owner, brief.customer_id if brief else None}
    if commerce.event == "Order Updated":
        order = ecommerce.order_input(
            commerce,
            placed_at=brief.placed_at if brief else message.timestamp,
            status=brief.status if brief else ecommerce.PAID,
            channel=message.channel,
        )
        orders.record_order(order, customer_id=owner, refresh=False, as_of=message.timestamp)
        return {owner}
    if commerce.event == "Order Cancelled":
        if brief is None:
            order = ecommerce.order_input(
                commerce,
                placed_at=message.timestamp,
                status=ecommerce.CANCELLED,
                channel=message.channel,
            )
            orders.record_order(order, customer_id=customer_id, refresh=False)
            return {customer_id}
        try:
            orders.set_order_status(
                commerce.order_id, ecommerce.CANCELLED, actor=TRACKING, refresh=False
            )
        except orders.OrderError as exc:
            # The shop sent a cancellation the lifecycle forbids (e.g. after delivery):
            # the event is kept on the timeline, the order keeps its status.
            log.info("order %s not cancelled: %s", commerce.order_id, exc.message)
        return {owner}
    ret = ecommerce.return_input(
        commerce,
        external_id=refund_id(message),
        returned_at=message.timestamp,
        unrefunded=brief.total - orders.refunded_amount(commerce.order_id) if brief else None,
        order_currency=brief.currency if brief else None,
        order_prices=orders.line_prices(commerce.order_id) if brief and commerce.unpriced else None,
    )
    if ret is None:  # nothing left to refund: the event stays on the timeline only
        return set()
    orders.record_return(ret, customer_id=owner, refresh=False)
    return {owner}


def refund_id(message: Message) -> str:
    """A stable return number: from the message id, else the order and the time."""
    if message.generated_id:
        key = f"{message.commerce.order_id}@{message.timestamp.isoformat()}"
    else:
        key = message.message_id
    text = f"ev-{key}"
    if len(text) <= 80:
        return text
    return "ev-" + hashlib.blake2b(key.encode(), digest_size=20).hexdigest()


_FIELDS = (
    "message_id", "type", "name", "customer", "anonymous_id", "user_id", "timestamp",
    "sent_at", "received_at", "channel", "page_url", "referrer", "user_agent", "properties",
    "context", "write_key", "source",
)  # fmt: skip


def _insert_events(rows: list[tuple[Message, int]], write_key_id: int | None, source: str) -> None:
    """Every row in as few statements as ``core.tables.insert_rows`` takes: the hot path of
    the tracking API.

    ``bulk_create`` spends most of a batch preparing values field by field; the
    backend's own adapters (``adapt_json_value``, ``adapt_datetimefield_value``) give
    the same stored values at a fraction of the cost.
    """
    ops = connection.ops
    stamps: dict = {}

    def stamp(value):  # a batch shares receivedAt, sentAt and often timestamps
        if value not in stamps:
            stamps[value] = ops.adapt_datetimefield_value(value)
        return stamps[value]

    json_value = ops.adapt_json_value
    source = source[:20]
    params = [
        (
            m.message_id, m.type, m.name, customer_id, m.anonymous_id, m.user_id,
            stamp(m.timestamp), stamp(m.sent_at), stamp(m.received_at), m.channel,
            m.page_url, m.referrer, m.user_agent, json_value(m.properties, None),
            json_value(m.context, None), write_key_id, source,
        )
        for m, customer_id in rows
    ]  # fmt: skip
    # COPY on PostgreSQL (psycopg's executemany spent 60-90 us of Python per row); on SQLite
    # one prepared INSERT run over the rows: many rows to a statement took less CPU in a
    # rolled-back test but gave the server 5-8 % fewer events a second (docs/BENCHMARKS.md).
    columns = tuple(Event._meta.get_field(name).column for name in _FIELDS)
    insert_rows(Event._meta.db_table, columns, params)
