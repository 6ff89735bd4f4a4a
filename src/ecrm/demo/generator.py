"""Rows of the demo shop, drawn deterministically from a seed.

Pure: no ORM and no database. ``generate(plan)`` yields ``(table, rows)`` batches whose
tuples follow ``FIELDS[table]`` and carry their own primary keys, so ``services.py``
can insert them with set-based statements. The same ``Plan`` always yields the same
rows: customers are drawn in chunks, each from its own generator seeded with
``(seed, chunk number)``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ecrm.core.text import pinyin_keys
from ecrm.demo import rules

# Column order of every table the generator writes (model attribute names).
FIELDS: dict[str, tuple[str, ...]] = {
    "category": ("id", "code", "name", "parent_id"),
    "brand": ("id", "name"),
    "product": (
        "id",
        "sku",
        "name",
        "category_id",
        "brand_id",
        "price",
        "cost",
        "currency",
        "url",
        "image_url",
        "attributes",
        "created_at",
        "updated_at",
    ),
    "customer": (
        "id",
        "name",
        "name_pinyin",
        "name_initials",
        "email",
        "phone",
        "gender",
        "birthday",
        "country",
        "province",
        "city",
        "registration_channel",
        "registered_at",
        "attributes",
        "is_anonymous",
        "merged_into_id",
        "created_at",
        "updated_at",
    ),
    "identity": (
        "id",
        "customer_id",
        "kind",
        "namespace",
        "value",
        "verified",
        "source",
        "first_seen_at",
    ),
    "consent": ("id", "customer_id", "channel", "status", "source", "updated_at"),
    "order": (
        "id",
        "external_id",
        "customer_id",
        "status",
        "channel",
        "store",
        "department",
        "country",
        "region",
        "city",
        "currency",
        "subtotal",
        "discount",
        "shipping",
        "tax",
        "total",
        "coupon",
        "employee",
        "placed_at",
        "status_changed_at",
        "source",
        "content_hash",
        "attributes",
    ),
    "order_line": (
        "id",
        "order_id",
        "line_no",
        "kind",
        "product_id",
        "sku",
        "name",
        "quantity",
        "unit_price",
        "amount",
    ),
    "return": (
        "id",
        "external_id",
        "order_id",
        "customer_id",
        "currency",
        "amount",
        "reason",
        "returned_at",
        "source",
        "content_hash",
    ),
    "return_line": (
        "id",
        "ret_id",
        "line_no",
        "kind",
        "product_id",
        "sku",
        "name",
        "quantity",
        "unit_price",
        "amount",
    ),
    "event": (
        "id",
        "message_id",
        "type",
        "name",
        "customer_id",
        "anonymous_id",
        "user_id",
        "timestamp",
        "sent_at",
        "received_at",
        "channel",
        "page_url",
        "referrer",
        "user_agent",
        "properties",
        "context",
        "write_key_id",
        "source",
    ),
    "contact": (
        "id",
        "customer_id",
        "channel",
        "direction",
        "employee_id",
        "summary",
        "occurred_at",
        "created_at",
    ),
}
TABLES = tuple(FIELDS)

SHOP_URL = "https://shop.example.cn"
SOURCE = "demo"
CHINA_OFFSET = 8 * 3600  # the shop's calendar is Beijing time; rows are stored in UTC
CHUNK = 10_000
ANONYMOUS_SHARE = 0.05  # visitors who never identified
PRE_SIGNUP_SHARE = 0.6  # customers who browsed anonymously before signing up
TRACKED_ORDER_SHARE = 0.7  # online orders whose browsing session was tracked
CANCEL_SHARE = 0.04
RETURN_SHARE = 0.065
CONTACT_SHARE = 0.08
ORDER_DISPERSION = 0.6  # negative binomial shape: small = heavy-tailed repeat buying
EVENTS_PER_ORDER = 2.36  # tracked sessions before online orders, on average
EVENTS_PER_SESSION = 2.75
LINE_COUNT_P = (0.62, 0.24, 0.10, 0.04)

EVENT_CHANNELS = ("app", "wechat_miniprogram", "web")
USER_AGENTS = (
    "eCRMShop/5.2.0 (iPhone; iOS 17.5; Scale/3.00)",
    "Mozilla/5.0 (Linux; Android 14; V2307A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47 miniProgram",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
)
CONTEXTS = tuple(
    json.dumps(
        {
            "library": {"name": lib, "version": ver},
            "locale": "zh-CN",
            "timezone": "Asia/Shanghai",
            "channel": ch,
        },
        ensure_ascii=False,
    )
    for ch, lib, ver in (
        ("app", "analytics-ios", "4.1.8"),
        ("wechat_miniprogram", "rudder-sdk-miniprogram", "1.0.9"),
        ("web", "analytics.js", "4.15.3"),
    )
)
REFERRERS = (
    "",
    "",
    "https://www.baidu.com/",
    "https://servicewechat.com/",
    "https://www.douyin.com/",
    "https://www.xiaohongshu.com/",
)
# Event kinds of a session, and what each one is.
K_HOME, K_PRODUCT_PAGE, K_VIEWED, K_ADDED, K_CHECKOUT = range(5)
EVENT_TYPE = np.array(["page", "page", "track", "track", "track"], dtype=object)
EVENT_NAME = np.array(
    ["首页", "商品详情", "Product Viewed", "Product Added", "Checkout Started"], dtype=object
)
MEMBER_LEVELS = ("普通会员", "银卡会员", "金卡会员", "钻石会员")


@dataclass(frozen=True)
class Plan:
    """Everything the rows depend on: the same plan always gives the same rows."""

    customers: int
    seed: int = 42
    until: dt.date = dt.date(2026, 6, 30)  # the last day of the shop's history
    years: int = 3
    vendor: str = "sqlite"  # how timestamps are spelled for the database
    employees: tuple[int, ...] = ()  # staff user ids who log contacts
    orders_per_customer: float = 3.0  # mean over customers who identified
    browse_sessions: float = 1.0  # sessions without an order, per identified customer
    first_ids: dict[str, int] = field(default_factory=dict)  # table -> first primary key

    @property
    def start(self) -> dt.date:
        return self.until - dt.timedelta(days=365 * self.years)


@dataclass
class Counter:
    """Next primary key of each table, advanced as rows are drawn."""

    next: dict[str, int]

    def take(self, table: str, n: int) -> np.ndarray:
        first = self.next[table]
        self.next[table] = first + n
        return np.arange(first, first + n, dtype=np.int64)


def shape(customers: int, orders: int | None, events: int | None) -> dict[str, float]:
    """Plan settings that give about ``orders`` orders and ``events`` events in total."""
    known = max(customers * (1 - ANONYMOUS_SHARE), 1.0)
    per_customer = 3.0 if orders is None else orders / known
    if events is None:
        return {"orders_per_customer": per_customer, "browse_sessions": 1.0}
    total_orders = per_customer * known
    anonymous_events = customers * ANONYMOUS_SHARE * 2 * EVENTS_PER_SESSION
    rest = events - total_orders * EVENTS_PER_ORDER - anonymous_events
    sessions = max(rest / (known * EVENTS_PER_SESSION) - 0.1, 0.0)
    return {"orders_per_customer": per_customer, "browse_sessions": sessions}


# --- formatting ----------------------------------------------------------------------


def _times(seconds: np.ndarray, vendor: str) -> list[str]:
    """UTC epoch seconds as the text each database stores for a timestamp."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]")).tolist()
    if vendor == "sqlite":
        return [t.replace("T", " ") for t in text]
    return [t + "+00:00" for t in text]


def _money(fen: np.ndarray) -> list[str]:
    return [f"{v // 100}.{v % 100:02d}" for v in fen.tolist()]


def _ints(values: np.ndarray) -> list[int]:
    return values.tolist()


# --- calendar ------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    days: list[dt.date]
    midnight: np.ndarray  # UTC epoch seconds of each local midnight
    cdf: np.ndarray  # cumulative order weight, cdf[i] = weight of days[0..i]
    singles_day: np.ndarray  # bool per day: 11-11
    promo: np.ndarray  # price factor per day (1.0 outside promotions)

    @classmethod
    def of(cls, plan: Plan) -> Calendar:
        days = rules.days_between(plan.start, plan.until)
        weights = np.array([rules.day_weight(d) for d in days])
        epoch = dt.date(1970, 1, 1)
        midnight = np.array([(d - epoch).days * 86400 - CHINA_OFFSET for d in days], np.int64)
        singles = np.array([(d.month, d.day) == (11, 11) for d in days])
        promo = np.array([_promo(d) for d in days])
        return cls(days, midnight, np.cumsum(weights), singles, promo)

    def draw_days(self, rng, low: np.ndarray, high: np.ndarray | int | None = None) -> np.ndarray:
        """Day indexes in [low, high], following the shopping calendar."""
        high = len(self.days) - 1 if high is None else high
        before = np.where(low > 0, self.cdf[np.maximum(low - 1, 0)], 0.0)
        span = self.cdf[high] - before
        picked = np.searchsorted(self.cdf, before + rng.random(len(low)) * span, side="left")
        return np.clip(picked, low, high)

    def draw_times(self, rng, day: np.ndarray) -> np.ndarray:
        """UTC seconds within each local day, following the hour-of-day rhythm."""
        hours = np.where(
            self.singles_day[day],
            rng.choice(24, size=len(day), p=_norm(rules.SINGLES_DAY_HOUR_WEIGHTS)),
            rng.choice(24, size=len(day), p=_norm(rules.HOUR_WEIGHTS)),
        )
        return self.midnight[day] + hours * 3600 + rng.integers(0, 3600, size=len(day))


def _promo(day: dt.date) -> float:
    if (day.month, day.day) in ((11, 11), (6, 18)):
        return 0.85
    if day.month == 11 and day.day < 11:
        return 0.92
    return 1.0


def _norm(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


# --- catalogue -----------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    product_ids: np.ndarray
    skus: np.ndarray  # object
    names: np.ndarray  # object
    price: np.ndarray  # fen
    max_quantity: np.ndarray
    popularity: np.ndarray  # probabilities
    page_props: np.ndarray  # object: JSON of the product page
    viewed_props: np.ndarray  # object: JSON of Product Viewed
    added_props: np.ndarray  # object: JSON of Product Added
    urls: np.ndarray  # object


def catalogue(plan: Plan, ids: Counter) -> tuple[Catalogue, list[tuple[str, list[tuple]]]]:
    rng = np.random.default_rng([plan.seed, 1])
    created = _times(np.array([Calendar.of(plan).midnight[0]]), plan.vendor)[0]
    categories: list[tuple] = []
    cat_ids: dict[str, int] = {}
    for leaf in rules.CATALOGUE:
        parent = None
        code = ""
        for part in leaf.path.split("/"):
            code = f"{code}/{part}" if code else part
            if code not in cat_ids:
                cat_ids[code] = int(ids.take("category", 1)[0])
                categories.append((cat_ids[code], code, part, parent))
            parent = cat_ids[code]
    brand_names = sorted({b for leaf in rules.CATALOGUE for b in leaf.brands})
    brand_ids = {
        name: int(i)
        for name, i in zip(brand_names, ids.take("brand", len(brand_names)), strict=True)
    }
    brands = [(brand_ids[name], name) for name in brand_names]

    n = rules.product_count(plan.customers)
    leaf_weights = _norm([leaf.weight for leaf in rules.CATALOGUE])
    leaf_of = rng.choice(len(rules.CATALOGUE), size=n, p=leaf_weights)
    leaf_of[: len(rules.CATALOGUE)] = np.arange(len(rules.CATALOGUE))  # every leaf stocked
    pids = ids.take("product", n)
    appeal = rng.pareto(1.2, size=n) + 1.0
    brand_pick = rng.integers(0, 1000, size=n)
    noun_pick = rng.integers(0, 1000, size=n)
    variant_pick = rng.integers(0, len(rules.VARIANTS), size=n)
    price_pick = rng.random(n)
    margin = rng.uniform(0.45, 0.75, size=n)
    rows, skus, names, prices, maxq, urls = [], [], [], [], [], []
    page_props, viewed_props, added_props = [], [], []
    counts = np.bincount(leaf_of, minlength=len(rules.CATALOGUE))
    for i in range(n):
        leaf = rules.CATALOGUE[leaf_of[i]]
        brand = leaf.brands[brand_pick[i] % len(leaf.brands)]
        noun = leaf.nouns[noun_pick[i] % len(leaf.nouns)]
        name = " ".join(x for x in (brand, noun, rules.VARIANTS[variant_pick[i]]) if x)
        yuan = np.exp(
            np.log(leaf.price_min) + price_pick[i] * np.log(leaf.price_max / leaf.price_min)
        )
        price = int(round(yuan / 10) * 10 - 1) * 100 if yuan >= 100 else int(round(yuan)) * 100 - 10
        sku = f"SKU{100000 + int(pids[i])}"
        url = f"{SHOP_URL}/item/{sku}"
        price_text = f"{price // 100}.{price % 100:02d}"
        cost_fen = int(price * margin[i])
        category_id = cat_ids[leaf.path]
        rows.append(
            (
                int(pids[i]),
                sku,
                name,
                category_id,
                brand_ids[brand],
                price_text,
                f"{cost_fen // 100}.{cost_fen % 100:02d}",
                "CNY",
                url,
                "",
                "{}",
                created,
                created,
            )
        )
        product = {
            "product_id": sku,
            "sku": sku,
            "name": name,
            "category": leaf.path,
            "brand": brand,
            "price": price / 100,
            "currency": "CNY",
            "url": url,
        }
        viewed_props.append(json.dumps(product, ensure_ascii=False))
        added_props.append(json.dumps({**product, "quantity": 1}, ensure_ascii=False))
        page_props.append(
            json.dumps({"path": f"/item/{sku}", "title": name, "url": url}, ensure_ascii=False)
        )
        skus.append(sku)
        names.append(name)
        prices.append(price)
        maxq.append(leaf.max_quantity)
        urls.append(url)
    price_arr = np.array(prices, dtype=np.int64)
    weight = appeal * leaf_weights[leaf_of] / counts[leaf_of] * (price_arr / 100.0) ** -0.25
    cat = Catalogue(
        product_ids=pids,
        skus=np.array(skus, dtype=object),
        names=np.array(names, dtype=object),
        price=price_arr,
        max_quantity=np.array(maxq, dtype=np.int64),
        popularity=weight / weight.sum(),
        page_props=np.array(page_props, dtype=object),
        viewed_props=np.array(viewed_props, dtype=object),
        added_props=np.array(added_props, dtype=object),
        urls=np.array(urls, dtype=object),
    )
    return cat, [("category", categories), ("brand", brands), ("product", rows)]


# --- people --------------------------------------------------------------------------

_SURNAMES = np.array([s for s, _ in rules.SURNAMES], dtype=object)
_SURNAME_P = _norm([w for _, w in rules.SURNAMES])
_FEMALE = np.array(rules.GIVEN_FEMALE + rules.GIVEN_SHARED, dtype=object)
_MALE = np.array(rules.GIVEN_MALE + rules.GIVEN_SHARED, dtype=object)
_PROVINCE_P = _norm([p for _, p, _ in rules.PROVINCES])
_DOMAINS = np.array([d for d, _ in rules.EMAIL_DOMAINS], dtype=object)
_DOMAIN_P = _norm([w for _, w in rules.EMAIL_DOMAINS])
_REG_CHANNELS = np.array([c for c, _ in rules.REGISTRATION_CHANNELS], dtype=object)
_REG_P = _norm([w for _, w in rules.REGISTRATION_CHANNELS])
_PREFIXES = np.array(rules.MOBILE_PREFIXES, dtype=object)
_HEX = np.array(list("0123456789abcdef"), dtype=object)
_OPENID = np.array(
    list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), dtype=object
)


def _pick_strings(rng, alphabet: np.ndarray, n: int, length: int) -> list[str]:
    picks = alphabet[rng.integers(0, len(alphabet), size=(n, length))]
    return ["".join(row) for row in picks.tolist()]


def _uuid(hexes: list[str]) -> list[str]:
    return [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}" for h in hexes]


class _Names:
    """Pinyin keys of each distinct name, computed once per run."""

    def __init__(self):
        self.cache: dict[str, tuple[str, str]] = {}

    def keys(self, name: str) -> tuple[str, str]:
        hit = self.cache.get(name)
        if hit is None:
            hit = self.cache[name] = pinyin_keys(name)
        return hit


# --- the whole shop ------------------------------------------------------------------


def generate(plan: Plan) -> Iterator[list[tuple[str, list[tuple]]]]:
    """Yield one list of ``(table, rows)`` per chunk: the catalogue, then the customers.

    Within a chunk, parents come before children (customers before identities and
    orders, orders before lines and returns), so each chunk can be loaded on its own.
    """
    ids = Counter({t: plan.first_ids.get(t, 1) for t in TABLES})
    calendar = Calendar.of(plan)
    cat, batches = catalogue(plan, ids)
    yield batches
    names = _Names()
    for number, start in enumerate(range(0, plan.customers, CHUNK)):
        size = min(CHUNK, plan.customers - start)
        rng = np.random.default_rng([plan.seed, 2, number])
        yield list(_chunk(plan, calendar, cat, ids, names, rng, start, size))


def _chunk(plan, calendar, cat, ids, names, rng, start, n):
    vendor = plan.vendor
    ndays = len(calendar.days)
    index = np.arange(start, start + n, dtype=np.int64)  # position of the customer in the demo
    cust_ids = ids.take("customer", n)
    anonymous = rng.random(n) < ANONYMOUS_SHARE
    named = ~anonymous

    # Static profile data.
    female = rng.random(n) < 0.56
    surname = _SURNAMES[rng.choice(len(_SURNAMES), size=n, p=_SURNAME_P)]
    g1 = np.where(
        female, _FEMALE[rng.integers(0, len(_FEMALE), n)], _MALE[rng.integers(0, len(_MALE), n)]
    )
    g2 = np.where(
        female, _FEMALE[rng.integers(0, len(_FEMALE), n)], _MALE[rng.integers(0, len(_MALE), n)]
    )
    single = rng.random(n) < rules.SINGLE_GIVEN_SHARE
    full_names = [
        "" if a else s + x + ("" if one else y)
        for a, s, x, y, one in zip(
            anonymous.tolist(), surname, g1, g2, single.tolist(), strict=True
        )
    ]
    keys = [names.keys(name) if name else ("", "") for name in full_names]
    tails = (index * 48271 + plan.seed * 7919 + 12345) % 100_000_000
    prefixes = _PREFIXES[rng.integers(0, len(_PREFIXES), n)]
    phones = [
        "" if a else f"+86{p}{t:08d}"
        for a, p, t in zip(anonymous.tolist(), prefixes, tails.tolist(), strict=True)
    ]
    has_email = named & (rng.random(n) < rules.EMAIL_SHARE)
    domains = _DOMAINS[rng.choice(len(_DOMAINS), size=n, p=_DOMAIN_P)]
    qq_numbers = (index * 7919 + plan.seed) % 900_000_000 + 100_000_000
    numeric_qq = rng.random(n) < 0.6
    emails = [
        "" if not e else f"{q}@qq.com" if d == "qq.com" and nq else f"{k[0]}{i + 1}@{d}"
        for e, d, nq, q, k, i in zip(
            has_email.tolist(),
            domains,
            numeric_qq.tolist(),
            qq_numbers.tolist(),
            keys,
            index.tolist(),
            strict=True,
        )
    ]
    province_idx = rng.choice(len(rules.PROVINCES), size=n, p=_PROVINCE_P)
    city_pick = rng.integers(0, 100, size=n)
    provinces = [rules.PROVINCES[p][0] for p in province_idx.tolist()]
    cities = [
        rules.PROVINCES[p][2][c % len(rules.PROVINCES[p][2])]
        for p, c in zip(province_idx.tolist(), city_pick.tolist(), strict=True)
    ]
    age_days = (rng.normal(33, 9, size=n).clip(18, 70) * 365.25).astype(np.int64)
    birthday_known = named & (rng.random(n) < 0.8)
    until_ord = plan.until.toordinal()
    birthdays = [
        dt.date.fromordinal(until_ord - a).isoformat() if k else None
        for k, a in zip(birthday_known.tolist(), age_days.tolist(), strict=True)
    ]
    reg_channel = _REG_CHANNELS[rng.choice(len(_REG_CHANNELS), size=n, p=_REG_P)]

    # Sign-up: more customers joined recently; everyone had at least two weeks to shop.
    growth = rng.random(n) ** 0.7  # skewed towards 1 = recent
    reg_day = np.minimum((growth * (ndays - 1)).astype(np.int64), ndays - 15)
    reg_day = calendar.draw_days(rng, reg_day, None).clip(0, ndays - 1)
    reg_day = np.minimum(reg_day, ndays - 2)
    reg_at = calendar.draw_times(rng, reg_day)
    pre_signup = named & (reg_channel != "store") & (rng.random(n) < PRE_SIGNUP_SHARE)
    pre_gap = rng.integers(600, 20 * 86400, size=n)  # first anonymous visit before signing up
    first_seen = np.where(pre_signup, reg_at - pre_gap, reg_at)
    has_anon = pre_signup | anonymous
    anon_ids = np.array(
        [
            u if a else ""
            for a, u in zip(has_anon.tolist(), _uuid(_pick_strings(rng, _HEX, n, 32)), strict=True)
        ],
        dtype=object,
    )
    user_ids = np.array(
        [
            f"U{10_000_000 + i + 1}" if nm else ""
            for nm, i in zip(named.tolist(), index.tolist(), strict=True)
        ],
        dtype=object,
    )
    openids = _pick_strings(rng, _OPENID, n, 27)

    # How much each customer buys: heavy-tailed, and more for older customers.
    tenure = (ndays - reg_day).astype(float)
    factor = (tenure / tenure.mean()) ** 0.6
    mean_orders = (
        plan.orders_per_customer * factor / factor[named].mean() if named.any() else factor
    )
    p = ORDER_DISPERSION / (ORDER_DISPERSION + mean_orders)
    order_count = np.where(named, rng.negative_binomial(ORDER_DISPERSION, p), 0).clip(0, 300)
    level = np.searchsorted([3, 6, 12], order_count, side="right")
    attrs = [
        "{}" if a else json.dumps({"member_level": MEMBER_LEVELS[lv]}, ensure_ascii=False)
        for a, lv in zip(anonymous.tolist(), level.tolist(), strict=True)
    ]
    reg_text = _times(reg_at, vendor)
    first_text = _times(first_seen, vendor)
    customer_rows = list(
        zip(
            _ints(cust_ids),
            full_names,
            [k[0] for k in keys],
            [k[1] for k in keys],
            emails,
            phones,
            [
                "" if a else ("f" if f else "m")
                for a, f in zip(anonymous.tolist(), female.tolist(), strict=True)
            ],
            birthdays,
            ["" if a else "CN" for a in anonymous.tolist()],
            ["" if a else x for a, x in zip(anonymous.tolist(), provinces, strict=True)],
            ["" if a else x for a, x in zip(anonymous.tolist(), cities, strict=True)],
            ["" if a else x for a, x in zip(anonymous.tolist(), reg_channel, strict=True)],
            [None if a else t for a, t in zip(anonymous.tolist(), reg_text, strict=True)],
            attrs,
            anonymous.tolist(),
            [None] * n,
            first_text,
            first_text,
            strict=True,
        )
    )
    yield "customer", customer_rows

    # Identities: user id, mobile, email, anonymous id, WeChat open id.
    ident: list[tuple] = []
    cid_list = _ints(cust_ids)
    for i in range(n):
        cid = cid_list[i]
        if named[i]:
            ident.append((cid, "user_id", "", user_ids[i], True, SOURCE, reg_text[i]))
            ident.append((cid, "phone", "", phones[i], True, SOURCE, reg_text[i]))
            if emails[i]:
                ident.append((cid, "email", "", emails[i], False, SOURCE, reg_text[i]))
            if reg_channel[i] == "wechat_miniprogram":
                ident.append(
                    (cid, "wechat_openid", "", "o" + openids[i], True, SOURCE, reg_text[i])
                )
        if has_anon[i]:
            ident.append((cid, "anonymous_id", "", anon_ids[i], False, SOURCE, first_text[i]))
    ident_ids = _ints(ids.take("identity", len(ident)))
    yield "identity", [(k, *row) for k, row in zip(ident_ids, ident, strict=True)]

    # Consents given at sign-up.
    consent: list[tuple] = []
    sms_known = named & (rng.random(n) < 0.5)
    sms_granted = rng.random(n) < 0.78
    email_known = has_email & (rng.random(n) < 0.6)
    for i in np.flatnonzero(sms_known | email_known).tolist():
        if sms_known[i]:
            status = "granted" if sms_granted[i] else "denied"
            consent.append((cid_list[i], "sms", status, "registration", reg_text[i]))
        if email_known[i]:
            consent.append((cid_list[i], "email", "granted", "registration", reg_text[i]))
    consent_ids = _ints(ids.take("consent", len(consent)))
    yield "consent", [(k, *row) for k, row in zip(consent_ids, consent, strict=True)]

    yield from _orders_and_events(
        plan,
        calendar,
        cat,
        ids,
        rng,
        n,
        cust_ids,
        named,
        anonymous,
        reg_day,
        reg_at,
        first_seen,
        pre_signup,
        reg_channel,
        order_count,
        anon_ids,
        user_ids,
        provinces,
        cities,
    )


def _orders_and_events(
    plan,
    calendar,
    cat,
    ids,
    rng,
    n,
    cust_ids,
    named,
    anonymous,
    reg_day,
    reg_at,
    first_seen,
    pre_signup,
    reg_channel,
    order_count,
    anon_ids,
    user_ids,
    provinces,
    cities,
):
    vendor = plan.vendor
    len(calendar.days)
    end_of_history = int(calendar.midnight[-1]) + 86400
    # --- orders ---
    owner = np.repeat(np.arange(n), order_count)
    m = len(owner)
    day = calendar.draw_days(rng, reg_day[owner])
    placed = calendar.draw_times(rng, day)
    placed = np.maximum(placed, reg_at[owner] + 1900)  # after sign-up and its session
    order_sort = np.lexsort((placed, owner))
    owner, day, placed = owner[order_sort], day[order_sort], placed[order_sort]
    order_ids = ids.take("order", m)
    prefer_store = reg_channel[owner] == "store"
    channel_idx = np.where(
        prefer_store & (rng.random(m) < 0.7),
        3,
        rng.choice(4, size=m, p=_norm([0.45, 0.33, 0.14, 0.08])),
    )
    store_idx = rng.integers(0, len(rules.STORES), size=m)

    n_lines = rng.choice(len(LINE_COUNT_P), size=m, p=_norm(LINE_COUNT_P)) + 1
    line_order = np.repeat(np.arange(m), n_lines)
    line_no = np.arange(len(line_order)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    product = rng.choice(len(cat.product_ids), size=len(line_order), p=cat.popularity)
    extra = rng.random(len(line_order)) < 0.25
    quantity = 1 + np.where(
        extra, rng.integers(0, 10, size=len(line_order)) % cat.max_quantity[product], 0
    )
    unit = np.round(cat.price[product] * calendar.promo[day[line_order]]).astype(np.int64)
    amount = unit * quantity
    subtotal = np.bincount(line_order, weights=amount, minlength=m).astype(np.int64)
    big_promo = calendar.singles_day[day] | (calendar.promo[day] < 0.9)
    coupon_used = (subtotal >= 300_00) & (rng.random(m) < np.where(big_promo, 0.6, 0.25))
    discount = np.where(coupon_used, np.where(big_promo, 50_00, 30_00), 0)
    is_store = channel_idx == 3
    shipping = np.where(is_store | (subtotal >= rules.FREE_SHIPPING_FROM), 0, rules.SHIPPING_FEE)
    total = subtotal - discount + shipping

    # Lifecycle: by age, with cancellations and returns along the way.
    age = end_of_history - placed
    fate = rng.random(m)
    cancelled = fate < CANCEL_SHARE
    returned = ~cancelled & (fate < CANCEL_SHARE + RETURN_SHARE) & (age > 21 * 86400)
    status = np.where(
        age < 2 * 3600,
        np.where(is_store, "delivered", "placed"),
        np.where(
            age < 86400,
            np.where(is_store, "delivered", "paid"),
            np.where(age < 3 * 86400, np.where(is_store, "delivered", "shipped"), "delivered"),
        ),
    ).astype(object)
    refund_done = rng.random(m) < 0.75
    status[returned] = np.where(refund_done[returned], "refunded", "returned")
    status[cancelled] = "cancelled"
    changed = placed + np.where(
        cancelled,
        rng.integers(300, 86400, size=m),
        np.where(returned, rng.integers(7, 20, size=m) * 86400, np.minimum(age // 2, 4 * 86400)),
    )
    changed = np.minimum(changed, end_of_history - 1)

    placed_text = _times(placed, vendor)
    changed_text = _times(changed, vendor)
    ext_ids = [
        f"{calendar.days[d].strftime('%Y%m%d')}{o:010d}"
        for d, o in zip(day.tolist(), order_ids.tolist(), strict=True)
    ]
    channels = np.array(rules.ORDER_CHANNELS, dtype=object)[channel_idx]
    stores = np.where(is_store, np.array(rules.STORES, dtype=object)[store_idx], "")
    departments = np.where(is_store, rules.STORE_DEPARTMENT, rules.ONLINE_DEPARTMENT)
    coupons = np.where(coupon_used, np.where(big_promo, "PROMO-300-50", "MAN300-30"), "")
    # Derived from ids already drawn, so adding the column left every other value unchanged.
    clerks = np.array(rules.STORE_CLERKS, dtype=object)[store_idx * 2 + order_ids % 2]
    assisted = order_ids % rules.ONLINE_ASSISTED_EVERY == 0
    employees = np.where(is_store, clerks, np.where(assisted, "sales", ""))
    owners = owner.tolist()
    cid_list = _ints(cust_ids)
    order_rows = list(
        zip(
            _ints(order_ids),
            ext_ids,
            [cid_list[o] for o in owners],
            status.tolist(),
            channels.tolist(),
            stores.tolist(),
            departments.tolist(),
            ["CN"] * m,
            [provinces[o] for o in owners],
            [cities[o] for o in owners],
            ["CNY"] * m,
            _money(subtotal),
            _money(discount),
            _money(shipping),
            ["0.00"] * m,
            _money(total),
            coupons.tolist(),
            employees.tolist(),
            placed_text,
            changed_text,
            [SOURCE] * m,
            [""] * m,
            ["{}"] * m,
            strict=True,
        )
    )
    yield "order", order_rows
    line_ids = ids.take("order_line", len(line_order))
    oid_list = _ints(order_ids)
    lo = line_order.tolist()
    yield (
        "order_line",
        list(
            zip(
                _ints(line_ids),
                [oid_list[x] for x in lo],
                _ints(line_no),
                ["product"] * len(lo),
                _ints(cat.product_ids[product]),
                cat.skus[product].tolist(),
                cat.names[product].tolist(),
                _ints(quantity),
                _money(unit),
                _money(amount),
                strict=True,
            )
        ),
    )

    # Returns: the whole order comes back, refunded in full.
    ret_orders = np.flatnonzero(returned)
    ret_ids = ids.take("return", len(ret_orders))
    ret_at = placed[ret_orders] + rng.integers(5, 15, size=len(ret_orders)) * 86400
    ret_at = np.minimum(ret_at, changed[ret_orders])
    reasons = rng.integers(0, len(rules.RETURN_REASONS), size=len(ret_orders))
    ret_of_order = {int(o): int(r) for o, r in zip(ret_orders, ret_ids, strict=True)}
    yield (
        "return",
        list(
            zip(
                _ints(ret_ids),
                ["R" + ext_ids[o] for o in ret_orders.tolist()],
                [oid_list[o] for o in ret_orders.tolist()],
                [cid_list[owners[o]] for o in ret_orders.tolist()],
                ["CNY"] * len(ret_orders),
                _money(total[ret_orders]),
                [rules.RETURN_REASONS[r] for r in reasons.tolist()],
                _times(ret_at, vendor),
                [SOURCE] * len(ret_orders),
                [""] * len(ret_orders),
                strict=True,
            )
        ),
    )
    ret_line_mask = returned[line_order]
    rl = np.flatnonzero(ret_line_mask)
    ret_line_ids = ids.take("return_line", len(rl))
    yield (
        "return_line",
        list(
            zip(
                _ints(ret_line_ids),
                [ret_of_order[x] for x in line_order[rl].tolist()],
                _ints(line_no[rl]),
                ["product"] * len(rl),
                _ints(cat.product_ids[product[rl]]),
                cat.skus[product[rl]].tolist(),
                cat.names[product[rl]].tolist(),
                _ints(quantity[rl]),
                _money(unit[rl]),
                _money(amount[rl]),
                strict=True,
            )
        ),
    )

    # --- events ---
    first_line = np.cumsum(n_lines) - n_lines
    first_product = product[first_line]
    parts: list[dict] = []

    # A tracked session before each online order: page, view, add, checkout.
    tracked = ~is_store & (rng.random(m) < TRACKED_ORDER_SHARE)
    t_idx = np.flatnonzero(tracked)
    lead = rng.integers(120, 1800, size=len(t_idx))
    t0 = placed[t_idx] - lead
    sess_channel = np.minimum(channel_idx[t_idx], 2)
    sess_ref = rng.integers(0, len(REFERRERS), size=len(t_idx))
    for kind, offset in (
        (K_PRODUCT_PAGE, 0),
        (K_VIEWED, 2),
        (K_ADDED, lead // 2),
        (K_CHECKOUT, lead - 60),
    ):
        parts.append(
            dict(
                cust=owner[t_idx],
                t=t0 + offset,
                kind=kind,
                prod=first_product[t_idx],
                order=t_idx,
                known=np.ones(len(t_idx), bool),
                channel=sess_channel,
                ref=sess_ref,
            )
        )

    # Browsing sessions that end without an order.
    sessions = np.where(named, rng.poisson(plan.browse_sessions, size=n), 0)
    sessions += np.where(anonymous, 1 + rng.integers(0, 3, size=n), 0)
    sessions += (pre_signup & (sessions == 0)).astype(sessions.dtype)
    s_owner = np.repeat(np.arange(n), sessions)
    s_n = len(s_owner)
    s_day = calendar.draw_days(rng, reg_day[s_owner])
    s_t = calendar.draw_times(rng, s_day)
    s_t = np.where(anonymous[s_owner], s_t, np.maximum(s_t, reg_at[s_owner] + 30))
    # The first visit of someone who signed up later was anonymous, before sign-up.
    pre = pre_signup[s_owner] & (
        np.r_[True, s_owner[1:] != s_owner[:-1]] if s_n else np.zeros(0, bool)
    )
    s_t = np.where(pre, first_seen[s_owner], s_t)
    s_known = ~anonymous[s_owner] & ~pre
    pref = np.array([{"app": 0, "wechat_miniprogram": 1, "web": 2}.get(c, 0) for c in reg_channel])
    s_channel = np.where(rng.random(s_n) < 0.8, pref[s_owner], rng.integers(0, 3, size=s_n))
    s_ref = rng.integers(0, len(REFERRERS), size=s_n)
    p1 = rng.choice(len(cat.product_ids), size=s_n, p=cat.popularity)
    p2 = rng.choice(len(cat.product_ids), size=s_n, p=cat.popularity)
    second = rng.random(s_n) < 0.5
    added = rng.random(s_n) < 0.25
    common = dict(channel=s_channel, ref=s_ref, known=s_known, order=np.full(s_n, -1))
    parts.append(dict(cust=s_owner, t=s_t, kind=K_HOME, prod=np.full(s_n, -1), **common))
    parts.append(dict(cust=s_owner, t=s_t + 25, kind=K_VIEWED, prod=p1, **common))
    for mask, kind, prod, offset in (
        (second, K_VIEWED, p2, 95),
        (added, K_ADDED, np.where(second, p2, p1), 160),
    ):
        parts.append(
            dict(
                cust=s_owner[mask],
                t=s_t[mask] + offset,
                kind=kind,
                prod=prod[mask],
                channel=s_channel[mask],
                ref=s_ref[mask],
                known=s_known[mask],
                order=np.full(int(mask.sum()), -1),
            )
        )

    cust = np.concatenate([p["cust"] for p in parts])
    t = np.concatenate([p["t"] for p in parts])
    kind = np.concatenate([np.full(len(p["cust"]), p["kind"]) for p in parts])
    prod = np.concatenate([p["prod"] for p in parts])
    order = np.concatenate([p["order"] for p in parts])
    known = np.concatenate([p["known"] for p in parts])
    channel = np.concatenate([p["channel"] for p in parts])
    ref = np.concatenate([p["ref"] for p in parts])
    t = np.minimum(t, end_of_history - 1)
    sort = np.lexsort((kind, t, cust))
    cust, t, kind, prod, order, known, channel, ref = (
        a[sort] for a in (cust, t, kind, prod, order, known, channel, ref)
    )
    e = len(cust)
    event_ids = ids.take("event", e)
    props = np.empty(e, dtype=object)
    props[kind == K_HOME] = json.dumps(
        {"path": "/", "title": "首页", "url": SHOP_URL + "/"}, ensure_ascii=False
    )
    for k, table in (
        (K_PRODUCT_PAGE, cat.page_props),
        (K_VIEWED, cat.viewed_props),
        (K_ADDED, cat.added_props),
    ):
        sel = kind == k
        props[sel] = table[prod[sel]]
    checkout = np.flatnonzero(kind == K_CHECKOUT)
    props[checkout] = [
        f'{{"order_id": "{ext_ids[o]}", "value": {total[o] / 100:.2f}, "currency": "CNY"}}'
        for o in order[checkout].tolist()
    ]
    urls = np.empty(e, dtype=object)
    urls[kind == K_HOME] = SHOP_URL + "/"
    product_kind = (kind == K_PRODUCT_PAGE) | (kind == K_VIEWED) | (kind == K_ADDED)
    urls[product_kind] = cat.urls[prod[product_kind]]
    urls[checkout] = SHOP_URL + "/checkout"
    times = _times(t, vendor)
    prefix = f"demo-{plan.seed}-"
    yield (
        "event",
        list(
            zip(
                _ints(event_ids),
                [f"{prefix}{i:010d}" for i in event_ids.tolist()],
                EVENT_TYPE[kind].tolist(),
                EVENT_NAME[kind].tolist(),
                [cid_list[c] for c in cust.tolist()],
                anon_ids[cust].tolist(),
                np.where(known, user_ids[cust], "").tolist(),
                times,
                times,
                times,
                np.array(EVENT_CHANNELS, dtype=object)[channel].tolist(),
                urls.tolist(),
                np.array(REFERRERS, dtype=object)[ref].tolist(),
                np.array(USER_AGENTS, dtype=object)[channel].tolist(),
                props.tolist(),
                np.array(CONTEXTS, dtype=object)[channel].tolist(),
                [None] * e,
                [SOURCE] * e,
                strict=True,
            )
        ),
    )

    # --- contact log ---
    if not plan.employees:
        return
    talkers = np.flatnonzero(named & (rng.random(n) < CONTACT_SHARE))
    per = 1 + rng.integers(0, 4, size=len(talkers))
    c_owner = np.repeat(talkers, per)
    c_day = calendar.draw_days(rng, reg_day[c_owner])
    c_t = np.maximum(calendar.draw_times(rng, c_day), reg_at[c_owner] + 600)
    c_t = np.minimum(c_t, end_of_history - 1)
    template = rng.integers(0, len(rules.CONTACT_TEMPLATES), size=len(c_owner))
    employee = rng.integers(0, len(plan.employees), size=len(c_owner))
    c_text = _times(c_t, vendor)
    contact_ids = ids.take("contact", len(c_owner))
    yield (
        "contact",
        [
            (
                cid_,
                cid_list[o],
                rules.CONTACT_TEMPLATES[k][0],
                rules.CONTACT_TEMPLATES[k][1],
                plan.employees[emp],
                rules.CONTACT_TEMPLATES[k][2],
                tt,
                tt,
            )
            for cid_, o, k, emp, tt in zip(
                _ints(contact_ids),
                c_owner.tolist(),
                template.tolist(),
                employee.tolist(),
                c_text,
                strict=True,
            )
        ],
    )
