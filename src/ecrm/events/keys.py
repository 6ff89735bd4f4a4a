"""Write keys: created by staff, sent by SDKs as the HTTP Basic user name."""

from __future__ import annotations

import hashlib
import secrets
import time

from django.utils.translation import gettext_noop as N_

from ecrm.core import audit, clock
from ecrm.core.messages import TOO_LONG, Problem
from ecrm.events.models import WriteKey

_CACHE: dict[str, tuple[float, int | None]] = {}
_TTL = 30.0


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class WriteKeyError(Problem):
    """A write key's ``name`` was refused or names no key."""


NAME_LENGTH = WriteKey._meta.get_field("name").max_length
EXISTS = N_("a write key named %(name)s exists already")


def create_write_key(name: str, *, actor: audit.Actor) -> tuple[WriteKey, str]:
    name = name.strip()
    if not name:
        raise WriteKeyError("name", N_("a write key needs a name"))
    if len(name) > NAME_LENGTH:
        raise WriteKeyError("name", TOO_LONG, limit=NAME_LENGTH)
    if WriteKey.objects.filter(name=name).exists():
        raise WriteKeyError("name", EXISTS, name=repr(name))
    key = "wk_" + secrets.token_urlsafe(24)
    row = WriteKey.objects.create(
        name=name, key_hash=hash_key(key), prefix=key[:8], created_at=clock.now()
    )
    audit.record(
        actor, "create", "write_key", row.pk, None, {"name": row.name, "prefix": row.prefix}
    )
    return row, key


def revoke_write_key(key_id: int, *, actor: audit.Actor) -> None:
    row = WriteKey.objects.get(pk=key_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        row.save(update_fields=["revoked_at"])
        audit.record(actor, "revoke", "write_key", row.pk, {"revoked": False}, {"revoked": True})
    _CACHE.clear()


def write_keys() -> list[WriteKey]:
    """Every write key, live and revoked, oldest first."""
    return list(WriteKey.objects.order_by("created_at", "pk"))


def revoke_write_key_named(name: str, *, actor: audit.Actor) -> None:
    row = WriteKey.objects.filter(name=name.strip()).first()
    if row is None:
        raise WriteKeyError("name", N_("no write key named %(name)s"), name=repr(name))
    revoke_write_key(row.pk, actor=actor)


def key_id_for(key: str) -> int | None:
    """The id of a live write key, cached briefly so each request costs no query."""
    if not key:
        return None
    now = time.monotonic()
    hit = _CACHE.get(key)
    if hit is not None and now - hit[0] < _TTL:
        return hit[1]
    row = (
        WriteKey.objects.filter(key_hash=hash_key(key), revoked_at__isnull=True)
        .values_list("pk", flat=True)
        .first()
    )
    if len(_CACHE) > 1000:
        _CACHE.clear()
    _CACHE[key] = (now, row)
    return row
