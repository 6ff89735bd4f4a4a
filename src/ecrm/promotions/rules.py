"""Pure decisions of promotions: campaign and referral-programme definitions, discounts,
why a coupon does not apply, self-referral. No ORM, no request.

A campaign definition (schema version 1)::

    {"version": 1,
     "discount": {"kind": "percent" | "fixed" | "free_shipping",
                  "value": "10", "max_discount": "50"},
     "min_spend": "199", "currency": "CNY",
     "codes": "shared" | "unique",
     "uses_per_code": 1,            # unique codes: how often each code may be used
     "limit_total": 1000,           # all uses of the campaign; null: no limit
     "limit_per_customer": 1,       # uses by one customer; null: no limit
     "budget": "50000",             # discount money the campaign may give; null: no limit
     "starts_at": "2026-11-01T00:00:00+08:00", "ends_at": "2026-11-12T00:00:00+08:00",
     "valid_days": 30,              # an issued coupon expires this many days after issue
     "target": {"segments": [3], "tiers": ["gold"], "new_customers_only": false}}

Errors raise ``DefinitionError`` naming the JSON path (``discount.value``).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext_noop as N_

from ecrm.core import clock
from ecrm.core.currency import NOT_A_CURRENCY, iso_code
from ecrm.core.messages import MUST_BE_ONE_OF, OUT_OF_CALENDAR, REQUIRED, Problem

SCHEMA_VERSION = 1
DISCOUNT_KINDS = ("percent", "fixed", "free_shipping")
CODE_KINDS = ("shared", "unique")
CENT = Decimal("0.01")
MAX_MONEY = Decimal("100000000")
# A campaign's limits and a reward's stock: far beyond any shop, within every integer column.
MAX_COUNT = 100_000_000
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")
# Generated codes: no 0/O or 1/I/L, so a code read aloud or typed from paper works.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class DefinitionError(Problem):
    """A definition was refused; ``field`` is the JSON path of the bad part."""


# Reasons given at several places.
FROM_TO = N_("must be from %(min)s to %(max)s")


# --- campaign definitions ---------------------------------------------------------


@dataclass(frozen=True)
class Discount:
    kind: str
    value: Decimal
    max_discount: Decimal | None


@dataclass(frozen=True)
class Target:
    segments: tuple[int, ...] = ()
    tiers: tuple[str, ...] = ()
    new_customers_only: bool = False

    @property
    def anyone(self) -> bool:
        return not (self.segments or self.tiers or self.new_customers_only)


@dataclass(frozen=True)
class Campaign:
    discount: Discount
    min_spend: Decimal
    currency: str
    codes: str
    uses_per_code: int | None
    limit_total: int | None
    limit_per_customer: int | None
    budget: Decimal | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    valid_days: int | None
    target: Target

    def as_json(self) -> dict:
        def money(v):
            return None if v is None else str(v)

        def stamp(v):
            return None if v is None else v.isoformat()

        return {
            "version": SCHEMA_VERSION,
            "discount": {
                "kind": self.discount.kind,
                "value": str(self.discount.value),
                "max_discount": money(self.discount.max_discount),
            },
            "min_spend": str(self.min_spend),
            "currency": self.currency,
            "codes": self.codes,
            "uses_per_code": self.uses_per_code,
            "limit_total": self.limit_total,
            "limit_per_customer": self.limit_per_customer,
            "budget": money(self.budget),
            "starts_at": stamp(self.starts_at),
            "ends_at": stamp(self.ends_at),
            "valid_days": self.valid_days,
            "target": {
                "segments": list(self.target.segments),
                "tiers": list(self.target.tiers),
                "new_customers_only": self.target.new_customers_only,
            },
        }


CAMPAIGN_KEYS = {
    "version",
    "discount",
    "min_spend",
    "currency",
    "codes",
    "uses_per_code",
    "limit_total",
    "limit_per_customer",
    "budget",
    "starts_at",
    "ends_at",
    "valid_days",
    "target",
}


def _object(raw, path: str, allowed: set[str]) -> dict:
    if not isinstance(raw, dict):
        raise DefinitionError(path or "definition", N_("must be an object"))
    unknown = sorted(set(raw) - allowed)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise DefinitionError(where, N_("is not a known key"))
    return raw


def money_value(raw, path: str, *, required: bool = False, positive: bool = False):
    """A money amount from a string or number: two decimals at most, not negative."""
    if raw is None or raw == "":
        if required:
            raise DefinitionError(path, REQUIRED)
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise DefinitionError(path, N_("must be an amount such as 99.00"))
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise DefinitionError(path, N_("%(value)s is not an amount"), value=repr(raw)) from None
    if not value.is_finite() or value < 0 or value >= MAX_MONEY:
        raise DefinitionError(path, N_("must be an amount from 0 to 99,999,999.99"))
    if value != value.quantize(CENT):
        raise DefinitionError(path, N_("has more than two decimals"))
    if positive and value == 0:
        raise DefinitionError(path, N_("must be more than 0"))
    return value.quantize(CENT)


def _count(raw, path: str, *, minimum: int = 1, maximum: int = MAX_COUNT):
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise DefinitionError(path, N_("must be a whole number"))
    if raw < minimum or raw > maximum:
        raise DefinitionError(path, FROM_TO, min=minimum, max=f"{maximum:,}")
    return raw


def _time(raw, path: str):
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise DefinitionError(
                path, N_("%(value)s is not an ISO 8601 time"), value=repr(raw)
            ) from None
    else:
        raise DefinitionError(path, N_("must be an ISO 8601 time"))
    if value.tzinfo is None:
        raise DefinitionError(path, N_("needs a time zone offset, such as +08:00"))
    # Year 1 at +08:00 is in year 0 in UTC: it failed where it was stored (OverflowError).
    if not clock.in_calendar(value.date()):
        raise DefinitionError(path, OUT_OF_CALENDAR, first=clock.FIRST_DAY, last=clock.LAST_DAY)
    return value


def validate_campaign(raw) -> Campaign:
    """The definition as a ``Campaign``, or ``DefinitionError`` naming the first bad path."""
    raw = _object(raw, "", CAMPAIGN_KEYS)
    version = raw.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise DefinitionError("version", N_("must be %(version)s"), version=SCHEMA_VERSION)
    d = _object(raw.get("discount"), "discount", {"kind", "value", "max_discount"})
    kind = d.get("kind")
    if kind not in DISCOUNT_KINDS:
        raise DefinitionError("discount.kind", MUST_BE_ONE_OF, choices=", ".join(DISCOUNT_KINDS))
    if kind == "free_shipping":
        value = money_value(d.get("value"), "discount.value") or Decimal("0.00")
    else:
        value = money_value(d.get("value"), "discount.value", required=True, positive=True)
    if kind == "percent" and value > 100:
        raise DefinitionError("discount.value", N_("a percentage must be at most 100"))
    max_discount = money_value(d.get("max_discount"), "discount.max_discount", positive=True)
    if kind == "fixed" and max_discount is not None:
        raise DefinitionError(
            "discount.max_discount", N_("only applies to percent and free shipping")
        )
    currency = raw.get("currency")
    if iso_code(currency) != currency:  # stored as its code exactly: "CNY", not "rmb"
        raise DefinitionError("currency", NOT_A_CURRENCY, value=repr(currency))
    codes = raw.get("codes", "shared")
    if codes not in CODE_KINDS:
        raise DefinitionError("codes", MUST_BE_ONE_OF, choices=", ".join(CODE_KINDS))
    uses_per_code = _count(raw.get("uses_per_code"), "uses_per_code")
    if codes == "unique" and uses_per_code is None:
        uses_per_code = 1
    if codes == "shared" and uses_per_code is not None:
        raise DefinitionError("uses_per_code", N_("only applies to unique codes"))
    starts_at = _time(raw.get("starts_at"), "starts_at")
    ends_at = _time(raw.get("ends_at"), "ends_at")
    if starts_at and ends_at and ends_at <= starts_at:
        raise DefinitionError("ends_at", N_("must be after starts_at"))
    min_spend = money_value(raw.get("min_spend"), "min_spend") or Decimal("0.00")
    if kind == "fixed" and min_spend and value > min_spend:
        raise DefinitionError(
            "discount.value", N_("a fixed discount cannot be more than the minimum spend")
        )
    return Campaign(
        discount=Discount(kind, value, max_discount),
        min_spend=min_spend,
        currency=currency,
        codes=codes,
        uses_per_code=uses_per_code,
        limit_total=_count(raw.get("limit_total"), "limit_total"),
        limit_per_customer=_count(raw.get("limit_per_customer"), "limit_per_customer"),
        budget=money_value(raw.get("budget"), "budget", positive=True),
        starts_at=starts_at,
        ends_at=ends_at,
        valid_days=_count(raw.get("valid_days"), "valid_days", maximum=3650),
        target=_target(raw.get("target")),
    )


def _target(raw) -> Target:
    if raw is None:
        return Target()
    raw = _object(raw, "target", {"segments", "tiers", "new_customers_only"})
    segments = raw.get("segments") or []
    if not isinstance(segments, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in segments
    ):
        raise DefinitionError("target.segments", N_("must be a list of segment ids"))
    tiers = raw.get("tiers") or []
    if not isinstance(tiers, list) or not all(isinstance(t, str) and t.strip() for t in tiers):
        raise DefinitionError("target.tiers", N_("must be a list of tier codes"))
    new_only = raw.get("new_customers_only", False)
    if not isinstance(new_only, bool):
        raise DefinitionError("target.new_customers_only", N_("must be true or false"))
    return Target(
        tuple(dict.fromkeys(segments)), tuple(dict.fromkeys(t.strip() for t in tiers)), new_only
    )


def clean_code(raw) -> str:
    """A coupon code as stored: upper case, 3–40 of A–Z, 0–9, ``-`` and ``_``."""
    code = str(raw or "").strip().upper()
    if not CODE_RE.match(code):
        raise DefinitionError("code", N_("must be 3–40 letters, digits, - or _"))
    return code


def generate_code(prefix: str = "", length: int = 10) -> str:
    return random_codes(1, prefix, length)[0]


# The random bytes that map evenly onto the alphabet (the rest are drawn again).
_EVEN_BYTES = 256 // len(CODE_ALPHABET) * len(CODE_ALPHABET)


def random_codes(count: int, prefix: str = "", length: int = 10) -> list[str]:
    """``count`` codes of ``length`` random alphabet characters after ``prefix`` (from the
    system's secure source, as ``secrets`` draws; they may repeat). One draw of bytes for
    all of them: a character at a time, 100,000 codes took 3 s."""
    chars: list[str] = []
    while len(chars) < count * length:
        need = count * length - len(chars)
        raw = secrets.token_bytes(need + need // 16 + 16)
        chars += [CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in raw if b < _EVEN_BYTES]
    body = "".join(chars)
    return [prefix + body[i * length : (i + 1) * length] for i in range(count)]


# --- checkout: what a coupon gives, or why not ------------------------------------


@dataclass(frozen=True)
class Cart:
    customer_id: int
    currency: str
    subtotal: Decimal  # goods, before discounts
    shipping: Decimal = Decimal(0)


@dataclass(frozen=True)
class Usage:
    """What checkout knows when deciding: counters as last read, and the customer's facts."""

    campaign_status: str
    campaign_uses: int
    campaign_spent: Decimal
    code_uses: int
    code_max_uses: int | None
    code_customer_id: int | None
    code_expires_at: dt.datetime | None
    code_void: bool
    customer_uses: int
    in_segments: bool = True
    tier_ok: bool = True
    is_new_customer: bool = True


# Why a coupon does not apply: reason code -> sentence (English; translated for display).
REASONS = {
    "unknown_code": "no coupon has this code",
    "inactive": "the campaign of this coupon is paused or ended",
    "void": "this coupon was cancelled",
    "not_started": "this coupon is not valid yet",
    "expired": "this coupon has expired",
    "not_for_customer": "this coupon belongs to another customer",
    "not_targeted": "this coupon is not offered to this customer",
    "new_customers_only": "this coupon is for a first order only",
    "currency": "this coupon is for another currency",
    "min_spend": "the cart is below the coupon's minimum spend",
    "code_used_up": "this coupon code has been used as often as it may be",
    "limit_total": "the campaign's coupons have all been used",
    "limit_per_customer": "this customer has used this coupon as often as allowed",
    "budget": "the campaign's discount budget is spent",
    "nothing_to_discount": "the coupon gives no discount on this cart",
}


@dataclass(frozen=True)
class Decision:
    discount: Decimal  # 0 when refused
    reason: str = ""  # a key of REASONS when refused

    @property
    def ok(self) -> bool:
        return not self.reason

    @property
    def message(self) -> str:
        return REASONS.get(self.reason, "")


def discount_for(campaign: Campaign, cart: Cart) -> Decimal:
    """The discount this campaign's terms give on the cart, rounded to the cent."""
    d = campaign.discount
    if d.kind == "percent":
        amount = (cart.subtotal * d.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    elif d.kind == "fixed":
        amount = min(d.value, cart.subtotal)
    else:
        amount = cart.shipping
    if d.max_discount is not None:
        amount = min(amount, d.max_discount)
    return max(amount, Decimal(0)).quantize(CENT)


def decide(campaign: Campaign, usage: Usage, cart: Cart, now: dt.datetime) -> Decision:
    """Whether the coupon applies to the cart and with what discount; every check on its
    own line, in the order a customer would want to hear them."""
    if usage.campaign_status != "active":
        return Decision(Decimal(0), "inactive")
    if usage.code_void:
        return Decision(Decimal(0), "void")
    if campaign.starts_at is not None and now < campaign.starts_at:
        return Decision(Decimal(0), "not_started")
    if campaign.ends_at is not None and now >= campaign.ends_at:
        return Decision(Decimal(0), "expired")
    if usage.code_expires_at is not None and now >= usage.code_expires_at:
        return Decision(Decimal(0), "expired")
    if usage.code_customer_id is not None and usage.code_customer_id != cart.customer_id:
        return Decision(Decimal(0), "not_for_customer")
    if not usage.in_segments or not usage.tier_ok:
        return Decision(Decimal(0), "not_targeted")
    if campaign.target.new_customers_only and not usage.is_new_customer:
        return Decision(Decimal(0), "new_customers_only")
    if cart.currency != campaign.currency:
        return Decision(Decimal(0), "currency")
    if cart.subtotal < campaign.min_spend:
        return Decision(Decimal(0), "min_spend")
    if usage.code_max_uses is not None and usage.code_uses >= usage.code_max_uses:
        return Decision(Decimal(0), "code_used_up")
    if campaign.limit_total is not None and usage.campaign_uses >= campaign.limit_total:
        return Decision(Decimal(0), "limit_total")
    limit = campaign.limit_per_customer
    if limit is not None and usage.customer_uses >= limit:
        return Decision(Decimal(0), "limit_per_customer")
    amount = discount_for(campaign, cart)
    if amount <= 0:
        return Decision(Decimal(0), "nothing_to_discount")
    if campaign.budget is not None and usage.campaign_spent + amount > campaign.budget:
        return Decision(Decimal(0), "budget")
    return Decision(amount)


def availability(campaign: Campaign, usage: Usage, customer_id: int, now: dt.datetime) -> str:
    """Whether a coupon can be used now by this customer, before any cart is known: the
    reason it cannot, or "" (minimum spend and the discount itself wait for the cart)."""
    cart = Cart(customer_id, campaign.currency, max(campaign.min_spend, CENT), Decimal(0))
    reason = decide(campaign, usage, cart, now).reason
    if reason == "budget" or reason == "nothing_to_discount":
        spent_out = campaign.budget is not None and usage.campaign_spent >= campaign.budget
        return "budget" if spent_out else ""
    return reason


def describe(campaign: Campaign) -> str:
    """The discount in a few words, for lists: "10% off (up to 30.00)", "20.00 off"."""
    d = campaign.discount
    if d.kind == "percent":
        text = f"{d.value.normalize():f}% off"
    elif d.kind == "fixed":
        text = f"{d.value} off"
    else:
        text = "free shipping"
    if d.max_discount is not None:
        text += f" (up to {d.max_discount})"
    if campaign.min_spend:
        text += f", spend {campaign.min_spend}+"
    return text


def expiry_for(campaign: Campaign, issued_at: dt.datetime) -> dt.datetime | None:
    """When a coupon issued now stops working: ``valid_days`` after issue, never after the
    campaign ends."""
    ends = campaign.ends_at
    if campaign.valid_days is None:
        return None
    mine = issued_at + dt.timedelta(days=campaign.valid_days)
    return min(mine, ends) if ends is not None else mine


# --- referrals ---------------------------------------------------------------------

PROGRAMME_KEYS = {
    "version",
    "referrer_points",
    "referee_points",
    "min_order_total",
    "qualifying_statuses",
    "landing_url",
    "cookie_days",
}
ORDER_STATUSES = ("placed", "paid", "shipped", "delivered")
DEFAULT_PROGRAMME = {
    "version": SCHEMA_VERSION,
    "referrer_points": 500,
    "referee_points": 200,
    "min_order_total": "0",
    "qualifying_statuses": ["paid", "shipped", "delivered"],
    "landing_url": "/",
    "cookie_days": 30,
}


@dataclass(frozen=True)
class Programme:
    referrer_points: int
    referee_points: int
    min_order_total: Decimal
    qualifying_statuses: tuple[str, ...]
    landing_url: str
    cookie_days: int

    def as_json(self) -> dict:
        return {
            "version": SCHEMA_VERSION,
            "referrer_points": self.referrer_points,
            "referee_points": self.referee_points,
            "min_order_total": str(self.min_order_total),
            "qualifying_statuses": list(self.qualifying_statuses),
            "landing_url": self.landing_url,
            "cookie_days": self.cookie_days,
        }


def validate_programme(raw) -> Programme:
    raw = _object(raw, "", PROGRAMME_KEYS)
    if raw.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise DefinitionError("version", N_("must be %(version)s"), version=SCHEMA_VERSION)
    points = {}
    for key in ("referrer_points", "referee_points"):
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
            raise DefinitionError(key, N_("must be a whole number of points from 0 to 1,000,000"))
        points[key] = value
    statuses = raw.get("qualifying_statuses", ["paid", "shipped", "delivered"])
    if (
        not isinstance(statuses, list)
        or not statuses
        or not all(s in ORDER_STATUSES for s in statuses)
    ):
        raise DefinitionError(
            "qualifying_statuses",
            N_("must be a non-empty list of %(choices)s"),
            choices=", ".join(ORDER_STATUSES),
        )
    url = raw.get("landing_url", "/")
    if not isinstance(url, str) or not re.match(r"^(https?://[^\s]+|/[^\s]*)$", url):
        raise DefinitionError("landing_url", N_("must be an http(s) address or a path such as /"))
    days = _count(raw.get("cookie_days", 30), "cookie_days", maximum=365) or 30
    return Programme(
        referrer_points=points["referrer_points"],
        referee_points=points["referee_points"],
        min_order_total=money_value(raw.get("min_order_total"), "min_order_total")
        or Decimal("0.00"),
        qualifying_statuses=tuple(dict.fromkeys(statuses)),
        landing_url=url,
        cookie_days=days,
    )


def landing_address(url: str, code: str) -> str:
    """The shop's landing page with ``ref=<code>`` added to its query string."""
    base, _, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}ref={code}" + (f"#{fragment}" if fragment else "")


@dataclass(frozen=True)
class Person:
    """What the self-referral guard compares: contact points and devices."""

    customer_id: int
    phone: str = ""
    email: str = ""
    anonymous_ids: frozenset[str] = frozenset()
    device_ids: frozenset[str] = frozenset()


REFERRAL_REASONS = {
    "self": "a customer cannot refer themselves",
    "same_phone": "the new customer has the referrer's mobile number",
    "same_email": "the new customer has the referrer's e-mail address",
    "same_device": "the new customer signed up on the referrer's device",
    "device_reused": "another customer referred by the same person used this device",
    "not_new": "the customer had ordered before being referred",
}


def self_referral(referrer: Person, referee: Person, devices_of_other_referees=frozenset()):
    """The reason this referral is not genuine, or "" when it is."""
    if referrer.customer_id == referee.customer_id:
        return "self"
    if referee.phone and referee.phone == referrer.phone:
        return "same_phone"
    if referee.email and referee.email.lower() == referrer.email.lower():
        return "same_email"
    if referee.anonymous_ids & referrer.anonymous_ids:
        return "same_device"
    if referee.device_ids & referrer.device_ids:
        return "same_device"
    if referee.device_ids & frozenset(devices_of_other_referees):
        return "device_reused"
    return ""
