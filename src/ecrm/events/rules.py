"""Segment tracking messages in, validated frozen ``Message`` values out: no ORM, no request.

A request body is checked whole before anything is written: the first bad value
raises ``InvalidMessage`` naming it the way the body spells it (``batch[3].timestamp``,
``traits.email``), and the request is refused with nothing stored.

Timestamps follow Segment: a message's ``timestamp`` (or ``originalTimestamp``) is
corrected for the sender's clock skew when ``sentAt`` is known,
``timestamp = receivedAt - (sentAt - timestamp)``; a corrected time more than 24 hours
after receipt is refused. A message without a time happened when it was received.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from ecrm.core.text import SUSPECT_JSON, load_json, unstorable
from ecrm.customers.api import IdentityKind, ProfileError, clean_profile, make_claim
from ecrm.events import ecommerce
from ecrm.events.ecommerce import Commerce, CommerceError

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_FUTURE = dt.timedelta(hours=24)
ID_LIMIT = 100
NAME_LIMIT = 200

# Well-known SDKs, for events whose context names no channel.
LIBRARY_CHANNELS = {
    "analytics.js": "web",
    "analytics-next": "web",
    "RudderLabs JavaScript SDK": "web",
    "analytics-python": "server",
    "analytics-node": "server",
    "analytics-ruby": "server",
    "analytics-go": "server",
    "analytics-java": "server",
    "analytics-php": "server",
    "analytics-ios": "mobile",
    "analytics-android": "mobile",
    "analytics-swift": "mobile",
    "analytics-kotlin": "mobile",
    "analytics-react-native": "mobile",
    "analytics-flutter": "mobile",
}

# Traits that are profile fields, by the names Segment's spec and shops use.
PROFILE_TRAITS = {
    "name": "name",
    "email": "email",
    "phone": "phone",
    "mobile": "phone",
    "gender": "gender",
    "birthday": "birthday",
    "createdAt": "registered_at",
    "created_at": "registered_at",
    "registrationChannel": "registration_channel",
    "registration_channel": "registration_channel",
}
NAME_PARTS = ("firstName", "first_name", "lastName", "last_name")
WECHAT_TRAITS = ("wechatOpenId", "wechat_open_id", "wechatOpenid")
ADDRESS_FIELDS = {"country": "country", "state": "province", "province": "province", "city": "city"}
COUNTRY_NAMES = {
    "china": "CN", "中国": "CN", "中华人民共和国": "CN", "prc": "CN",
    "hong kong": "HK", "香港": "HK", "macau": "MO", "macao": "MO", "澳门": "MO",
    "taiwan": "TW", "台湾": "TW", "singapore": "SG", "新加坡": "SG",
    "japan": "JP", "日本": "JP", "korea": "KR", "south korea": "KR", "韩国": "KR",
    "united states": "US", "usa": "US", "美国": "US",
    "united kingdom": "GB", "uk": "GB", "英国": "GB",
}  # fmt: skip


class InvalidMessage(ValueError):
    """Bad input; ``field`` names it as the request body spells it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Message:
    """One accepted message, normalised. ``properties`` holds traits for identify."""

    type: str
    message_id: str
    anonymous_id: str
    user_id: str
    timestamp: dt.datetime
    received_at: dt.datetime
    sent_at: dt.datetime | None = None
    name: str = ""
    properties: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    channel: str = ""
    page_url: str = ""
    referrer: str = ""
    user_agent: str = ""
    claims: tuple = ()
    profile: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)
    previous_id: str = ""
    group_id: str = ""
    commerce: Commerce | None = None
    generated_id: bool = False

    @property
    def visitor(self) -> tuple[str, str]:
        return (self.anonymous_id, self.user_id)


# --- bodies --------------------------------------------------------------------------


def decode_body(raw: bytes) -> dict:
    """The JSON object of a request body; NaN, NUL characters and lone surrogates refused."""
    if not raw.strip():
        raise InvalidMessage("body", "is empty")
    try:
        data = load_json(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidMessage("body", f"is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InvalidMessage("body", "must be a JSON object")
    if SUSPECT_JSON.search(raw):
        found = unstorable(data)
        if found:
            raise InvalidMessage(found[0] or "body", found[1])
    return data


def batch_messages(body: dict, *, received_at: dt.datetime, currency: str) -> list[Message]:
    """The messages of a ``/v1/batch`` body, each validated; the first error raises."""
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise InvalidMessage("batch", "must be a list of messages")
    sent_at = _time(body.get("sentAt"), "sentAt")
    context = _object(body.get("context"), "context")
    out = []
    for i, raw in enumerate(batch):
        prefix = f"batch[{i}]."
        if not isinstance(raw, dict):
            raise InvalidMessage(f"batch[{i}]", "must be an object")
        kind = raw.get("type")
        if kind not in MESSAGE_TYPES:
            raise InvalidMessage(
                prefix + "type", f"{kind!r} is not one of {', '.join(MESSAGE_TYPES)}"
            )
        out.append(
            parse_message(
                raw,
                kind,
                received_at=received_at,
                currency=currency,
                prefix=prefix,
                batch_sent_at=sent_at,
                batch_context=context,
            )
        )
    return out


def parse_message(
    raw: dict,
    kind: str,
    *,
    received_at: dt.datetime,
    currency: str,
    prefix: str = "",
    batch_sent_at: dt.datetime | None = None,
    batch_context: dict | None = None,
) -> Message:
    """Validate one message of type ``kind``; raises ``InvalidMessage`` naming the field."""
    if kind not in MESSAGE_TYPES:
        raise InvalidMessage(prefix + "type", f"{kind!r} is not one of {', '.join(MESSAGE_TYPES)}")
    anonymous_id = _id(raw.get("anonymousId"), prefix + "anonymousId")
    user_id = _id(raw.get("userId"), prefix + "userId")
    if not anonymous_id and not user_id:
        raise InvalidMessage(prefix + "userId", "a message needs a userId or an anonymousId")
    given_id = _id(raw.get("messageId"), prefix + "messageId")
    message_id = given_id or f"ecrm-{uuid.uuid4().hex}"
    context = _object(raw.get("context"), prefix + "context")
    if batch_context:
        context = {**batch_context, **context}
    sent_at = _time(raw.get("sentAt"), prefix + "sentAt") or batch_sent_at
    timestamp = _timestamp(raw, prefix, sent_at=sent_at, received_at=received_at)
    values = dict(
        type=kind,
        message_id=message_id,
        generated_id=not given_id,
        anonymous_id=anonymous_id,
        user_id=user_id,
        timestamp=timestamp,
        received_at=received_at,
        sent_at=sent_at,
        context=context,
        channel=channel_of(context),
        user_agent=_str(context.get("userAgent"))[:500],
    )
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    values["page_url"] = _str(page.get("url"))
    values["referrer"] = _str(page.get("referrer"))
    visitor = list(_visitor_claims(anonymous_id, user_id))
    if kind == "identify":
        traits = _object(raw.get("traits"), prefix + "traits")
        traits_at = prefix + "traits."
        if not traits:  # RudderStack's SDKs send an identify's traits as context.traits
            traits = _object(context.get("traits"), prefix + "context.traits")
            traits_at = prefix + "context.traits."
        claims, profile, attributes = traits_to_profile(
            traits, verified=bool(user_id), prefix=traits_at
        )
        external = external_claims(context, prefix + "context.")
        values.update(
            properties=traits,
            claims=tuple(visitor + claims + external),
            profile=profile,
            attributes=attributes,
        )
    elif kind == "track":
        event = _name(raw.get("event"), prefix + "event", required=True)
        properties = _object(raw.get("properties"), prefix + "properties")
        try:
            commerce = ecommerce.parse(event, properties, currency=currency)
        except CommerceError as exc:
            raise InvalidMessage(prefix + "properties." + exc.field, exc.message) from exc
        values.update(name=event, properties=properties, claims=tuple(visitor), commerce=commerce)
    elif kind in ("page", "screen"):
        properties = _object(raw.get("properties"), prefix + "properties")
        name = _name(raw.get("name"), prefix + "name")
        category = _name(raw.get("category"), prefix + "category")
        if category and "category" not in properties:
            properties = {"category": category, **properties}
        values["page_url"] = values["page_url"] or _str(properties.get("url"))
        values["referrer"] = values["referrer"] or _str(properties.get("referrer"))
        values.update(name=name, properties=properties, claims=tuple(visitor))
    elif kind == "group":
        group_id = _id(raw.get("groupId"), prefix + "groupId")
        if not group_id:
            raise InvalidMessage(prefix + "groupId", "a group message needs a groupId")
        traits = _object(raw.get("traits"), prefix + "traits")
        values.update(
            group_id=group_id,
            properties={"groupId": group_id, "traits": traits},
            claims=tuple(visitor),
            attributes={"group": {"id": group_id, **traits}},
        )
    else:  # alias
        previous_id = _id(raw.get("previousId"), prefix + "previousId")
        if not previous_id:
            raise InvalidMessage(prefix + "previousId", "an alias message needs a previousId")
        if not user_id:
            raise InvalidMessage(prefix + "userId", "an alias message needs a userId")
        values.update(
            previous_id=previous_id,
            properties={"previousId": previous_id},
            claims=tuple(visitor),
        )
    values["page_url"] = values["page_url"][:1000]
    values["referrer"] = values["referrer"][:1000]
    return Message(**values)


# --- identity and profile ------------------------------------------------------------


@lru_cache(maxsize=8192)
def _visitor_claims(anonymous_id: str, user_id: str) -> tuple:
    """A visitor's identifiers as claims; cached, as a batch repeats them event after event."""
    claims = []
    if anonymous_id:
        claims.append(make_claim(IdentityKind.ANONYMOUS_ID, anonymous_id))
    if user_id:
        claims.append(make_claim(IdentityKind.USER_ID, user_id))
    return tuple(claims)


def alias_claims(message: Message, previous_is_user: bool) -> list:
    """``previousId`` is the user id it names when that user exists, else an anonymous id."""
    kind = IdentityKind.USER_ID if previous_is_user else IdentityKind.ANONYMOUS_ID
    return [*message.claims, make_claim(kind, message.previous_id)]


def traits_to_profile(traits: dict, *, verified: bool, prefix: str = "traits."):
    """Split identify traits into (claims, profile fields, custom attributes).

    Email and phone are identities as well as profile fields; they count as verified
    only when the message carries a userId (the shop's backend vouches for them).
    """
    claims = []
    profile: dict = {}
    spelled: dict[str, str] = {}
    used: set[str] = set()
    for trait, key in PROFILE_TRAITS.items():
        value = traits.get(trait)
        if value is None or value == "" or key in profile:
            continue
        profile[key] = value
        spelled[key] = trait
        used.add(trait)
    if "name" not in profile:
        first = _part(traits, ("firstName", "first_name"), prefix)
        last = _part(traits, ("lastName", "last_name"), prefix)
        full = join_name(first, last)
        if full:
            profile["name"] = full
            spelled["name"] = "firstName"
    used.update(k for k in NAME_PARTS if k in traits)
    address = traits.get("address")
    rest: dict = {}
    if isinstance(address, dict):
        rest = dict(address)
        for part, key in ADDRESS_FIELDS.items():
            value = address.get(part)
            if key in profile or value is None or value == "":
                continue
            if key == "country":
                code = country_code(value)
                if not code:
                    continue
                value = code
            profile[key] = value
            spelled[key] = f"address.{part}"
            rest.pop(part)
        used.add("address")
    for kind, field_name in (("email", "email"), ("phone", "phone")):
        if field_name in profile:
            try:
                claims.append(make_claim(kind, profile[field_name], verified=verified))
            except ProfileError as exc:
                raise InvalidMessage(prefix + spelled[field_name], exc.message) from exc
    for trait in WECHAT_TRAITS:
        value = traits.get(trait)
        used.add(trait)
        if value is not None and value != "":
            claims.append(_claim(IdentityKind.WECHAT, value, prefix + trait))
    try:
        cleaned = clean_profile(profile)
    except ProfileError as exc:
        raise InvalidMessage(prefix + spelled.get(exc.field, exc.field), exc.message) from exc
    attributes = {k: v for k, v in traits.items() if k not in used}
    if rest:
        attributes["address"] = rest
    return claims, cleaned, attributes


def external_claims(context: dict, prefix: str = "context.") -> list:
    """Segment's ``context.externalIds``: one external identity per entry, namespaced by type."""
    raw = context.get("externalIds")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidMessage(prefix + "externalIds", "must be a list")
    claims = []
    for i, item in enumerate(raw):
        path = f"{prefix}externalIds[{i}]"
        if not isinstance(item, dict):
            raise InvalidMessage(path, "must be an object with id and type")
        kind = item.get("type")
        if not isinstance(kind, str) or not kind.strip():
            raise InvalidMessage(path + ".type", "must be a non-empty string")
        claims.append(_claim(IdentityKind.EXTERNAL, item.get("id"), path + ".id", kind.strip()))
    return claims


def _claim(kind: str, raw, path: str, namespace: str = ""):
    try:
        return make_claim(kind, raw, namespace=namespace)
    except ProfileError as exc:
        raise InvalidMessage(path, exc.message) from exc


def _part(traits: dict, names: tuple[str, ...], prefix: str) -> str:
    for name in names:
        value = traits.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidMessage(prefix + name, "must be a string")
        return value.strip()
    return ""


def join_name(first: str, last: str) -> str:
    """Chinese names run family name first with no space; others "first last"."""
    if not first or not last:
        return first or last
    if _cjk(first) and _cjk(last):
        return last + first
    return f"{first} {last}"


def _cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def country_code(value) -> str:
    """An ISO 3166 alpha-2 code from a code or a common country name; "" if unknown."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    return COUNTRY_NAMES.get(text.lower(), "")


# --- values ---------------------------------------------------------------------------


def channel_of(context: dict) -> str:
    """``context.channel``, else the kind of SDK that sent it (web, server, mobile)."""
    channel = context.get("channel")
    if isinstance(channel, str) and channel.strip():
        return channel.strip()[:20]
    library = context.get("library")
    name = library.get("name") if isinstance(library, dict) else None
    if not isinstance(name, str) or not name.strip():
        return ""
    return LIBRARY_CHANNELS.get(name.strip(), name.strip()[:20])


def parse_time(raw, field_name: str) -> dt.datetime:
    """An ISO 8601 string as an aware datetime (UTC when it names no offset)."""
    if not isinstance(raw, str):
        raise InvalidMessage(field_name, "must be an ISO 8601 date-time string")
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise InvalidMessage(field_name, f"{raw!r} is not an ISO 8601 date-time") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        value.astimezone(dt.UTC)  # stored in UTC: 0001-01-01T00:00+08:00 is in year 0
    except OverflowError as exc:
        raise InvalidMessage(field_name, "is out of range") from exc
    return value


def corrected(timestamp: dt.datetime, sent_at: dt.datetime | None, received_at: dt.datetime):
    """Segment's clock-skew correction: ``receivedAt - (sentAt - timestamp)``."""
    if sent_at is None:
        return timestamp
    return received_at - (sent_at - timestamp)


def _timestamp(raw: dict, prefix: str, *, sent_at, received_at) -> dt.datetime:
    name = "timestamp" if raw.get("timestamp") is not None else "originalTimestamp"
    if raw.get(name) is None:
        return received_at
    value = parse_time(raw[name], prefix + name)
    try:
        value = corrected(value, sent_at, received_at)
    except OverflowError as exc:
        raise InvalidMessage(prefix + name, "is out of range") from exc
    if value - received_at > MAX_FUTURE:
        raise InvalidMessage(prefix + name, "is more than 24 hours in the future")
    return value


def _time(raw, field_name: str) -> dt.datetime | None:
    return None if raw is None else parse_time(raw, field_name)


def _id(raw, field_name: str) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise InvalidMessage(field_name, "must be a string")
    text = str(raw).strip()
    if len(text) > ID_LIMIT:
        raise InvalidMessage(field_name, f"is longer than {ID_LIMIT} characters")
    return text


def _name(raw, field_name: str, required: bool = False) -> str:
    if raw is None or raw == "":
        if required:
            raise InvalidMessage(field_name, "is required")
        return ""
    if not isinstance(raw, str):
        raise InvalidMessage(field_name, "must be a string")
    if required and not raw.strip():
        # A track's event: stored "   ", no segment or loyalty rule could ever name it.
        raise InvalidMessage(field_name, "is blank")
    if len(raw) > NAME_LIMIT:
        raise InvalidMessage(field_name, f"is longer than {NAME_LIMIT} characters")
    return raw


def _object(raw, field_name: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidMessage(field_name, "must be an object")
    return raw


def _str(raw) -> str:
    return raw if isinstance(raw, str) else ""
