"""The points programme as data: settings, tiers and earning rules, their validation, the
evaluation of a rule set for one order or activity, and the points ledger's arithmetic.

Pure: no ORM, no request. ``bulk.py`` evaluates the same validated rules over columns of
many orders at once; a test runs mixed data through both and compares.

Shared semantics (both paths):
- money is compared in ten-thousandths (the database keeps four decimals), so
  ``floor(amount / per) * points`` is exact integer arithmetic;
- multipliers (rules and the tier's) are hundredths: each adds
  ``floor(spend_points * (factor - 1))`` to the spend-based points, in priority order;
- rules are tried by priority (higher first, then id). Among rules that fire, a rule in an
  exclusion ``group`` already used is excluded, and nothing applies after an ``exclusive``
  rule that applied;
- a cap limits the points one rule gives one member in a calendar period (day, ISO week,
  month, year, ever), counted over every award the rule made (clawed-back ones included);
- the Nth order in a period counts the member's orders with an earning status placed in
  that period up to and including this one (ordered by placed time, then id);
- dates are the shop's local dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.utils.translation import gettext_noop as N_

from ecrm.core.currency import NOT_A_CURRENCY, iso_code
from ecrm.core.fields import MONEY_LIMIT
from ecrm.core.messages import AT_LEAST, AT_MOST, NOT_NEGATIVE, Problem

SCHEMA_VERSION = 1
SCALE = 10_000  # money in ten-thousandths

ORDER_COMPLETED = "order_completed"
EVENT_TYPES = (
    ORDER_COMPLETED,
    "review_written",
    "daily_sign_in",
    "survey_answered",
    "activity_joined",
    "referral",
)
ACTIVITY_TYPES = EVENT_TYPES[1:]
# Track event names that count as each activity unless the programme says otherwise.
DEFAULT_EVENT_NAMES = {
    "review_written": ["Product Reviewed", "Review Written"],
    "daily_sign_in": ["Signed In", "Daily Check-in"],
    "survey_answered": ["Survey Answered", "Survey Completed"],
    "activity_joined": ["Activity Joined", "Campaign Joined"],
    "referral": ["Referral Completed"],
}
PERIODS = ("day", "week", "month", "year", "ever")
NTH_PERIODS = ("week", "month", "year", "ever")
AWARD_TYPES = ("per_amount", "fixed", "multiplier")
BASES = ("order", "matching_lines")
JOIN_MODES = ("explicit", "first_order")
EARN_ON = ("paid", "delivered")
TIER_METRICS = ("points", "spend")
# Order statuses that earn, by the programme's ``earn_on``; every other status earns nothing
# and a cancelled, returned or refunded order gives back what it earned.
EARNING_STATUSES = {
    "paid": frozenset({"paid", "shipped", "delivered"}),
    "delivered": frozenset({"delivered"}),
}
REVERSED_STATUSES = frozenset({"cancelled", "returned", "refunded"})


class LoyaltyError(Problem):
    """Refused input; ``field`` names the JSON path or form field, e.g. ``when.amount.min``."""


# Reasons given at several places.
MUST_BE_A_LIST = N_("must be a list")
NOT_A_DATE = N_("must be a date YYYY-MM-DD, not %(value)s")
NOT_A_NUMBER = N_("must be a number, not %(value)s")
PLUS_OR_MINUS = N_("must be from -%(max)s to %(max)s")
NOT_AN_AMOUNT = N_("%(value)s is not an amount")


class InsufficientPoints(Exception):
    """A redemption asked for more points than the member holds."""

    def __init__(self, balance: int, wanted: int):
        super().__init__(f"{wanted} points wanted, {balance} available")
        self.balance = balance
        self.wanted = wanted


class ReferenceReused(LoyaltyError):
    """A redemption's reference was used already for a different one (another member or
    another number of points): replaying it would answer for a redemption not made."""

    def __init__(self, customer_id: int, points: int):
        super().__init__(
            "reference",
            N_("was used already to redeem %(points)s points of customer #%(customer)s"),
            points=points,
            customer=customer_id,
        )


# ---------------------------------------------------------------------------------------
# Small validators


def _only(raw: dict, path: str, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for key in raw:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise LoyaltyError(
                where,
                N_("unknown field (allowed: %(allowed)s)"),
                allowed=", ".join(sorted(allowed)),
            )


def _obj(value, path: str) -> dict:
    if not isinstance(value, dict):
        raise LoyaltyError(path, N_("must be an object"))
    return value


def _int(value, path: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LoyaltyError(path, N_("must be a whole number, not %(value)s"), value=repr(value))
    if lo is not None and value < lo:
        raise LoyaltyError(path, AT_LEAST, min=lo)
    if hi is not None and value > hi:
        raise LoyaltyError(path, AT_MOST, max=hi)
    return value


def _dec(
    value, path: str, lo: Decimal | None = None, places: int = 4, hi: Decimal | None = None
) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise LoyaltyError(path, NOT_A_NUMBER, value=repr(value))
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise LoyaltyError(path, NOT_A_NUMBER, value=repr(value)) from None
    if not number.is_finite():
        raise LoyaltyError(path, N_("must be a finite number"))
    if lo is not None and number < lo:
        raise LoyaltyError(path, AT_LEAST, min=lo)
    if hi is not None and number > hi:
        raise LoyaltyError(path, AT_MOST, max=hi)
    # No amount of a rule goes beyond what a money field stores (nor would quantize below
    # cope with it).
    if abs(number) >= MONEY_LIMIT:
        ceiling = f"{MONEY_LIMIT - 1:f}"
        if lo is not None:
            raise LoyaltyError(path, AT_MOST, max=ceiling)
        raise LoyaltyError(path, PLUS_OR_MINUS, max=ceiling)
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise LoyaltyError(path, N_("at most %(places)s decimal places"), places=places)
    return number


def _bool(value, path: str) -> bool:
    if not isinstance(value, bool):
        raise LoyaltyError(path, N_("must be true or false, not %(value)s"), value=repr(value))
    return value


def _text(value, path: str, max_len: int = 120, blank: bool = False) -> str:
    if not isinstance(value, str):
        raise LoyaltyError(path, N_("must be text, not %(value)s"), value=repr(value))
    value = value.strip()
    if not value and not blank:
        raise LoyaltyError(path, N_("must not be blank"))
    if len(value) > max_len:
        raise LoyaltyError(path, N_("at most %(limit)s characters"), limit=max_len)
    return value


def _texts(value, path: str, max_items: int = 500) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise LoyaltyError(path, N_("must be a non-empty list"))
    if len(value) > max_items:
        raise LoyaltyError(path, N_("at most %(limit)s items"), limit=max_items)
    return tuple(_text(v, f"{path}[{i}]", 200) for i, v in enumerate(value))


def _date(value, path: str) -> dt.date:
    if not isinstance(value, str):
        raise LoyaltyError(path, NOT_A_DATE, value=repr(value))
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LoyaltyError(path, NOT_A_DATE, value=repr(value)) from None


def _choice(value, path: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise LoyaltyError(
            path,
            N_("must be one of %(choices)s, not %(value)s"),
            choices=", ".join(choices),
            value=repr(value),
        )
    return value


# ---------------------------------------------------------------------------------------
# Programme settings

DAY_RE = re.compile(r"^(\d{4}-)?\d{2}-\d{2}$")


@dataclass(frozen=True)
class Festival:
    """A shop festival: days given as ``MM-DD`` (every year) or ``YYYY-MM-DD`` (once), and
    ranges ``A..B`` of either form."""

    code: str
    name: str
    days: tuple[str, ...]

    def covers(self, day: dt.date) -> bool:
        md = f"{day.month:02d}-{day.day:02d}"
        iso = day.isoformat()
        for spec in self.days:
            lo, _sep, hi = spec.partition("..")
            hi = hi or lo
            key = iso if len(lo) == 10 else md
            if lo <= key <= hi:
                return True
        return False


@dataclass(frozen=True)
class Settings:
    join: str = "first_order"
    earn_on: str = "paid"
    point_value: Decimal = Decimal("0.01")
    expiry_days: int = 365
    expiring_soon_days: int = 30
    tier_metric: str = "spend"
    tier_window_days: int = 365
    tier_grace_days: int = 30
    special_label: str = "模范会员"
    max_redeem_percent: int = 50
    min_redeem_points: int = 100
    starts_on: dt.date | None = None  # orders placed before the launch day earn nothing
    festivals: tuple[Festival, ...] = ()
    event_names: dict = field(default_factory=lambda: dict(DEFAULT_EVENT_NAMES))

    @property
    def earning_statuses(self) -> frozenset[str]:
        return EARNING_STATUSES[self.earn_on]

    def launched_by(self, day: dt.date) -> bool:
        """Whether an order of this shop-local day is on or after the launch day."""
        return self.starts_on is None or day >= self.starts_on

    def festival(self, code: str) -> Festival | None:
        return next((f for f in self.festivals if f.code == code), None)

    def activity_for(self, event_name: str) -> str | None:
        for kind, names in self.event_names.items():
            if event_name in names:
                return kind
        return None

    def as_json(self) -> dict:
        return {
            "join": self.join,
            "earn_on": self.earn_on,
            "point_value": str(self.point_value),
            "expiry_days": self.expiry_days,
            "expiring_soon_days": self.expiring_soon_days,
            "tier_metric": self.tier_metric,
            "tier_window_days": self.tier_window_days,
            "tier_grace_days": self.tier_grace_days,
            "special_label": self.special_label,
            "max_redeem_percent": self.max_redeem_percent,
            "min_redeem_points": self.min_redeem_points,
            "starts_on": self.starts_on.isoformat() if self.starts_on else None,
            "festivals": [
                {"code": f.code, "name": f.name, "days": list(f.days)} for f in self.festivals
            ],
            "event_names": {k: list(v) for k, v in self.event_names.items()},
        }


SETTING_KEYS = tuple(Settings().as_json())


def validate_settings(raw) -> Settings:
    raw = _obj(raw, "settings")
    _only(raw, "", SETTING_KEYS)
    d = Settings()
    values: dict = {}
    if "join" in raw:
        values["join"] = _choice(raw["join"], "join", JOIN_MODES)
    if "earn_on" in raw:
        values["earn_on"] = _choice(raw["earn_on"], "earn_on", EARN_ON)
    if "point_value" in raw:
        value = _dec(raw["point_value"], "point_value", Decimal("0.0001"))
        values["point_value"] = value
    for key, lo, hi in (
        ("expiry_days", 0, 3660),
        ("expiring_soon_days", 1, 366),
        ("tier_window_days", 1, 3660),
        ("tier_grace_days", 0, 3660),
        ("max_redeem_percent", 0, 100),
        ("min_redeem_points", 0, 10_000_000),
    ):
        if key in raw:
            values[key] = _int(raw[key], key, lo, hi)
    if raw.get("starts_on") is not None:
        values["starts_on"] = _date(raw["starts_on"], "starts_on")
    if "tier_metric" in raw:
        values["tier_metric"] = _choice(raw["tier_metric"], "tier_metric", TIER_METRICS)
    if "special_label" in raw:
        values["special_label"] = _text(raw["special_label"], "special_label", 40)
    if "festivals" in raw:
        festivals = raw["festivals"]
        if not isinstance(festivals, list):
            raise LoyaltyError("festivals", MUST_BE_A_LIST)
        seen: set[str] = set()
        parsed = []
        for i, item in enumerate(festivals):
            path = f"festivals[{i}]"
            item = _obj(item, path)
            _only(item, path, ("code", "name", "days"))
            code = _text(item.get("code"), f"{path}.code", 40)
            if not re.fullmatch(r"[a-z0-9_]+", code):
                raise LoyaltyError(f"{path}.code", N_("lower-case letters, digits and _ only"))
            if code in seen:
                raise LoyaltyError(
                    f"{path}.code", N_("festival %(code)s is listed twice"), code=repr(code)
                )
            seen.add(code)
            days = _texts(item.get("days"), f"{path}.days", 366)
            for j, spec in enumerate(days):
                _festival_day(spec, f"{path}.days[{j}]")
            parsed.append(Festival(code, _text(item.get("name"), f"{path}.name", 60), days))
        values["festivals"] = tuple(parsed)
    if "event_names" in raw:
        names = _obj(raw["event_names"], "event_names")
        _only(names, "event_names", ACTIVITY_TYPES)
        owner: dict[str, str] = {}
        cleaned = {}
        for kind, listed in names.items():
            cleaned[kind] = list(_texts(listed, f"event_names.{kind}", 50))
            for name in cleaned[kind]:
                if name in owner and owner[name] != kind:
                    raise LoyaltyError(
                        f"event_names.{kind}",
                        N_("%(name)s already counts as %(kind)s"),
                        name=repr(name),
                        kind=owner[name],
                    )
                owner[name] = kind
        values["event_names"] = cleaned
    merged = {**d.__dict__, **values}
    return Settings(**merged)


def _festival_day(spec: str, path: str) -> None:
    parts = spec.split("..")
    if len(parts) > 2 or not all(DAY_RE.match(p) for p in parts):
        raise LoyaltyError(
            path,
            N_("must be MM-DD, YYYY-MM-DD or a range A..B, not %(value)s"),
            value=repr(spec),
        )
    if len(parts) == 2 and len(parts[0]) != len(parts[1]):
        raise LoyaltyError(path, N_("both ends of a range must have the same form"))
    for p in parts:
        try:
            dt.date.fromisoformat(p if len(p) == 10 else f"2000-{p}")
        except ValueError:
            raise LoyaltyError(
                path, N_("%(value)s is not a day of the calendar"), value=repr(p)
            ) from None


# ---------------------------------------------------------------------------------------
# Tiers


@dataclass(frozen=True)
class TierDef:
    code: str
    name: str
    rank: int
    threshold: Decimal
    multiplier: Decimal = Decimal(1)
    discount_percent: Decimal = Decimal(0)
    description: str = ""


# What the tier columns hold (``LoyaltyTier``): a larger value was saved and then broke every
# read of the programme. A tier's multiplier is bounded like a rule's ``award.factor``.
# The points a rule may award at most in its cap (and a staff adjustment at most).
MAX_CAP_POINTS = 100_000_000
MAX_THRESHOLD = Decimal(10) ** 12
MAX_MULTIPLIER = Decimal(100)
# The smallest amount spent that points per amount count (a cent).
MIN_PER = Decimal("0.01")


def validate_tiers(raw_tiers: list[dict]) -> tuple[TierDef, ...]:
    """A ladder: at least one tier (every member holds one), codes unique, the first tier
    from 0, thresholds rising with rank."""
    if not isinstance(raw_tiers, list):
        raise LoyaltyError("tiers", MUST_BE_A_LIST)
    if not raw_tiers:
        raise LoyaltyError("tiers", N_("keep at least one tier: every member holds one"))
    tiers = []
    for i, raw in enumerate(raw_tiers):
        path = f"tiers[{i}]"
        raw = _obj(raw, path)
        _only(raw, path, TierDef.__dataclass_fields__)
        code = _text(raw.get("code"), f"{path}.code", 40)
        if not re.fullmatch(r"[a-z0-9_-]+", code):
            raise LoyaltyError(f"{path}.code", N_("lower-case letters, digits, - and _ only"))
        multiplier = _dec(
            raw.get("multiplier", 1), f"{path}.multiplier", Decimal(1), 2, MAX_MULTIPLIER
        )
        discount = _dec(raw.get("discount_percent", 0), f"{path}.discount_percent", Decimal(0), 2)
        if discount > 100:
            raise LoyaltyError(f"{path}.discount_percent", AT_MOST, max=100)
        tiers.append(
            TierDef(
                code=code,
                name=_text(raw.get("name"), f"{path}.name", 80),
                rank=i,
                threshold=_dec(
                    raw.get("threshold"), f"{path}.threshold", Decimal(0), 2, MAX_THRESHOLD
                ),
                multiplier=multiplier,
                discount_percent=discount,
                description=_text(raw.get("description", ""), f"{path}.description", 300, True),
            )
        )
    codes = [t.code for t in tiers]
    for i, code in enumerate(codes):
        if code in codes[:i]:
            raise LoyaltyError(
                f"tiers[{i}].code", N_("tier %(code)s is listed twice"), code=repr(code)
            )
    if tiers[0].threshold != 0:
        raise LoyaltyError("tiers[0].threshold", N_("the first tier is for every member: 0"))
    for i in range(1, len(tiers)):
        if tiers[i].threshold <= tiers[i - 1].threshold:
            raise LoyaltyError(
                f"tiers[{i}].threshold", N_("must be higher than the tier before it")
            )
    return tuple(tiers)


def qualifying_tier(tiers: Sequence[TierDef], measure: Decimal) -> TierDef | None:
    best = None
    for tier in tiers:
        if measure >= tier.threshold:
            best = tier
    return best


@dataclass(frozen=True)
class TierDecision:
    tier: str  # the code to hold now
    below_since: dt.datetime | None
    changed: bool
    reason: str


def decide_tier(
    tiers: Sequence[TierDef],
    current: str,
    below_since: dt.datetime | None,
    measure: Decimal,
    now: dt.datetime,
    grace_days: int,
) -> TierDecision:
    """Upgrade at once; downgrade (to the tier the measure earns) only once the member has
    been below their tier for ``grace_days``; back above it, the grace clock stops."""
    if not tiers:
        return TierDecision("", None, current != "", "no tiers")
    earned = qualifying_tier(tiers, measure) or tiers[0]
    rank = {t.code: t.rank for t in tiers}
    held = rank.get(current)
    if held is None or earned.rank > held:
        return TierDecision(earned.code, None, earned.code != current, "qualified")
    if earned.rank == held:
        return TierDecision(current, None, False, "kept")
    if below_since is None:
        return TierDecision(current, now, False, "grace started")
    if now - below_since >= dt.timedelta(days=grace_days):
        return TierDecision(earned.code, None, True, "grace ended")
    return TierDecision(current, below_since, False, "in grace")


# ---------------------------------------------------------------------------------------
# Earning rules: the validated record


@dataclass(frozen=True)
class Range:
    lo: Decimal | None = None
    hi: Decimal | None = None

    def holds(self, value: Decimal) -> bool:
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)


@dataclass(frozen=True)
class When:
    amount: Range | None = None
    currencies: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    dates: tuple[dt.date, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    weekdays: tuple[int, ...] = ()
    birthday_month: bool = False
    festivals: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    tenure_years: Range | None = None
    special: bool | None = None
    segments: tuple[int, ...] = ()  # a member of any of these segments
    nth_order: int | None = None
    nth_period: str = "ever"

    @property
    def lines_filtered(self) -> bool:
        return bool(self.products or self.categories or self.brands)


@dataclass(frozen=True)
class Award:
    type: str
    points: int = 0
    per: Decimal = Decimal(1)
    basis: str = "order"
    factor: Decimal = Decimal(1)


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    event: str
    when: When
    award: Award
    priority: int = 0
    group: str = ""
    exclusive: bool = False
    cap_points: int | None = None
    cap_period: str = "month"


ORDER_ONLY = ("amount", "currencies", "products", "categories", "brands", "nth_order")
WHEN_KEYS = (
    *ORDER_ONLY,
    "dates",
    "date_range",
    "weekdays",
    "birthday_month",
    "festivals",
    "tiers",
    "tenure_years",
    "special",
    "segments",
)
RULE_KEYS = ("version", "event", "when", "award", "cap", "priority", "group", "exclusive")


def _range(raw, path: str, places: int = 4) -> Range:
    raw = _obj(raw, path)
    _only(raw, path, ("min", "max"))
    if not raw:
        raise LoyaltyError(path, N_("give min, max or both"))
    lo = _dec(raw["min"], f"{path}.min", Decimal(0), places) if "min" in raw else None
    hi = _dec(raw["max"], f"{path}.max", Decimal(0), places) if "max" in raw else None
    if lo is not None and hi is not None and hi < lo:
        raise LoyaltyError(f"{path}.max", N_("must not be below min"))
    return Range(lo, hi)


def validate_rule(
    definition,
    *,
    rule_id: int = 0,
    name: str = "",
    festivals: Iterable[str] | None = None,
    tiers: Iterable[str] | None = None,
) -> Rule:
    """Check a raw JSON rule and return the frozen rule, or raise LoyaltyError naming the
    field. ``festivals`` and ``tiers``, when given, are the codes the programme knows."""
    raw = _obj(definition, "$")
    _only(raw, "", RULE_KEYS)
    version = raw.get("version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise LoyaltyError(
            "version",
            N_("must be %(version)s, not %(value)s"),
            version=SCHEMA_VERSION,
            value=repr(version),
        )
    event = _choice(raw.get("event"), "event", EVENT_TYPES)
    when_raw = _obj(raw.get("when", {}), "when")
    _only(when_raw, "when", WHEN_KEYS)
    w: dict = {}
    for key in ORDER_ONLY:
        if key in when_raw and event != ORDER_COMPLETED:
            raise LoyaltyError(f"when.{key}", N_("applies to completed orders only"))
    if "amount" in when_raw:
        w["amount"] = _range(when_raw["amount"], "when.amount")
    if "currencies" in when_raw:
        w["currencies"] = tuple(
            currency_code(c, f"when.currencies[{i}]")
            for i, c in enumerate(_texts(when_raw["currencies"], "when.currencies", 20))
        )
    for key in ("products", "categories", "brands"):
        if key in when_raw:
            w[key] = _texts(when_raw[key], f"when.{key}")
    if "dates" in when_raw:
        raw_dates = when_raw["dates"]
        if not isinstance(raw_dates, list) or not raw_dates:
            raise LoyaltyError("when.dates", N_("must be a non-empty list of dates"))
        w["dates"] = tuple(_date(v, f"when.dates[{i}]") for i, v in enumerate(raw_dates))
    if "date_range" in when_raw:
        rng = _obj(when_raw["date_range"], "when.date_range")
        _only(rng, "when.date_range", ("from", "to"))
        if not rng:
            raise LoyaltyError("when.date_range", N_("give from, to or both"))
        if "from" in rng:
            w["date_from"] = _date(rng["from"], "when.date_range.from")
        if "to" in rng:
            w["date_to"] = _date(rng["to"], "when.date_range.to")
        if w.get("date_from") and w.get("date_to") and w["date_to"] < w["date_from"]:
            raise LoyaltyError("when.date_range.to", N_("must not be before from"))
    if "weekdays" in when_raw:
        days = when_raw["weekdays"]
        if not isinstance(days, list) or not days:
            raise LoyaltyError(
                "when.weekdays", N_("must be a non-empty list of 1 (Mon) .. 7 (Sun)")
            )
        w["weekdays"] = tuple(
            sorted({_int(d, f"when.weekdays[{i}]", 1, 7) for i, d in enumerate(days)})
        )
    if "birthday_month" in when_raw:
        w["birthday_month"] = _bool(when_raw["birthday_month"], "when.birthday_month")
    if "festivals" in when_raw:
        w["festivals"] = _texts(when_raw["festivals"], "when.festivals", 50)
        known = set(festivals) if festivals is not None else None
        for i, code in enumerate(w["festivals"]):
            if known is not None and code not in known:
                raise LoyaltyError(
                    f"when.festivals[{i}]",
                    N_("no festival %(code)s in settings"),
                    code=repr(code),
                )
    if "tiers" in when_raw:
        w["tiers"] = _texts(when_raw["tiers"], "when.tiers", 50)
        known = set(tiers) if tiers is not None else None
        for i, code in enumerate(w["tiers"]):
            if known is not None and code not in known:
                raise LoyaltyError(f"when.tiers[{i}]", N_("no tier %(code)s"), code=repr(code))
    if "tenure_years" in when_raw:
        w["tenure_years"] = _range(when_raw["tenure_years"], "when.tenure_years", 0)
    if "special" in when_raw:
        w["special"] = _bool(when_raw["special"], "when.special")
    if "segments" in when_raw:
        ids = when_raw["segments"]
        if not isinstance(ids, list) or not ids:
            raise LoyaltyError("when.segments", N_("must be a non-empty list of segment ids"))
        w["segments"] = tuple(_int(v, f"when.segments[{i}]", 1) for i, v in enumerate(ids))
    if "nth_order" in when_raw:
        nth = _obj(when_raw["nth_order"], "when.nth_order")
        _only(nth, "when.nth_order", ("n", "period"))
        w["nth_order"] = _int(nth.get("n"), "when.nth_order.n", 1, 10_000)
        w["nth_period"] = _choice(nth.get("period", "ever"), "when.nth_order.period", NTH_PERIODS)
    when = When(**w)

    award_raw = _obj(raw.get("award"), "award")
    kind = _choice(award_raw.get("type"), "award.type", AWARD_TYPES)
    if kind == "per_amount":
        if event != ORDER_COMPLETED:
            raise LoyaltyError("award.type", N_("points per amount apply to completed orders only"))
        _only(award_raw, "award", ("type", "points", "per", "basis"))
        basis = _choice(award_raw.get("basis", "order"), "award.basis", BASES)
        if basis == "matching_lines" and not when.lines_filtered:
            raise LoyaltyError(
                "award.basis", N_("matching lines need products, categories or brands in when")
            )
        per = _dec(award_raw.get("per", 1), "award.per", MIN_PER)
        award = Award(kind, _int(award_raw.get("points"), "award.points", 1, 1_000_000), per, basis)
    elif kind == "fixed":
        _only(award_raw, "award", ("type", "points"))
        award = Award(kind, _int(award_raw.get("points"), "award.points", 1, 10_000_000))
    else:
        if event != ORDER_COMPLETED:
            raise LoyaltyError("award.type", N_("multipliers apply to completed orders only"))
        _only(award_raw, "award", ("type", "factor"))
        factor = _dec(award_raw.get("factor"), "award.factor", Decimal("1.01"), 2)
        if factor > 100:
            raise LoyaltyError("award.factor", AT_MOST, max=100)
        award = Award(kind, factor=factor)

    cap_points, cap_period = None, "month"
    if raw.get("cap") is not None:
        cap = _obj(raw["cap"], "cap")
        _only(cap, "cap", ("points", "period"))
        cap_points = _int(cap.get("points"), "cap.points", 1, MAX_CAP_POINTS)
        cap_period = _choice(cap.get("period", "month"), "cap.period", PERIODS)
    group = _text(raw.get("group", ""), "group", 40, blank=True)
    return Rule(
        id=rule_id,
        name=name,
        event=event,
        when=when,
        award=award,
        priority=_int(raw.get("priority", 0), "priority", -1000, 1000),
        group=group,
        exclusive=_bool(raw.get("exclusive", False), "exclusive"),
        cap_points=cap_points,
        cap_period=cap_period,
    )


def could_overlap(a: Rule, b: Rule) -> bool:
    """Whether one order or activity could make both rules fire (a cheap, safe check: only
    disjoint events, currencies, weekdays, tiers, dates or amounts prove they cannot)."""
    if a.event != b.event:
        return False
    wa, wb = a.when, b.when
    for x, y in (
        (wa.currencies, wb.currencies),
        (wa.weekdays, wb.weekdays),
        (wa.tiers, wb.tiers),
        (wa.festivals, wb.festivals),
    ):
        if x and y and not set(x) & set(y):
            if x is wa.festivals:
                continue  # two festivals may share a day
            return False
    if wa.dates and wb.dates and not set(wa.dates) & set(wb.dates):
        return False
    if wa.special is not None and wb.special is not None and wa.special != wb.special:
        return False
    same_period = wa.nth_period == wb.nth_period
    if wa.nth_order and wb.nth_order and same_period and wa.nth_order != wb.nth_order:
        return False
    lo_a, hi_a = _span(wa)
    lo_b, hi_b = _span(wb)
    if (hi_a is not None and lo_b is not None and hi_a < lo_b) or (
        hi_b is not None and lo_a is not None and hi_b < lo_a
    ):
        return False
    ra, rb = wa.amount, wb.amount
    return not (ra and rb and (_below(ra, rb) or _below(rb, ra)))


def _below(a: Range, b: Range) -> bool:
    return a.hi is not None and b.lo is not None and a.hi < b.lo


def _span(w: When) -> tuple[dt.date | None, dt.date | None]:
    lo, hi = w.date_from, w.date_to
    if w.dates:
        lo = max(lo, min(w.dates)) if lo else min(w.dates)
        hi = min(hi, max(w.dates)) if hi else max(w.dates)
    return lo, hi


def check_rule_set(rules: Sequence[Rule], names: dict[int, str] | None = None) -> None:
    """Refuse ambiguous active rules: two that can fire together in one exclusion group, or
    two exclusive ones, with the same priority (which one wins would be arbitrary)."""
    ordered = sorted(rules, key=lambda r: r.id)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if a.priority != b.priority or not could_overlap(a, b):
                continue
            same_group = a.group and a.group == b.group
            if same_group or (a.exclusive and b.exclusive):
                other = (names or {}).get(a.id, a.name) or f"#{a.id}"
                if same_group:
                    raise LoyaltyError(
                        "priority",
                        N_(
                            "overlaps rule %(other)s (exclusion group %(group)s) with the same "
                            "priority %(priority)s; give one of them a higher priority"
                        ),
                        other=repr(other),
                        group=repr(a.group),
                        priority=a.priority,
                    )
                raise LoyaltyError(
                    "priority",
                    N_(
                        "overlaps rule %(other)s (both exclusive) with the same priority "
                        "%(priority)s; give one of them a higher priority"
                    ),
                    other=repr(other),
                    priority=a.priority,
                )


# ---------------------------------------------------------------------------------------
# Facts and evaluation


@dataclass(frozen=True)
class LineFact:
    sku: str
    categories: frozenset[str]  # the line's category code and every ancestor's
    brand: str
    amount: int  # ten-thousandths


@dataclass(frozen=True)
class MemberFact:
    customer_id: int
    tier: str = ""
    joined: dt.date | None = None
    special: bool = False
    birthday_month: int | None = None
    tier_multiplier: Decimal = Decimal(1)
    tier_name: str = ""
    segments: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Occasion:
    """One order or activity to award: ``ref`` is its idempotency key."""

    event: str
    ref: str
    day: dt.date  # shop-local date
    label: str = ""
    amount: int = 0  # ten-thousandths
    currency: str = ""
    lines: tuple[LineFact, ...] = ()
    nth: dict = field(default_factory=dict)  # period -> position of this order in it


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    fired: bool
    applied: bool
    points: int
    reason: str


@dataclass(frozen=True)
class Evaluation:
    points: int
    outcomes: tuple[RuleOutcome, ...]
    tier_bonus: int = 0
    tier_reason: str = ""

    @property
    def awarded(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.applied and o.points]

    def detail(self) -> dict:
        rules = [{"rule": o.rule.id, "name": o.rule.name, "points": o.points} for o in self.awarded]
        out: dict = {"rules": rules}
        if self.tier_bonus:
            out["tier_bonus"] = self.tier_bonus
        return out


def period_key(period: str, day: dt.date) -> str:
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _d = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "year":
        return str(day.year)
    return "ever"


def tenure_years(joined: dt.date | None, day: dt.date) -> int:
    if joined is None or day < joined:
        return 0
    return day.year - joined.year - ((day.month, day.day) < (joined.month, joined.day))


def money_units(value: Decimal) -> int:
    """Ten-thousandths of a money value, the unit both evaluators compare in."""
    return int((value * SCALE).to_integral_value())


def order_amount(value, path: str) -> Decimal:
    """The amount of an order or order line to simulate: a finite number from 0 to below
    ``MONEY_LIMIT`` (what an order's money column stores), which ``money_units`` counts."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise LoyaltyError(path, NOT_AN_AMOUNT, value=repr(value))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise LoyaltyError(path, NOT_AN_AMOUNT, value=value) from None
    if not number.is_finite():
        raise LoyaltyError(path, NOT_AN_AMOUNT, value=value)
    if number < 0:
        raise LoyaltyError(path, NOT_NEGATIVE)
    if number >= MONEY_LIMIT:
        raise LoyaltyError(path, AT_MOST, max=f"{MONEY_LIMIT - 1:f}")
    return number


def currency_code(value, path: str) -> str:
    """A currency as orders hold it: its ISO 4217 code, in capitals."""
    code = iso_code(value)
    if code is None:
        raise LoyaltyError(path, NOT_A_CURRENCY, value=repr(value))
    return code


def _matching_amount(when: When, lines: Sequence[LineFact]) -> int | None:
    """The amount of the lines the rule's product filters match; None when none match."""
    total, hit = 0, False
    for line in lines:
        if (
            (when.products and line.sku in when.products)
            or (when.categories and line.categories & set(when.categories))
            or (when.brands and line.brand in when.brands)
        ):
            total += line.amount
            hit = True
    return total if hit else None


def _fires(
    rule: Rule, member: MemberFact, occ: Occasion, settings: Settings
) -> tuple[bool, str, int | None]:
    """Whether the rule's conditions hold; a reason in words; the matching lines' amount."""
    w = rule.when
    day = occ.day
    if w.amount is not None and not w.amount.holds(Decimal(occ.amount) / SCALE):
        return False, _("the order amount is outside the rule's range"), None
    if w.currencies and occ.currency not in w.currencies:
        return False, _("the order is in %(c)s") % {"c": occ.currency}, None
    matched = None
    if w.lines_filtered:
        matched = _matching_amount(w, occ.lines)
        if matched is None:
            return False, _("no product of the order matches"), None
    refused = _day_refusal(w, day, settings)
    if refused:
        return False, refused, None
    if w.birthday_month and member.birthday_month != day.month:
        return False, _("not the member's birthday month"), None
    if w.tiers and member.tier not in w.tiers:
        return False, _("the member's tier is not one of the rule's"), None
    if w.tenure_years is not None:
        years = tenure_years(member.joined, day)
        if not w.tenure_years.holds(Decimal(years)):
            return (
                False,
                _("membership tenure of %(y)s years is outside the range") % {"y": years},
                None,
            )
    if w.special is not None and member.special != w.special:
        return False, _("special-member status does not match"), None
    if w.segments and not member.segments & set(w.segments):
        return False, _("the member is in none of the rule's segments"), None
    if w.nth_order is not None and occ.nth.get(w.nth_period) != w.nth_order:
        return (
            False,
            _("this is not the member's order number %(n)s in the period") % {"n": w.nth_order},
            None,
        )
    return True, _("conditions met"), matched


def _day_refusal(w: When, day: dt.date, settings: Settings) -> str:
    """Why the day does not suit the rule's dates, range, weekdays and festivals ("" if it
    does)."""
    if w.dates and day not in w.dates:
        return _("not on one of the rule's dates")
    if w.date_from is not None and day < w.date_from:
        return _("before the rule's period")
    if w.date_to is not None and day > w.date_to:
        return _("after the rule's period")
    if w.weekdays and day.isoweekday() not in w.weekdays:
        return _("not on one of the rule's weekdays")
    if w.festivals:
        on = [f for f in (settings.festival(c) for c in w.festivals) if f and f.covers(day)]
        if not on:
            return _("not during the rule's festivals")
    return ""


def day_conditions_hold(w: When, day: dt.date, settings: Settings) -> bool:
    return not _day_refusal(w, day, settings)


def evaluate(
    rules: Sequence[Rule],
    member: MemberFact,
    occ: Occasion,
    settings: Settings,
    used: dict | None = None,
) -> Evaluation:
    """The points ``occ`` earns under ``rules``. ``used`` maps (rule id, period key) to the
    points the rule already gave this member and is updated with this award's points.

    Priority decides which rules apply (exclusion groups, exclusive rules); then points
    per amount and fixed points are counted, then multipliers multiply the spend-based
    points in priority order, then the member's tier multiplier does."""
    used = {} if used is None else used
    ordered = sorted((r for r in rules if r.event == occ.event), key=lambda r: (-r.priority, r.id))
    status: dict[int, tuple[bool, bool, str, int | None]] = {}
    groups: set[str] = set()
    stopped_by: Rule | None = None
    for rule in ordered:
        ok, why, matched = _fires(rule, member, occ, settings)
        if not ok:
            status[rule.id] = (False, False, why, None)
        elif stopped_by is not None:
            why = _("excluded: %(name)s is exclusive") % {"name": stopped_by.name}
            status[rule.id] = (True, False, why, None)
        elif rule.group and rule.group in groups:
            why = _("excluded by a higher-priority rule of group %(g)s") % {"g": rule.group}
            status[rule.id] = (True, False, why, None)
        else:
            status[rule.id] = (True, True, "", matched)
            if rule.group:
                groups.add(rule.group)
            if rule.exclusive:
                stopped_by = rule
    points_of: dict[int, tuple[int, str]] = {}
    spend = 0
    total = 0
    for rule in ordered:  # amounts and fixed points first, then multipliers
        if not status[rule.id][1] or rule.award.type == "multiplier":
            continue
        a = rule.award
        if a.type == "per_amount":
            matched = status[rule.id][3]
            base = matched if a.basis == "matching_lines" else occ.amount
            units = max(0, base) // money_units(a.per)
            points = units * a.points
            why = ngettext(
                "%(units)s × %(per)s %(cur)s spent × %(p)s point",
                "%(units)s × %(per)s %(cur)s spent × %(p)s points",
                a.points,
            ) % {
                "units": units,
                "per": _num(a.per),
                "cur": occ.currency,
                "p": a.points,
            }
        else:
            points = a.points
            why = ngettext("%(p)s bonus point", "%(p)s bonus points", a.points) % {"p": a.points}
        points, why = _capped(rule, occ, used, points, why)
        if a.type == "per_amount":
            spend += points
        total += points
        points_of[rule.id] = (points, why)
    for rule in ordered:
        if not status[rule.id][1] or rule.award.type != "multiplier":
            continue
        a = rule.award
        points = spend * (int(a.factor * 100) - 100) // 100
        why = _("×%(f)s on %(s)s points") % {"f": _num(a.factor), "s": spend}
        points, why = _capped(rule, occ, used, points, why)
        spend += points
        total += points
        points_of[rule.id] = (points, why)
    outcomes = []
    for rule in ordered:
        fired, applied, why, _m = status[rule.id]
        if applied:
            points, why = points_of[rule.id]
            outcomes.append(RuleOutcome(rule, True, True, points, why))
        else:
            outcomes.append(RuleOutcome(rule, fired, False, 0, why))
    tier_bonus, tier_reason = 0, ""
    if member.tier_multiplier != 1 and spend > 0:
        tier_bonus = spend * (int(member.tier_multiplier * 100) - 100) // 100
        tier_reason = _("%(tier)s earns ×%(f)s: +%(b)s") % {
            "tier": member.tier_name or member.tier,
            "f": _num(member.tier_multiplier),
            "b": tier_bonus,
        }
        total += tier_bonus
    return Evaluation(total, tuple(outcomes), tier_bonus, tier_reason)


def _capped(rule: Rule, occ: Occasion, used: dict, points: int, why: str) -> tuple[int, str]:
    if rule.cap_points is None:
        return points, why
    key = (rule.id, period_key(rule.cap_period, occ.day))
    room = max(0, rule.cap_points - used.get(key, 0))
    if points > room:
        why += "; " + _("capped at %(cap)s per %(period)s") % {
            "cap": rule.cap_points,
            "period": _period_word(rule.cap_period),
        }
        points = room
    used[key] = used.get(key, 0) + points
    return points, why


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _period_word(period: str) -> str:
    return {
        "day": _("day"),
        "week": _("week"),
        "month": _("month"),
        "year": _("year"),
        "ever": _("membership"),
    }[period]


EVENT_LABELS = {
    "order_completed": gettext_noop("an order is completed"),
    "review_written": gettext_noop("a review is written"),
    "daily_sign_in": gettext_noop("the member signs in"),
    "survey_answered": gettext_noop("a survey is answered"),
    "activity_joined": gettext_noop("the member joins a campaign or activity"),
    "referral": gettext_noop("a referred customer joins"),
}


def describe_rule(
    rule: Rule, settings: Settings, tier_names: dict[str, str], segment_names: dict | None = None
) -> str:
    """The rule as a marketer would say it, in the active language."""
    w, a = rule.when, rule.award
    parts = [_("When %(event)s") % {"event": _(EVENT_LABELS[rule.event])}]
    if w.amount is not None:
        if w.amount.lo is not None and w.amount.hi is not None:
            parts.append(
                _("of %(lo)s to %(hi)s") % {"lo": _num(w.amount.lo), "hi": _num(w.amount.hi)}
            )
        elif w.amount.lo is not None:
            parts.append(_("of at least %(lo)s") % {"lo": _num(w.amount.lo)})
        else:
            parts.append(_("of at most %(hi)s") % {"hi": _num(w.amount.hi)})
    if w.currencies:
        parts.append(_("in %(c)s") % {"c": ", ".join(w.currencies)})
    things = []
    if w.products:
        things.append(_("products %(v)s") % {"v": ", ".join(w.products)})
    if w.categories:
        things.append(_("categories %(v)s") % {"v": ", ".join(w.categories)})
    if w.brands:
        things.append(_("brands %(v)s") % {"v": ", ".join(w.brands)})
    if things:
        parts.append(_("containing %(t)s") % {"t": _(" or ").join(things)})
    if w.nth_order:
        parts.append(
            _("that is the member's order number %(n)s %(period)s")
            % {"n": w.nth_order, "period": _nth_period_words(w.nth_period)}
        )
    if w.dates:
        parts.append(_("on %(d)s") % {"d": ", ".join(d.isoformat() for d in w.dates)})
    if w.date_from or w.date_to:
        parts.append(
            _("between %(a)s and %(b)s") % {"a": w.date_from or "…", "b": w.date_to or "…"}
        )
    if w.weekdays:
        names = [_weekday(d) for d in w.weekdays]
        parts.append(_("on %(d)s") % {"d": ", ".join(names)})
    if w.festivals:
        names = [(settings.festival(c).name if settings.festival(c) else c) for c in w.festivals]
        parts.append(_("during %(f)s") % {"f": ", ".join(names)})
    if w.birthday_month:
        parts.append(_("in the member's birthday month"))
    if w.tiers:
        parts.append(
            _("for %(t)s members") % {"t": ", ".join(tier_names.get(t, t) for t in w.tiers)}
        )
    if w.tenure_years is not None:
        r = w.tenure_years
        if r.lo is not None and r.hi is not None:
            parts.append(_("by members of %(a)s–%(b)s years") % {"a": _num(r.lo), "b": _num(r.hi)})
        elif r.lo is not None:
            parts.append(
                ngettext(
                    "by members of at least %(a)s year",
                    "by members of at least %(a)s years",
                    int(r.lo),
                )
                % {"a": _num(r.lo)}
            )
        else:
            parts.append(
                ngettext(
                    "by members of at most %(b)s year",
                    "by members of at most %(b)s years",
                    int(r.hi),
                )
                % {"b": _num(r.hi)}
            )
    if w.special is True:
        parts.append(_("for %(s)s") % {"s": settings.special_label})
    if w.special is False:
        parts.append(_("except %(s)s") % {"s": settings.special_label})
    if w.segments:
        names = [(segment_names or {}).get(i, f"#{i}") for i in w.segments]
        parts.append(_("for members of the segments %(s)s") % {"s": ", ".join(names)})
    if a.type == "per_amount":
        basis = _("of the matching products") if a.basis == "matching_lines" else ""
        award = ngettext(
            "earn %(p)s point per %(per)s spent %(basis)s",
            "earn %(p)s points per %(per)s spent %(basis)s",
            a.points,
        ) % {"p": a.points, "per": _num(a.per), "basis": basis}
    elif a.type == "fixed":
        award = ngettext("earn %(p)s point", "earn %(p)s points", a.points) % {"p": a.points}
    else:
        award = _("multiply the points by %(f)s") % {"f": _num(a.factor)}
    text = " ".join(parts) + _(": ") + award.strip()
    extra = []
    if rule.cap_points is not None:
        extra.append(
            ngettext(
                "at most %(c)s point per member per %(p)s",
                "at most %(c)s points per member per %(p)s",
                rule.cap_points,
            )
            % {"c": rule.cap_points, "p": _period_word(rule.cap_period)}
        )
    if rule.exclusive:
        extra.append(_("no lower-priority rule applies with it"))
    if rule.group:
        extra.append(_("only the highest-priority rule of group %(g)s applies") % {"g": rule.group})
    if extra:
        text += _("; ") + _("; ").join(extra)
    return text + _(".")


def _weekday(day: int) -> str:
    return [
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    ][day - 1]


def _nth_period_words(period: str) -> str:
    return {
        "week": _("in a week"),
        "month": _("in a month"),
        "year": _("in a year"),
        "ever": _("ever"),
    }[period]


# ---------------------------------------------------------------------------------------
# The ledger's arithmetic


@dataclass
class Lot:
    entry_id: int
    points: int
    created_at: dt.datetime
    expires_at: dt.datetime | None
    remaining: int


def take_from_lots(lots: Sequence[Lot], points: int) -> tuple[list[tuple[int, int]], int]:
    """Take ``points`` from the oldest lots first: [(lot entry id, points)] and what the lots
    could not cover."""
    takes = []
    left = points
    for lot in sorted(lots, key=lambda lot: (lot.created_at, lot.entry_id)):
        if left <= 0:
            break
        if lot.remaining <= 0:
            continue
        n = min(lot.remaining, left)
        takes.append((lot.entry_id, n))
        left -= n
    return takes, left


@dataclass(frozen=True)
class Movement:
    """A ledger entry as the pure replay sees it."""

    id: int
    points: int
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    kind: str = "earn"


def replay(movements: Iterable[Movement], now: dt.datetime | None = None) -> tuple[int, list[Lot]]:
    """Balance and lots after applying every movement in id order. Debits take the oldest
    lots first and leave a debt that later lots pay; expiries (kind ``expire``) name no lot
    here: they take the given points from the oldest expired lots."""
    lots: list[Lot] = []
    debt = 0
    balance = 0
    for m in sorted(movements, key=lambda m: m.id):
        balance += m.points
        if m.points > 0:
            lot = Lot(m.id, m.points, m.created_at, m.expires_at, m.points)
            paid = min(debt, lot.remaining)
            lot.remaining -= paid
            debt -= paid
            lots.append(lot)
        elif m.points < 0:
            pool = lots
            if m.kind == "expire":
                pool = [
                    x for x in lots if x.expires_at is not None and x.expires_at <= m.created_at
                ]
            takes, short = take_from_lots(pool, -m.points)
            by_id = {x.entry_id: x for x in lots}
            for lot_id, n in takes:
                by_id[lot_id].remaining -= n
            debt += short
    return balance, lots


# ---------------------------------------------------------------------------------------
# Checkout


@dataclass(frozen=True)
class Quote:
    balance: int
    point_value: Decimal
    max_points: int  # what this order may be paid with
    points: int  # what was asked for (or the maximum), within the limits
    value: Decimal  # money those points are worth


def quote(
    balance: int, order_total: Decimal, settings: Settings, wanted: int | None = None
) -> Quote:
    """How many points an order may use: at most ``max_redeem_percent`` of the total, at
    most the balance, nothing below ``min_redeem_points``."""
    if order_total < 0:
        raise LoyaltyError("order_total", NOT_NEGATIVE)
    if wanted is not None and wanted < 0:
        raise LoyaltyError("points", NOT_NEGATIVE)
    limit = order_total * settings.max_redeem_percent / 100
    by_total = int(limit / settings.point_value)
    most = max(0, min(balance, by_total))
    if most < settings.min_redeem_points:
        most = 0
    points = most if wanted is None else min(wanted, most)
    if 0 < points < settings.min_redeem_points:
        points = 0
    return Quote(balance, settings.point_value, most, points, points * settings.point_value)
