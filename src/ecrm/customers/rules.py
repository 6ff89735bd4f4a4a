"""Pure decisions about profiles and identities: no ORM, no request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext_noop as N_

from ecrm.core import clock
from ecrm.core.messages import EMPTY, NOT_A_DATE, ONE_OF, OUT_OF_CALENDAR, TOO_LONG, Problem
from ecrm.core.phone import InvalidPhone, normalize_phone
from ecrm.core.text import InvalidEmail, normalize_email, whole_number
from ecrm.customers.models import EXCLUSIVE_KINDS, Gender, IdentityKind


def customer_number(text: str) -> int | None:
    """A customer's number as staff type it, ``12`` or ``#12`` (as the console shows it),
    else None."""
    return whole_number(text.removeprefix("#"))


class ProfileError(Problem):
    """A profile value is unusable; ``field`` names it for the caller's error message."""


@dataclass(frozen=True)
class Claim:
    """ "This message comes from the holder of <kind>=<value>"."""

    kind: str
    value: str
    namespace: str = ""
    verified: bool = False
    # (kind, namespace, value): what identities are looked up and grouped by; kept, as
    # bulk resolution reads it several times per claim.
    key: tuple[str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "key", (self.kind, self.namespace, self.value))

    @property
    def exclusive(self) -> bool:
        return self.kind in EXCLUSIVE


_KINDS = frozenset(IdentityKind.values)
EXCLUSIVE = frozenset(k.value for k in EXCLUSIVE_KINDS)  # kinds one person owns alone
# Plain strings: an enum member's ``value`` costs a descriptor call per claim.
_EMAIL, _PHONE = IdentityKind.EMAIL.value, IdentityKind.PHONE.value


def make_claim(kind: str, raw, namespace: str = "", verified: bool = False) -> Claim:
    """Normalise a raw identifier; raise ``ProfileError`` naming the kind when it is bad."""
    if kind not in _KINDS:
        raise ProfileError("kind", N_("unknown identity kind %(kind)s"), kind=repr(kind))
    if raw.__class__ is not str:
        if raw is None:
            raise ProfileError(kind, EMPTY)
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise ProfileError(kind, N_("must be a string"))
        raw = str(raw)
    text = raw.strip()
    if not text:
        raise ProfileError(kind, EMPTY)
    if kind == _EMAIL:
        try:
            text = normalize_email(text)
        except InvalidEmail as exc:
            raise ProfileError.of("email", exc) from exc
    elif kind == _PHONE:
        try:
            text = normalize_phone(text)
        except InvalidPhone as exc:
            raise ProfileError.of("phone", exc) from exc
    if len(text) > 254:
        raise ProfileError(kind, TOO_LONG, limit=254)
    return Claim(kind=kind, value=text, namespace=namespace[:40], verified=verified)


@dataclass(frozen=True)
class Holder:
    """What resolution needs to know of an existing profile holding a claimed identity."""

    customer_id: int
    is_anonymous: bool
    user_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Resolution:
    target: int | None  # None: create a new profile
    merge: tuple[int, ...]  # profiles to fold into the target
    attach: tuple[Claim, ...]  # claims to add to the target
    reason: str = ""


def links(claim: Claim, existing_verified: bool) -> bool:
    """Whether a match on ``claim`` joins the message to the profile holding it."""
    if claim.exclusive:
        return True
    # Emails and phones join profiles only when both sides are verified.
    return claim.verified and existing_verified


# Identifiers that never join a message claiming one user id to a profile holding another.
_NEVER_JOIN_USERS = frozenset({IdentityKind.ANONYMOUS_ID, IdentityKind.EMAIL, IdentityKind.PHONE})


def resolve(
    claims: list[Claim],
    matches: dict[tuple[str, str, str], list[tuple[Holder, bool]]],
) -> Resolution:
    """Decide which profile a message belongs to.

    ``matches`` maps each claim key to the profiles already holding it, with whether
    their identity is verified. Rules, in order:
    - an anonymous id never joins two known users: if the profile holding it already
      has a different user id, the message goes to the user id's profile and the
      anonymous id stays where it is (a shared computer); nor does an email or a phone,
      verified or not (a family's address, a number passed on: two accounts of the shop
      stay two profiles; an alias of the two user ids joins them);
    - every other exclusive identifier, and verified email/phone on both sides, joins;
    - several joined profiles are merged into the oldest known one (else the oldest).
    """
    claimed_user_ids = {c.value for c in claims if c.kind == IdentityKind.USER_ID}
    linked: dict[int, Holder] = {}
    link_reasons: dict[int, list[Claim]] = {}
    skipped: set[tuple[str, str, str]] = set()
    for claim in claims:
        for holder, verified in matches.get(claim.key, []):
            if not links(claim, verified):
                continue
            if (
                claim.kind in _NEVER_JOIN_USERS
                and claimed_user_ids
                and holder.user_ids
                and not (holder.user_ids & claimed_user_ids)
            ):
                skipped.add(claim.key)
                continue
            linked[holder.customer_id] = holder
            link_reasons.setdefault(holder.customer_id, []).append(claim)

    def unheld(claim: Claim) -> bool:
        return not any(h.customer_id in linked for h, _ in matches.get(claim.key, []))

    attach = tuple(c for c in claims if c.key not in skipped and unheld(c))
    if not linked:
        return Resolution(target=None, merge=(), attach=attach)

    known = sorted(cid for cid, h in linked.items() if not h.is_anonymous)
    target = known[0] if known else min(linked)
    others = tuple(sorted(cid for cid in linked if cid != target))
    reason = ""
    if others:
        shared = sorted({f"{c.kind}={c.value}" for cid in others for c in link_reasons[cid]})
        reason = "shared identity " + ", ".join(shared)
    return Resolution(target=target, merge=others, attach=attach, reason=reason)


# --- profile fields --------------------------------------------------------------

PROFILE_FIELDS = (
    "name",
    "email",
    "phone",
    "gender",
    "birthday",
    "country",
    "province",
    "city",
    "registration_channel",
    "registered_at",
)

_GENDERS = {
    "f": Gender.FEMALE,
    "female": Gender.FEMALE,
    "woman": Gender.FEMALE,
    "女": Gender.FEMALE,
    "m": Gender.MALE,
    "male": Gender.MALE,
    "man": Gender.MALE,
    "男": Gender.MALE,
    "o": Gender.OTHER,
    "other": Gender.OTHER,
    "": Gender.UNKNOWN,
    "u": Gender.UNKNOWN,
    "unknown": Gender.UNKNOWN,
}


def clean_profile(values: dict) -> dict:
    """Validate and normalise profile fields; unknown keys are refused by name."""
    cleaned: dict = {}
    for key, raw in values.items():
        if key not in PROFILE_FIELDS:
            raise ProfileError(key, N_("is not a profile field"))
        cleaned[key] = _clean_field(key, raw)
    return cleaned


def profile_problems(values: dict) -> list[ProfileError]:
    """What ``clean_profile`` would refuse in ``values``, every field's problem (a form shows
    them together; ``clean_profile`` stops at the first)."""
    found = []
    for key, raw in values.items():
        try:
            clean_profile({key: raw})
        except ProfileError as problem:
            found.append(problem)
    return found


def _clean_field(key: str, raw):
    if raw is None:
        return None if key in ("birthday", "registered_at") else ""
    if key == "email":
        return normalize_or_error("email", raw, normalize_email, InvalidEmail) if raw else ""
    if key == "phone":
        return normalize_or_error("phone", raw, normalize_phone, InvalidPhone) if raw else ""
    if key == "gender":
        value = str(raw).strip().lower()
        if value not in _GENDERS:
            raise ProfileError(
                "gender",
                ONE_OF,
                value=repr(raw),
                choices="female, male, other, unknown",
            )
        return _GENDERS[value].value
    if key == "birthday":
        return _birthday(_date("birthday", raw))
    if key == "registered_at":
        return _datetime("registered_at", raw)
    if not isinstance(raw, str | int | float):
        raise ProfileError(key, N_("must be text"))
    text = str(raw).strip()
    limits = {"name": 200, "country": 60, "province": 60, "city": 60, "registration_channel": 40}
    if len(text) > limits[key]:
        raise ProfileError(key, TOO_LONG, limit=limits[key])
    if key == "country" and len(text) == 2:
        text = text.upper()
    return text


def normalize_or_error(name, raw, fn, exc_type):
    try:
        return fn(str(raw))
    except exc_type as exc:
        raise ProfileError.of(name, exc) from exc


def _date(name: str, raw) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        text = str(raw).strip()
        return dt.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ProfileError(name, NOT_A_DATE, value=repr(raw)) from exc


def _birthday(day: dt.date) -> dt.date:
    """A birthday from 1900 to today (a day's slack: it is already tomorrow east of the
    shop's time zone)."""
    if day < clock.FIRST_DAY:
        raise ProfileError("birthday", N_("must not be before %(first)s"), first=clock.FIRST_DAY)
    if day > clock.now().date() + dt.timedelta(days=1):
        raise ProfileError("birthday", N_("must not be in the future"))
    return day


def _datetime(name: str, raw) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        try:
            value = dt.datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ProfileError(
                name, N_("%(value)s is not a date and time (ISO 8601)"), value=repr(raw)
            ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    # Year 1 or 9999 with an offset is outside Python's calendar once stored in UTC.
    if not clock.in_calendar(value.date()):
        raise ProfileError(name, OUT_OF_CALENDAR, first=clock.FIRST_DAY, last=clock.LAST_DAY)
    return value


def fill_blanks(target: dict, source: dict) -> dict:
    """On merge the surviving profile keeps its values and takes the other's where blank."""
    updates = {}
    for key in PROFILE_FIELDS:
        if target.get(key) in (None, "") and source.get(key) not in (None, ""):
            updates[key] = source[key]
    return updates
