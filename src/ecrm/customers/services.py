"""Every write to a customer profile goes through a function here.

The tracking API, the importer, the console, the JSON API and the demo all call
these; each owns its transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils.translation import gettext_noop as N_

from ecrm import flows
from ecrm.core import audit, clock
from ecrm.core.messages import Message, Problem
from ecrm.core.tables import select_where_in
from ecrm.core.text import pinyin_keys
from ecrm.customers import rules
from ecrm.customers.models import (
    Consent,
    ConsentChannel,
    ConsentStatus,
    Customer,
    Identity,
    IdentityKind,
    Merge,
)
from ecrm.customers.rules import Claim, Holder, ProfileError


class MergeError(Problem):
    """Two profiles cannot be merged (no field: the request as a whole)."""


MERGED_ALREADY = N_("customer #%(id)s was already merged into #%(target)s")
SELF_MERGE = N_("a customer cannot be merged with itself")


@dataclass(frozen=True)
class Resolved:
    customer_id: int
    created: bool
    merged: tuple[int, ...] = ()


def _with_search_keys(values: dict) -> dict:
    if "name" in values:
        values["name_pinyin"], values["name_initials"] = pinyin_keys(values["name"] or "")
    return values


def create_customer(
    *,
    profile: dict | None = None,
    claims: list[Claim] = (),
    attributes: dict | None = None,
    source: str = "",
    actor: audit.Actor | None = None,
) -> Customer:
    """A new profile with its identities. ``profile`` is validated by ``rules.clean_profile``."""
    values = _with_search_keys(rules.clean_profile(profile or {}))
    now = clock.now()
    with transaction.atomic():
        customer = Customer.objects.create(
            **values,
            attributes=attributes or {},
            is_anonymous=_all_anonymous(claims, values),
            created_at=now,
            updated_at=now,
        )
        _attach(customer.pk, _with_profile_claims(claims, values), source, now)
        if actor is not None and actor is not audit.SYSTEM:
            audit.record(actor, "create", "customer", customer.pk, None, snapshot(customer))
        flows.profiles_changed([customer.pk])
    return customer


def _all_anonymous(claims, values) -> bool:
    has_static = any(values.get(k) for k in ("name", "email", "phone"))
    return not has_static and all(c.kind == IdentityKind.ANONYMOUS_ID for c in claims)


def _with_profile_claims(claims, values) -> list[Claim]:
    """A profile's own email and phone are identities too (unverified unless claimed so)."""
    out = list(claims)
    keys = {c.key for c in out}
    for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
        value = values.get(kind.value)
        if value and (kind.value, "", value) not in keys:
            out.append(Claim(kind=kind.value, value=value))
    return out


def _attach(customer_id: int, claims, source: str, now) -> None:
    if not claims:
        return
    Identity.objects.bulk_create(
        [
            Identity(
                customer_id=customer_id,
                kind=c.kind,
                namespace=c.namespace,
                value=c.value,
                verified=c.verified,
                source=source[:40],
                first_seen_at=now,
            )
            for c in claims
        ]
    )


def _matches(claims: list[Claim]) -> dict:
    if not claims:
        return {}
    q = Q()
    for c in claims:
        q |= Q(kind=c.kind, namespace=c.namespace, value=c.value)
    rows = list(
        Identity.objects.filter(q).values_list(
            "kind", "namespace", "value", "verified", "customer_id", "customer__is_anonymous"
        )
    )
    if not rows:
        return {}
    ids = {r[4] for r in rows}
    user_ids: dict[int, set[str]] = {}
    for cid, value in Identity.objects.filter(
        customer_id__in=ids, kind=IdentityKind.USER_ID
    ).values_list("customer_id", "value"):
        user_ids.setdefault(cid, set()).add(value)
    out: dict = {}
    for kind, ns, value, verified, cid, anonymous in rows:
        holder = Holder(cid, anonymous, frozenset(user_ids.get(cid, ())))
        out.setdefault((kind, ns, value), []).append((holder, verified))
    return out


def resolve_customer(
    claims: list[Claim],
    *,
    profile: dict | None = None,
    attributes: dict | None = None,
    source: str = "",
    actor: audit.Actor = audit.SYSTEM,
) -> Resolved:
    """Find or create the one profile these identifiers belong to; merge where they join two.

    ``profile`` (validated traits) is applied to the resulting profile. Safe under
    concurrency: a race on an exclusive identifier retries against the winner's row.
    """
    cleaned = rules.clean_profile(profile or {})
    claims = list({c.key: c for c in claims}.values())
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _resolve_once(claims, cleaned, attributes, source, actor)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _resolve_once(claims, cleaned, attributes, source, actor) -> Resolved:
    decision = rules.resolve(claims, _matches(claims))
    if decision.target is None:
        customer = create_customer(
            profile=cleaned, claims=list(decision.attach), attributes=attributes, source=source
        )
        return Resolved(customer.pk, created=True)
    for other in decision.merge:
        merge_customers(other, decision.target, actor=actor, reason=decision.reason)
    now = clock.now()
    _attach(decision.target, [c for c in decision.attach], source, now)
    if cleaned or attributes or decision.attach:
        changed = _apply_profile(
            decision.target, cleaned, attributes, now, claims_attached=decision.attach
        )
        if changed or decision.attach:
            flows.profiles_changed([decision.target])
    return Resolved(decision.target, created=False, merged=decision.merge)


def _apply_profile(customer_id, cleaned, attributes, now, claims_attached=()) -> bool:
    """Apply traits; True when a profile field or attribute changed."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    changed = []
    for key, value in _with_search_keys(dict(cleaned)).items():
        if getattr(customer, key) != value:
            setattr(customer, key, value)
            changed.append(key)
    if attributes:
        merged = {**customer.attributes, **attributes}
        if merged != customer.attributes:
            customer.attributes = merged
            changed.append("attributes")
    anonymous = _all_anonymous(
        [
            Claim(k, v)
            for k, v in Identity.objects.filter(customer_id=customer_id).values_list(
                "kind", "value"
            )
        ],
        {k: getattr(customer, k) for k in ("name", "email", "phone")},
    )
    if anonymous != customer.is_anonymous:
        customer.is_anonymous = anonymous
        changed.append("is_anonymous")
    extra = _with_profile_claims([], cleaned)
    if extra:
        have = set(
            Identity.objects.filter(customer_id=customer_id).values_list(
                "kind", "namespace", "value"
            )
        )
        _attach(customer_id, [c for c in extra if c.key not in have], "profile", now)
    if changed:
        customer.updated_at = now
        customer.save(update_fields=[*changed, "updated_at"])
    return bool(changed)


def snapshot(customer: Customer) -> dict:
    data = {k: getattr(customer, k) for k in rules.PROFILE_FIELDS}
    data["attributes"] = customer.attributes
    return audit.jsonable(data)


def update_profile(
    customer_id: int,
    changes: dict,
    *,
    actor: audit.Actor,
    attributes: dict | None = None,
) -> Customer:
    """Staff or an integration changes profile fields; audited with before and after."""
    cleaned = rules.clean_profile(changes)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=live_id(customer_id))
        before = snapshot(customer)
        _apply_profile(customer.pk, cleaned, attributes, clock.now())
        customer.refresh_from_db()
        b, a = audit.changed_fields(before, snapshot(customer))
        if a:
            audit.record(actor, "update", "customer", customer.pk, b, a)
            flows.profiles_changed([customer.pk])
    return customer


def add_identity(customer_id: int, claim: Claim, *, actor: audit.Actor) -> Resolved:
    """Staff attach an identifier; a profile that owns it exclusively is merged in."""
    with transaction.atomic():
        cid = live_id(customer_id)
        owners = {h.customer_id for h, _ in _matches([claim]).get(claim.key, [])}
        merged = []
        if claim.exclusive:
            for other in sorted(owners - {cid}):
                merge_customers(other, cid, actor=actor, reason=f"staff added {claim.kind}")
                merged.append(other)
        if cid not in owners and not merged:
            _attach(cid, [claim], "staff", clock.now())
            _apply_profile(cid, {}, None, clock.now())
        audit.record(actor, "add_identity", "customer", cid, None, {claim.kind: claim.value})
        flows.profiles_changed([cid])
    return Resolved(cid, created=False, merged=tuple(merged))


def set_consent(
    customer_id: int, channel: str, status: str, *, source: str, actor: audit.Actor
) -> Consent:
    if channel not in ConsentChannel.values:
        raise ProfileError(
            "channel", N_("unknown consent channel %(channel)s"), channel=repr(channel)
        )
    if status not in ConsentStatus.values:
        raise ProfileError(
            "status",
            N_("consent status must be granted or denied, not %(status)s"),
            status=repr(status),
        )
    now = clock.now()
    with transaction.atomic():
        cid = live_id(customer_id)
        consent = Consent.objects.filter(customer_id=cid, channel=channel).first()
        before = {"status": consent.status} if consent else None
        if consent is None:
            consent = Consent.objects.create(
                customer_id=cid, channel=channel, status=status, source=source, updated_at=now
            )
        elif consent.status != status:
            consent.status, consent.source, consent.updated_at = status, source, now
            consent.save(update_fields=["status", "source", "updated_at"])
        if before != {"status": status}:
            audit.record(actor, "consent", "customer", cid, before, {channel: status})
            flows.profiles_changed([cid])
    return consent


def live_id(customer_id: int) -> int:
    """Follow merges: the id of the profile that now holds this customer's data."""
    seen = set()
    current = customer_id
    while True:
        found = list(Customer.objects.filter(pk=current).values_list("merged_into_id", flat=True))
        row = found[0] if found else None
        if row is None:
            if current == customer_id and not found:
                raise Customer.DoesNotExist(f"no customer #{customer_id}")
            return current
        if row in seen:
            raise MergeError("", N_("merge cycle at customer #%(id)s"), id=current)
        seen.add(current)
        current = row


def _customer_references() -> list[tuple[type[models.Model], str]]:
    """Every (model, field) pointing at Customer, found from the models themselves."""
    refs = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model = rel.related_model
        if model is Customer or model._meta.auto_created:
            continue
        refs.append((model, rel.field.name))
    return refs


def merge_refusal(source: Customer, target: Customer) -> Message | None:
    """Why the console does not offer to fold ``source`` into ``target``, in
    ``merge_customers``' own words: the same profile, or either merged into another already
    (the service would follow a merged target to its survivor; the console shows the
    profiles as they are and lets staff open the survivor)."""
    if source.pk == target.pk:
        return Message(SELF_MERGE)
    for customer in (source, target):
        if customer.merged_into_id is not None:
            return Message(MERGED_ALREADY, id=customer.pk, target=customer.merged_into_id)
    return None


def merge_customers(
    source_id: int, target_id: int, *, actor: audit.Actor, reason: str = "manual"
) -> Merge:
    """Fold ``source`` into ``target``: atomic, keeps every row, and safe to repeat.

    Every table with a foreign key to Customer is re-pointed (a model may define
    ``on_customer_merge`` for rows that need more than an UPDATE). The source profile
    stays as a tombstone pointing at the target, so old links keep working.
    """
    if source_id == target_id:
        raise MergeError("", SELF_MERGE)
    with transaction.atomic():
        source = Customer.objects.select_for_update().get(pk=source_id)
        target = Customer.objects.select_for_update().get(pk=live_id(target_id))
        if source.merged_into_id is not None:
            done = Merge.objects.filter(source_id=source_id).order_by("-at").first()
            if live_id(source_id) == target.pk and done is not None:
                return done
            raise MergeError("", MERGED_ALREADY, id=source_id, target=source.merged_into_id)
        if source.pk == target.pk:
            raise MergeError("", SELF_MERGE)
        moved: dict[str, int] = {}
        for model, field_name in _customer_references():
            hook = getattr(model, "on_customer_merge", None)
            if hook is not None:
                count = hook(source.pk, target.pk)
            else:
                count = model.objects.filter(**{field_name: source.pk}).update(
                    **{field_name: target.pk}
                )
            if count:
                moved[model._meta.label_lower] = count
        before_target = snapshot(target)
        fills = rules.fill_blanks(before_target, snapshot(source))
        fills = {k: getattr(source, k) for k in fills}
        for key, value in _with_search_keys(fills).items():
            setattr(target, key, value)
        target.attributes = {**source.attributes, **target.attributes}
        target.is_anonymous = target.is_anonymous and source.is_anonymous
        target.updated_at = clock.now()
        target.save()
        source.merged_into = target
        source.updated_at = target.updated_at
        source.save(update_fields=["merged_into", "updated_at"])
        record = Merge.objects.create(
            source=source,
            target=target,
            at=target.updated_at,
            actor_id=actor.user_id,
            actor_label=actor.label,
            reason=reason[:200],
            source_snapshot=snapshot(source) | {"id": source.pk},
            moved=moved,
        )
        audit.record(
            actor,
            "merge",
            "customer",
            target.pk,
            {"source": snapshot(source) | {"id": source.pk}},
            {"target": snapshot(target), "moved": moved, "reason": reason},
        )
        flows.orders_changed([target.pk])
        flows.profiles_changed([target.pk])
    return record


# --- bulk import -------------------------------------------------------------------

BULK_CHUNK = 500


@dataclass(frozen=True)
class ProfileRecord:
    """One customer as a bulk source (a customer file row, an order's buyer) sees them.

    ``claims`` are tried in order (external id, then email, then phone); ``profile`` is
    already cleaned by ``rules.clean_profile`` and holds only the fields the source has.
    """

    claims: tuple[Claim, ...]
    profile: dict
    attributes: dict
    consents: dict  # channel -> granted/denied


@dataclass(frozen=True)
class BulkResolved:
    customer_ids: tuple[int, ...]  # one per record, in order
    created: int
    changed: int


def _identity_rows(keys: set[tuple[str, str, str]]) -> list[tuple]:
    """(kind, namespace, value, verified, customer_id) of every identity with these keys.

    Exclusive identifiers link whatever their ``verified`` flag (``rules.links``), so for
    them it is not read (None): their lookup is then served by the unique index on (kind,
    namespace, value, customer) alone, without reading each identity's row (half the
    lookup time of an order import's buyers at 1M customers)."""
    rows: list[tuple] = []
    exclusive: dict[tuple[str, str], list[str]] = {}
    shared: set[str] = set()
    for kind, namespace, value in keys:
        if kind in rules.EXCLUSIVE:
            exclusive.setdefault((kind, namespace), []).append(value)
        else:
            shared.add(value)
    for (kind, namespace), values in exclusive.items():
        found = select_where_in(
            Identity._meta.db_table,
            "value",
            sorted(values),
            ("customer_id",),
            condition="kind = %s AND namespace = %s",
            params=(kind, namespace),
        )
        rows.extend((kind, namespace, v, None, cid) for v, cid in found)
    found = select_where_in(
        Identity._meta.db_table,
        "value",
        sorted(shared),
        ("kind", "namespace", "verified", "customer_id"),
    )
    rows.extend(
        (kind, ns, value, bool(verified), cid)
        for value, kind, ns, verified, cid in found
        if (kind, ns, value) in keys
    )
    return rows


def resolve_customers_bulk(
    records: list[ProfileRecord],
    *,
    source: str,
    update_existing: bool,
    remembered: dict | None = None,
) -> BulkResolved:
    """Find or create the profile of each record with a few set-based queries.

    Each record goes to the profile holding its first claim that links (an exclusive
    identifier, or a verified email/phone held verified; the oldest holder wins); a record
    nothing links becomes a new profile, shared by later records of the batch that claim
    one of its identifiers. Bulk resolution never merges existing profiles: it attaches the
    record's other identifiers to the profile it chose (staff merge by hand if needed).
    ``update_existing``: the source is the shop's customer master, so its non-empty values
    overwrite the profile; otherwise only new profiles take the record's values.

    ``remembered``: a dict the caller keeps across the batches of one source (an import):
    see ``_resolve_remembered``.
    """
    if remembered is not None and not update_existing:
        return _resolve_remembered(records, source, remembered)
    now = clock.now()
    # No savepoint inside the caller's transaction (an import's batch): under one, SQLite
    # copies every page the inserts change into a sub-journal first (docs/IMPORT.md).
    with transaction.atomic(savepoint=False):
        holder, have = _holders({c.key: c for r in records for c in r.claims})
        # Targets: an existing id, or ("new", n) for a profile this batch creates.
        targets: list = []
        pending: list[dict] = []
        for record in records:
            target = next((holder[c.key] for c in record.claims if c.key in holder), None)
            if target is None:
                target = ("new", len(pending))
                pending.append({"profile": {}, "attributes": {}, "anonymous": True})
            for claim in record.claims:
                if claim.exclusive or claim.verified:
                    holder.setdefault(claim.key, target)
            targets.append(target)
            if isinstance(target, tuple):
                slot = pending[target[1]]
                _merge_values(slot["profile"], record.profile, overwrite=update_existing)
                slot["attributes"].update(record.attributes)
                slot["anonymous"] &= _all_anonymous(record.claims, record.profile)
        created = _create_pending(pending, now)
        ids = [created[t[1]] if isinstance(t, tuple) else t for t in targets]
        changed: set[int] = set()
        if update_existing:
            changed |= _update_existing(records, targets, now)
        changed |= _attach_bulk(records, ids, targets, have, source, now)
        changed |= _consents_bulk(records, ids, source, now)
    return BulkResolved(tuple(ids), created=len(created), changed=len(changed - set(created)))


def _holders(claims_by_key: dict[tuple, Claim]) -> tuple[dict[tuple, int], set[tuple]]:
    """For these claims (by key): the stored profile each links to (its oldest holder
    that links), and every (customer id, key) stored."""
    holder: dict[tuple, int] = {}
    have: set[tuple] = set()
    rows = _identity_rows(set(claims_by_key))
    for kind, ns, value, verified, cid in sorted(rows, key=lambda r: r[4]):
        key = (kind, ns, value)
        have.add((cid, key))
        if rules.links(claims_by_key[key], verified):
            holder.setdefault(key, cid)
    return holder, have


def known_profiles(claim_sets: Iterable[tuple[Claim, ...]]) -> dict[tuple, int]:
    """Claims -> profile, for each set of claims that ``resolve_customers_bulk`` would give
    to a stored profile holding every one of them: a record with these claims, no
    consents and ``update_existing=False`` would write nothing. Read-only; the other sets
    are left out (they need the full resolution). An order import adds these to its
    ``remembered`` buyers while it waits for the file's next batch, so its batches only
    check that the profiles are still live."""
    claim_sets = [claims for claims in set(claim_sets) if claims]
    holder, have = _holders({c.key: c for claims in claim_sets for c in claims})
    known: dict[tuple, int] = {}
    for claims in claim_sets:
        target = next((holder[c.key] for c in claims if c.key in holder), None)
        if target is not None and all((target, c.key) in have for c in claims):
            known[claims] = target
    return known


REMEMBERED_LIMIT = 1_000_000


def _resolve_remembered(records: list[ProfileRecord], source: str, remembered: dict):
    """``resolve_customers_bulk`` for a source whose records come back batch after batch
    (an order import: a buyer's orders are spread over the file). A record whose claims an
    earlier batch resolved, and whose profile is still live (not merged away since: the
    import lets other writers in between batches), is that profile again: resolving it
    again would find the same holder and attach nothing, since the earlier batch attached
    its identifiers and only new profiles take a record's values. The rest are resolved as
    usual, and remembered when one of their claims is exclusive or verified: the claims by
    which a batch shares one new profile between its records. Half of the buyers of a
    batch at 1M customers are known from earlier batches."""
    ids: list = [remembered.get(record.claims) for record in records]
    live = _live_ids({cid for cid in ids if cid is not None})
    fresh = [n for n, cid in enumerate(ids) if cid is None or cid not in live]
    result = resolve_customers_bulk(
        [records[n] for n in fresh], source=source, update_existing=False
    )
    if len(remembered) > REMEMBERED_LIMIT:
        remembered.clear()
    for n, cid in zip(fresh, result.customer_ids, strict=True):
        ids[n] = cid
        claims = records[n].claims
        if any(claim.exclusive or claim.verified for claim in claims):
            remembered[claims] = cid
    return BulkResolved(tuple(ids), created=result.created, changed=result.changed)


def _live_ids(ids: set[int]) -> set[int]:
    """Which of ``ids``, profiles read from the database, were not merged into another
    since (``live_profiles``, which reads the merged profiles from the index on
    ``merged_into`` alone: profiles are never deleted, and shops merge few). Looking up
    each id instead cost an import at 1M customers, which checks over 100,000 remembered
    buyers, 0.3 s."""
    return {cid for cid, live in live_profiles(ids).items() if cid == live}


def live_profiles(ids: set[int]) -> dict[int, int]:
    """``live_id`` of many profiles read from the database: each -> itself, or the live
    profile it was merged into since (through any later merges), which now holds its
    identifiers. The merged profiles are read from the index on ``merged_into`` alone."""
    if not ids:
        return {}
    merged = dict(
        Customer.objects.filter(merged_into__isnull=False).values_list("pk", "merged_into_id")
    )
    live = {}
    for cid in ids:
        target = cid
        for _ in range(len(merged)):  # a profile is only merged into a live one: no cycle
            if target not in merged:
                break
            target = merged[target]
        live[cid] = target
    return live


def _merge_values(into: dict, values: dict, *, overwrite: bool) -> None:
    for key, value in values.items():
        if value in (None, ""):
            continue
        if overwrite or into.get(key) in (None, ""):
            into[key] = value


def _create_pending(pending: list[dict], now) -> list[int]:
    rows = [
        Customer(
            **_with_search_keys(dict(slot["profile"])),
            attributes=slot["attributes"],
            is_anonymous=slot.get("anonymous", False),
            created_at=now,
            updated_at=now,
        )
        for slot in pending
    ]
    Customer.objects.bulk_create(rows, batch_size=BULK_CHUNK)
    return [row.pk for row in rows]


def _update_existing(records, targets, now) -> set[int]:
    wanted: dict[int, dict] = {}
    attrs: dict[int, dict] = {}
    for record, target in zip(records, targets, strict=True):
        if isinstance(target, tuple):
            continue
        _merge_values(wanted.setdefault(target, {}), record.profile, overwrite=True)
        attrs.setdefault(target, {}).update(record.attributes)
    changed = []
    ids = sorted(wanted)
    for start in range(0, len(ids), BULK_CHUNK):
        for customer in Customer.objects.filter(pk__in=ids[start : start + BULK_CHUNK]):
            dirty = False
            for key, value in _with_search_keys(dict(wanted[customer.pk])).items():
                if getattr(customer, key) != value:
                    setattr(customer, key, value)
                    dirty = True
            merged = {**customer.attributes, **attrs[customer.pk]}
            if merged != customer.attributes:
                customer.attributes = merged
                dirty = True
            if dirty:
                customer.updated_at = now
                changed.append(customer)
    fields = [*rules.PROFILE_FIELDS, "name_pinyin", "name_initials", "attributes", "updated_at"]
    Customer.objects.bulk_update(changed, fields, batch_size=BULK_CHUNK)
    return {c.pk for c in changed}


def _attach_bulk(records, ids, targets, have, source, now) -> set[int]:
    taken = {key for (_, key) in have}
    new = []
    for record, cid in zip(records, ids, strict=True):
        for claim in record.claims:
            if (cid, claim.key) in have or (claim.exclusive and claim.key in taken):
                continue
            have.add((cid, claim.key))
            taken.add(claim.key)
            new.append(
                Identity(
                    customer_id=cid,
                    kind=claim.kind,
                    namespace=claim.namespace,
                    value=claim.value,
                    verified=claim.verified,
                    source=source[:40],
                    first_seen_at=now,
                )
            )
    Identity.objects.bulk_create(new, batch_size=BULK_CHUNK)
    return {i.customer_id for i in new}


def _consents_bulk(records, ids, source, now) -> set[int]:
    wanted: dict[tuple[int, str], str] = {}
    for record, cid in zip(records, ids, strict=True):
        for channel, status in record.consents.items():
            wanted[(cid, channel)] = status
    if not wanted:
        return set()
    customer_ids = sorted({cid for cid, _ in wanted})
    existing = {}
    for start in range(0, len(customer_ids), BULK_CHUNK):
        for consent in Consent.objects.filter(
            customer_id__in=customer_ids[start : start + BULK_CHUNK]
        ):
            existing[(consent.customer_id, consent.channel)] = consent
    create, update = [], []
    for (cid, channel), status in wanted.items():
        consent = existing.get((cid, channel))
        if consent is None:
            create.append(
                Consent(
                    customer_id=cid,
                    channel=channel,
                    status=status,
                    source=source[:60],
                    updated_at=now,
                )
            )
        elif consent.status != status:
            consent.status, consent.source, consent.updated_at = status, source[:60], now
            update.append(consent)
    Consent.objects.bulk_create(create, batch_size=BULK_CHUNK)
    Consent.objects.bulk_update(update, ["status", "source", "updated_at"], batch_size=BULK_CHUNK)
    return {c.customer_id for c in create + update}
