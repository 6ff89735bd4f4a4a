"""The set-based path: award every qualifying order not yet awarded, in one pass.

Used after a bulk import (in chunks of customers: ``customer_ids``, kept in a temporary
scope table that every read and every settling step joins) and by the demo load. The
active rules are evaluated over numpy columns of all orders at once with the semantics of
``rules.evaluate`` (``tests/test_bulk.py`` runs mixed data through both paths and compares
the ledgers); day conditions are decided once per distinct local day by the very
predicates of ``rules``. Reads come as whole numbers straight from the cursor into numpy
(currencies and tiers as small codes, birthdays as months); product lines are filtered by
the database, each matching line carrying a bit per line rule it matches. Orders already
awarded are an anti-join in numpy against the ledger's order references. The entries are
written with INSERT … SELECT from a temporary table filled by ``executemany`` (SQLite) or
``COPY`` (PostgreSQL), then the clawbacks of partial returns on the fresh lots, the expiry
of lots already past their date, the members' points and their tiers, all set-based.
Anything unusual (a lot already spent, a debt to settle) goes through the per-customer
``services.reconcile_customers``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from ecrm.core import clock
from ecrm.core.tables import insert_rows
from ecrm.loyalty import queries, rules, services
from ecrm.loyalty.models import Membership, TierChange

EPOCH_DAY = dt.date(1970, 1, 1).toordinal()


@dataclass
class BulkResult:
    orders: int = 0  # earning orders looked at
    awarded_orders: int = 0
    points: int = 0
    joined: int = 0
    clawed_back: int = 0
    expired: int = 0
    tier_changes: int = 0
    seconds: dict = field(default_factory=dict)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _epoch(column: str) -> str:
    if _pg():
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"  # %% : always run with params


def _units(column: str) -> str:
    return f"CAST(ROUND({column} * {rules.SCALE}) AS BIGINT)"


def _fetch(sql: str, params=()) -> list[tuple]:
    """Rows of ``sql``, always run with parameters (so a literal % is written %%)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall() if cursor.description is not None else []


def _local_days(epochs: np.ndarray) -> np.ndarray:
    """Shop-local day numbers (days since 1970-01-01) of UTC epoch seconds, exact for any
    zone: the offset is looked up once per distinct UTC hour."""
    if epochs.size == 0:
        return epochs.astype(np.int64)
    zone = ZoneInfo(django_settings.TIME_ZONE)
    hours, inverse = np.unique(epochs // 3600, return_inverse=True)
    offsets = np.array(
        [
            int(
                dt.datetime.fromtimestamp(int(h) * 3600, dt.UTC)
                .astimezone(zone)
                .utcoffset()
                .total_seconds()
            )
            for h in hours
        ],
        dtype=np.int64,
    )
    return (epochs + offsets[inverse]) // 86400


def _date(day_number: int) -> dt.date:
    return dt.date.fromordinal(EPOCH_DAY + int(day_number))


def _period_codes(period: str, days: np.ndarray) -> np.ndarray:
    """An integer per calendar period (per the shop-local day numbers)."""
    uniq, inverse = np.unique(days, return_inverse=True)
    keys = [rules.period_key(period, _date(d)) for d in uniq]
    _k, codes = np.unique(np.array(keys, dtype=object).astype(str), return_inverse=True)
    return codes[inverse].astype(np.int64)


def _group_cumsum(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` within runs of equal ``groups`` (rows already sorted)."""
    total = np.cumsum(values)
    starts = np.r_[True, groups[1:] != groups[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    return total - (total - values)[first]


def _group_position(groups: np.ndarray) -> np.ndarray:
    """1, 2, 3 … within runs of equal ``groups``."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, groups[1:] != groups[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - first + 1


def award_all(
    *,
    customer_ids: list[int] | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> BulkResult:
    """Award every member's qualifying orders not yet awarded (``customer_ids``: only
    theirs), join first-time buyers, claw back partial returns, expire what is past its
    date, settle the points copies and evaluate tiers."""
    result = BulkResult()
    setup = queries.setup()
    if not setup.enabled:
        return result
    now = now or clock.now()
    # A big page cache (taken as pages are used): a whole ledger written in one transaction
    # stays in memory instead of spilling index pages to the WAL again and again.
    _pragma("PRAGMA cache_size=-2097152")
    try:
        _award(setup, customer_ids, now, result, progress)
    finally:
        _pragma("PRAGMA cache_size=-65536")
    return result


def _pragma(statement: str) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(statement)


def _award(setup, customer_ids, now, result: BulkResult, progress) -> None:
    started = time.perf_counter()
    scoped = _make_scope(customer_ids)
    try:
        _award_scope(setup, scoped, now, result, progress, started)
    finally:
        _fetch(f"DROP TABLE IF EXISTS {SCOPE}")


def _award_scope(setup, scoped: bool, now, result: BulkResult, progress, started) -> None:
    """Award (``scoped``: the customers in the scope table only), then settle the same
    customers: so awarding in chunks of customers ends as awarding them all at once."""
    with transaction.atomic():
        data = _load(setup, scoped, result)
        result.seconds["load"] = time.perf_counter() - started
        if data is not None:
            t = time.perf_counter()
            points, detail = evaluate_columns(setup, data)
            result.seconds["evaluate"] = time.perf_counter() - t
            t = time.perf_counter()
            _write(setup, data, points, detail, result)
            result.seconds["write"] = time.perf_counter() - t
    progress(f"  loyalty: {result.awarded_orders:,} orders awarded {result.points:,} points")
    if _pg() and result.awarded_orders + result.joined >= 10_000:
        # Fresh planner statistics: with the counts of an empty ledger PostgreSQL plans the
        # settling joins below as nested loops over every order.
        _fetch("ANALYZE loyalty_pointsentry, loyalty_membership")
    t = time.perf_counter()
    with transaction.atomic():
        _settle_unusual(setup, now, scoped)
        result.seconds["unusual"] = time.perf_counter() - t
        result.expired = expire_all(now, scoped=scoped)
        result.seconds["expire"] = time.perf_counter() - t - result.seconds["unusual"]
        _refresh_points(scoped)
        result.tier_changes = evaluate_tiers_all(setup, now, scoped=scoped)
    result.seconds["settle"] = time.perf_counter() - t


@dataclass
class Columns:
    order_id: np.ndarray
    customer: np.ndarray  # customer ids
    epoch: np.ndarray
    day: np.ndarray  # shop-local day numbers
    amount: np.ndarray  # ten-thousandths
    currency: np.ndarray  # codes: index into ``currencies`` + 1, 0 for any other currency
    pending: np.ndarray  # bool: earning order not awarded yet
    returned: np.ndarray  # ten-thousandths returned on the order
    # per order, from its member
    tier: np.ndarray  # codes: index into ``tier_codes``
    special: np.ndarray
    birthday_month: np.ndarray  # 0 unknown
    joined_day: np.ndarray  # local day number of joining
    currencies: tuple[str, ...] = ()  # the currencies the rules name
    tier_codes: tuple[str, ...] = ("",)
    line_order: np.ndarray | None = None  # index into the orders
    line_amount: np.ndarray | None = None
    line_mask: np.ndarray | None = None  # bit ``line_bits[rule id]``: the line matches the rule
    line_bits: dict = field(default_factory=dict)
    used: dict = field(default_factory=dict)  # (rule id, customer, period key) -> points


SCOPE = "loyalty_tmp_scope"


def _ints(sql: str, params=(), width: int = 1) -> np.ndarray:
    """An int64 matrix (rows × ``width``) of a query whose columns are all whole numbers,
    read straight from the cursor without a list of rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        flat = np.fromiter(itertools.chain.from_iterable(cursor), dtype=np.int64)
    return flat.reshape(-1, width)


def _in_scope(column: str, scoped: bool) -> str:
    return f" AND {column} IN (SELECT id FROM {SCOPE})" if scoped else ""


def _make_scope(customer_ids) -> bool:
    _fetch(f"DROP TABLE IF EXISTS {SCOPE}")
    if customer_ids is None:
        return False
    _fetch(f"CREATE TEMPORARY TABLE {SCOPE} (id {_id_key()})")
    insert_rows(SCOPE, ("id",), [(int(i),) for i in sorted(set(customer_ids))])
    return True


def _load(setup: queries.Setup, scoped: bool, result: BulkResult) -> Columns | None:
    order_rules = [r for r in setup.rules if r.event == rules.ORDER_COMPLETED]
    earning = sorted(setup.settings.earning_statuses)
    marks = ", ".join(["%s"] * len(earning))
    currencies = tuple(sorted({c for r in order_rules for c in r.when.currencies}))
    currency_sql = "0"
    if currencies:
        currency_sql = (
            "CASE currency "
            + " ".join(f"WHEN %s THEN {k + 1}" for k in range(len(currencies)))
            + " ELSE 0 END"
        )
    # Each customer's orders oldest first (placed time, then id), as the per-customer path
    # sees them: the order of nth positions and caps.
    arr = _ints(
        f"SELECT id, customer_id, {_epoch('placed_at')}, {_units('total')}, {currency_sql} "
        f"FROM orders_order WHERE customer_id IS NOT NULL AND status IN ({marks})"
        f"{_in_scope('customer_id', scoped)} ORDER BY customer_id, placed_at, id",
        [*currencies, *earning],
        5,
    )
    if len(arr) == 0:
        return None
    order_id, customer, epoch, amount = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    currency = arr[:, 4]
    result.orders = len(order_id)
    day = _local_days(epoch)
    if setup.settings.join == "first_order":
        after = np.ones(len(order_id), dtype=bool)
        if setup.settings.starts_on is not None:
            after = day >= setup.settings.starts_on.toordinal() - EPOCH_DAY
        result.joined = _join_first_buyers(setup, order_id[after], customer[after], scoped)
    scope_m = f" WHERE m.customer_id IN (SELECT id FROM {SCOPE})" if scoped else ""
    tier_codes = [
        r[0] for r in _fetch(f"SELECT DISTINCT m.tier FROM loyalty_membership m{scope_m}")
    ]
    if "" not in tier_codes:
        tier_codes.append("")
    tier_sql = (
        "CASE m.tier "
        + " ".join(f"WHEN %s THEN {k}" for k in range(len(tier_codes)))
        + f" ELSE {tier_codes.index('')} END"
    )
    month = (
        "CAST(EXTRACT(MONTH FROM c.birthday) AS INTEGER)"
        if _pg()
        else "CAST(strftime('%%m', c.birthday) AS INTEGER)"
    )
    members = _ints(
        f"SELECT m.customer_id, {tier_sql}, CASE WHEN m.special THEN 1 ELSE 0 END, "
        f"{_epoch('m.joined_at')}, COALESCE({month}, 0) "
        f"FROM loyalty_membership m JOIN customers_customer c ON c.id = m.customer_id{scope_m}",
        tier_codes,
        5,
    )
    if len(members) == 0:
        return None
    sorter = np.argsort(members[:, 0])
    members = members[sorter]
    m_id = members[:, 0]
    pos = np.searchsorted(m_id, customer)
    pos[pos >= len(m_id)] = 0
    is_member = m_id[pos] == customer
    awarded = _ints(
        "SELECT CAST(source_ref AS BIGINT) FROM loyalty_pointsentry WHERE source = 'order' "
        f"AND kind = 'earn'{_in_scope('customer_id', scoped)}"
    )[:, 0]
    launched = np.ones(len(order_id), dtype=bool)
    if setup.settings.starts_on is not None:
        launched = day >= setup.settings.starts_on.toordinal() - EPOCH_DAY
    pending = is_member & launched & ~np.isin(order_id, awarded)
    returned = np.zeros(len(order_id), dtype=np.int64)
    scope_r = (
        f" AND r.order_id IN (SELECT o.id FROM orders_order o WHERE o.customer_id IN "
        f"(SELECT id FROM {SCOPE}))"
        if scoped
        else ""
    )
    r = _ints(
        f"SELECT r.order_id, SUM({_units('r.amount')}) FROM orders_return r "
        f"WHERE r.order_id IS NOT NULL{scope_r} GROUP BY r.order_id",
        (),
        2,
    )
    idx = np.argsort(order_id)
    if len(r):
        at = np.searchsorted(order_id[idx], r[:, 0])
        at[at >= len(idx)] = 0
        ok = order_id[idx][at] == r[:, 0]
        returned[idx[at[ok]]] = r[ok, 1]
    cols = Columns(
        order_id=order_id,
        customer=customer,
        epoch=epoch,
        day=day,
        amount=amount,
        currency=currency,
        pending=pending,
        returned=returned,
        tier=np.where(is_member, members[pos, 1], tier_codes.index("")),
        special=np.where(is_member, members[pos, 2] == 1, False),
        birthday_month=np.where(is_member, members[pos, 4], 0),
        joined_day=np.where(is_member, _local_days(members[:, 3])[pos], 0),
        currencies=currencies,
        tier_codes=tuple(tier_codes),
    )
    line_rules = [r for r in order_rules if r.when.lines_filtered]
    if line_rules:
        _load_lines(cols, line_rules, idx, scoped)
    if any(r.cap_points is not None for r in setup.rules):
        cols.used = _cap_usage(setup, scoped)
    return cols


def _join_first_buyers(setup: queries.Setup, order_id, customer, scoped: bool) -> int:
    """Members for customers whose first earning order made them one (as ``reconcile``)."""
    scope = f" WHERE customer_id IN (SELECT id FROM {SCOPE})" if scoped else ""
    have = _ints(f"SELECT customer_id FROM loyalty_membership{scope}")[:, 0]
    first = np.r_[True, customer[1:] != customer[:-1]]
    fresh = first & ~np.isin(customer, have)
    ids = order_id[fresh]
    if len(ids) == 0:
        return 0
    entry = setup.tiers[0].code if setup.tiers else ""
    number = (
        "'M' || LPAD(CAST(o.customer_id AS TEXT), 9, '0')"
        if _pg()
        else "'M' || printf('%%09d', o.customer_id)"
    )
    has_employee = any(f.name == "employee" for f in _order_fields())
    employee = "o.employee" if has_employee else "''"
    _fetch("DROP TABLE IF EXISTS loyalty_tmp_ids")
    _fetch(f"CREATE TEMPORARY TABLE loyalty_tmp_ids (id {_id_key()})")
    insert_rows("loyalty_tmp_ids", ("id",), [(i,) for i in ids.tolist()])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO loyalty_membership (customer_id, number, joined_at, channel, "
            "recruited_by, store, tier, tier_since, below_since, special, points) "
            f"SELECT o.customer_id, {number}, o.placed_at, "
            f"CASE WHEN o.channel = '' THEN 'first_order' ELSE o.channel END, "
            f"{employee}, o.store, %s, "
            f"{'o.placed_at' if entry else 'NULL'}, NULL, %s, 0 "
            "FROM loyalty_tmp_ids t JOIN orders_order o ON o.id = t.id ORDER BY o.customer_id",
            [entry, False],
        )
        joined = cursor.rowcount
    _fetch("DROP TABLE loyalty_tmp_ids")
    return joined


def _order_fields():
    from ecrm.orders.models import Order

    return Order._meta.get_fields()


def _line_condition(rule: rules.Rule, ancestry: dict, params: list) -> str:
    """SQL true when a line (``l``, its product ``p``) matches the rule's products,
    categories or brands; appends its parameters."""
    w = rule.when
    parts = []
    if w.products:
        parts.append(f"l.sku IN ({', '.join(['%s'] * len(w.products))})")
        params.extend(sorted(w.products))
    if w.categories:
        wanted = sorted(k for k, chain in ancestry.items() if chain & set(w.categories))
        if wanted:
            parts.append(f"p.category_id IN ({', '.join(['%s'] * len(wanted))})")
            params.extend(wanted)
    if w.brands:
        brands = sorted(_brand_ids(w.brands))
        if brands:
            parts.append(f"p.brand_id IN ({', '.join(['%s'] * len(brands))})")
            params.extend(brands)
    return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"


def _load_lines(cols: Columns, line_rules: list[rules.Rule], idx: np.ndarray, scoped) -> None:
    """The product lines that match at least one line rule, each with a bit per rule it
    matches: the database filters, only those lines travel."""
    ancestry = queries.category_ancestry()
    orders, amounts, masks = [], [], []
    for start in range(0, len(line_rules), 60):
        chunk = line_rules[start : start + 60]
        bits = {rule.id: start + k for k, rule in enumerate(chunk)}
        cols.line_bits.update(bits)
        mask_params: list = []
        where_params: list = []
        mask = " + ".join(
            f"CASE WHEN {_line_condition(rule, ancestry, mask_params)} "
            f"THEN {1 << (bits[rule.id] - start)} ELSE 0 END"
            for rule in chunk
        )
        where = " OR ".join(_line_condition(rule, ancestry, where_params) for rule in chunk)
        scope = (
            f" AND l.order_id IN (SELECT o.id FROM orders_order o WHERE o.customer_id IN "
            f"(SELECT id FROM {SCOPE}))"
            if scoped
            else ""
        )
        rows = _ints(
            f"SELECT l.order_id, {_units('l.amount')}, {mask} FROM orders_orderline l "
            "LEFT JOIN catalog_product p ON p.id = l.product_id "
            f"WHERE l.kind = 'product' AND ({where}){scope}",
            [*mask_params, *where_params],
            3,
        )
        orders.append(rows[:, 0])
        amounts.append(rows[:, 1])
        masks.append(rows[:, 2] << start)
    line_order_id = np.concatenate(orders)
    at = np.searchsorted(cols.order_id[idx], line_order_id)
    at[at >= len(idx)] = 0
    keep = cols.order_id[idx][at] == line_order_id
    cols.line_order = idx[at][keep]
    cols.line_amount = np.concatenate(amounts)[keep]
    cols.line_mask = np.concatenate(masks)[keep]


def _cap_usage(setup: queries.Setup, scoped: bool) -> dict:
    capped = {r.id: r for r in setup.rules if r.cap_points is not None}
    used: dict = {}
    rows = _fetch(
        f"SELECT customer_id, {_epoch('created_at')}, detail FROM loyalty_pointsentry "
        f"WHERE kind = 'earn'{_in_scope('customer_id', scoped)}"
    )
    if not rows:
        return used
    days = _local_days(np.array([r[1] for r in rows], dtype=np.int64)).tolist()
    for (customer_id, _at, detail), day in zip(rows, days, strict=True):
        if isinstance(detail, str):
            detail = json.loads(detail)
        for item in (detail or {}).get("rules", ()):
            rule = capped.get(item.get("rule"))
            if rule is None:
                continue
            key = (rule.id, customer_id, rules.period_key(rule.cap_period, _date(day)))
            used[key] = used.get(key, 0) + int(item.get("points", 0))
    return used


# --- evaluation over columns --------------------------------------------------------------


def _day_mask(rule: rules.Rule, settings: rules.Settings, days: np.ndarray) -> np.ndarray:
    """The rule's date, range, weekday and festival conditions, decided once per day."""
    w = rule.when
    if not (w.dates or w.date_from or w.date_to or w.weekdays or w.festivals):
        return np.ones(len(days), dtype=bool)
    uniq, inverse = np.unique(days, return_inverse=True)
    ok = np.array([rules.day_conditions_hold(w, _date(d), settings) for d in uniq], dtype=bool)
    return ok[inverse]


def evaluate_columns(setup: queries.Setup, c: Columns) -> tuple[np.ndarray, list]:
    """Points of every pending order and, per rule applied, its points (for the detail)."""
    sel = np.flatnonzero(c.pending)
    n = len(sel)
    total = np.zeros(n, dtype=np.int64)
    spend = np.zeros(n, dtype=np.int64)
    order_rules = sorted(
        (r for r in setup.rules if r.event == rules.ORDER_COMPLETED),
        key=lambda r: (-r.priority, r.id),
    )
    cust = c.customer[sel]
    days = c.day[sel]
    amount = c.amount[sel]
    tiers = c.tier[sel]
    # nth positions among all the customer's earning orders, per period
    nth: dict[str, np.ndarray] = {}
    for period in {r.when.nth_period for r in order_rules if r.when.nth_order}:
        codes = _period_codes(period, c.day)
        # rows are sorted by customer then time: group by (customer, period)
        key = c.customer * 100_000 + codes
        order = np.lexsort((np.arange(len(key)), key))  # stable within a group
        pos = np.empty(len(key), dtype=np.int64)
        pos[order] = _group_position(key[order])
        nth[period] = pos[sel]
    matched: dict[int, np.ndarray] = {}
    hit: dict[int, np.ndarray] = {}
    applied: dict[int, np.ndarray] = {}
    stopped = np.zeros(n, dtype=bool)
    groups: dict[str, np.ndarray] = {}
    for rule in order_rules:
        w = rule.when
        fires = np.ones(n, dtype=bool)
        if w.amount is not None:
            if w.amount.lo is not None:
                fires &= amount >= rules.money_units(w.amount.lo)
            if w.amount.hi is not None:
                fires &= amount <= rules.money_units(w.amount.hi)
        if w.currencies:
            codes = [c.currencies.index(x) + 1 for x in w.currencies if x in c.currencies]
            fires &= np.isin(c.currency[sel], codes)
        if w.lines_filtered:
            line_hit = (c.line_mask >> c.line_bits[rule.id]) & 1
            size = len(c.order_id)
            amounts = np.bincount(c.line_order, weights=c.line_amount * line_hit, minlength=size)
            hits = np.bincount(c.line_order, weights=line_hit, minlength=size)
            matched[rule.id] = np.rint(amounts[sel]).astype(np.int64)
            hit[rule.id] = hits[sel] > 0
            fires &= hit[rule.id]
        fires &= _day_mask(rule, setup.settings, days)
        if w.birthday_month:
            months = np.array([_date(d).month for d in np.unique(days)], dtype=np.int64)
            uniq, inverse = np.unique(days, return_inverse=True)
            fires &= c.birthday_month[sel] == months[inverse]
        if w.tiers:
            fires &= np.isin(tiers, [k for k, t in enumerate(c.tier_codes) if t in w.tiers])
        if w.tenure_years is not None:
            years = _tenure(c.joined_day[sel], days)
            if w.tenure_years.lo is not None:
                fires &= years >= int(w.tenure_years.lo)
            if w.tenure_years.hi is not None:
                fires &= years <= int(w.tenure_years.hi)
        if w.special is not None:
            fires &= c.special[sel] == w.special
        if w.segments:
            fires &= np.isin(cust, _segment_members(w.segments))
        if w.nth_order is not None:
            fires &= nth[w.nth_period] == w.nth_order
        ok = fires & ~stopped
        if rule.group:
            used_group = groups.setdefault(rule.group, np.zeros(n, dtype=bool))
            ok &= ~used_group
            used_group |= ok
        if rule.exclusive:
            stopped |= ok
        applied[rule.id] = ok
    rule_points: dict[int, np.ndarray] = {}
    for rule in order_rules:
        a = rule.award
        if a.type == "multiplier":
            continue
        ok = applied[rule.id]
        if a.type == "per_amount":
            base = matched[rule.id] if a.basis == "matching_lines" else amount
            pts = np.maximum(base, 0) // rules.money_units(a.per) * a.points
        else:
            pts = np.full(n, a.points, dtype=np.int64)
        pts = np.where(ok, pts, 0)
        pts = _cap(rule, pts, cust, days, c.used)
        if a.type == "per_amount":
            spend += pts
        total += pts
        rule_points[rule.id] = pts
    for rule in order_rules:
        if rule.award.type != "multiplier":
            continue
        factor = int(rule.award.factor * 100) - 100
        pts = np.where(applied[rule.id], spend * factor // 100, 0)
        pts = _cap(rule, pts, cust, days, c.used)
        spend += pts
        total += pts
        rule_points[rule.id] = pts
    factors = {t.code: int(t.multiplier * 100) - 100 for t in setup.tiers}
    by_code = np.array([factors.get(t, 0) for t in c.tier_codes], dtype=np.int64)
    tier_factor = by_code[tiers]
    tier_bonus = np.where((tier_factor != 0) & (spend > 0), spend * tier_factor // 100, 0)
    total += tier_bonus
    detail = [(r, rule_points[r.id]) for r in order_rules]
    return total, [detail, tier_bonus]


def _segment_members(segment_ids) -> np.ndarray:
    from ecrm.segments import api as segments_api

    ids: set[int] = set()
    for segment_id in segment_ids:
        ids.update(segments_api.member_ids(segment_id))
    return np.array(sorted(ids), dtype=np.int64)


def _brand_ids(names) -> list[int]:
    from ecrm.catalog.models import Brand

    return list(Brand.objects.filter(name__in=list(names)).values_list("pk", flat=True))


def _tenure(joined: np.ndarray, days: np.ndarray) -> np.ndarray:
    def parts(d):
        uniq, inverse = np.unique(d, return_inverse=True)
        dates = [_date(x) for x in uniq]
        y = np.array([x.year for x in dates], dtype=np.int64)[inverse]
        md = np.array([x.month * 100 + x.day for x in dates], dtype=np.int64)[inverse]
        return y, md

    jy, jmd = parts(joined)
    y, md = parts(days)
    years = y - jy - (md < jmd)
    return np.where(days < joined, 0, years)


def _cap(rule: rules.Rule, pts: np.ndarray, cust, days, used: dict) -> np.ndarray:
    """Grant in order (rows sorted by customer, time) up to the cap per member and period."""
    if rule.cap_points is None or len(pts) == 0:
        return pts
    codes = _period_codes(rule.cap_period, days)
    uniq_days, inverse = np.unique(days, return_inverse=True)
    period_keys = np.array(
        [rules.period_key(rule.cap_period, _date(d)) for d in uniq_days], dtype=object
    )[inverse]
    key = cust * 100_000 + codes
    order = np.lexsort((np.arange(len(key)), key))
    k = key[order]
    p = pts[order]
    starts = np.r_[True, k[1:] != k[:-1]] if len(k) else np.zeros(0, dtype=bool)
    room = np.full(len(pts), rule.cap_points, dtype=np.int64)
    if used:
        group = np.cumsum(starts) - 1
        firsts = np.flatnonzero(starts)
        spent = np.array(
            [used.get((rule.id, int(cust[order[i]]), period_keys[order[i]]), 0) for i in firsts],
            dtype=np.int64,
        )
        room = np.maximum(rule.cap_points - spent[group], 0)
    # rows of one group share "already": grant min(cumsum, room) progressively
    cum = _group_cumsum(p, k)
    granted_cum = np.minimum(cum, room)
    prev = np.where(starts, 0, np.r_[0, granted_cum[:-1]])
    granted = np.empty(len(pts), dtype=np.int64)
    granted[order] = granted_cum - prev
    return granted


# --- writing ----------------------------------------------------------------------------


def _id_key() -> str:
    """A temporary table's whole-number key: SQLite's rowid itself, no second b-tree."""
    return "BIGINT PRIMARY KEY" if _pg() else "INTEGER PRIMARY KEY"


def _json_param() -> str:
    return "CAST(%s AS JSONB)" if _pg() else "%s"


def _expires(column: str, days: int) -> str:
    if not days:
        return "NULL"
    if _pg():
        return f"{column} + INTERVAL '{int(days)} days'"
    return f"strftime('%Y-%m-%d %H:%M:%f', {column}, '+{int(days)} days')"


def _detail_rows(order_ids, points, rule_cols, tier_bonus) -> list[tuple]:
    """(order id, points, detail JSON) per awarded order, as ``Evaluation.detail()`` gives
    it; one JSON template per combination of rules that gave points."""
    matrix = np.vstack([p for _r, p in rule_cols] + [tier_bonus]) if rule_cols else None
    if matrix is None:
        return []
    given = matrix > 0
    masks = np.zeros(given.shape[1], dtype=np.int64)
    for k in range(given.shape[0]):
        masks |= given[k].astype(np.int64) << k
    rows: list[tuple] = []
    tier_bit = given.shape[0] - 1
    for mask in np.unique(masks).tolist():
        which = [k for k in range(given.shape[0]) if mask >> k & 1]
        parts = [
            f'{{"rule": {rule_cols[k][0].id}, "name": '
            + json.dumps(rule_cols[k][0].name, ensure_ascii=False).replace("%", "%%")
            + ', "points": %d}'
            for k in which
            if k != tier_bit
        ]
        template = '{"rules": [' + ", ".join(parts) + "]"
        template += ', "tier_bonus": %d}' if tier_bit in which else "}"
        at = np.flatnonzero(masks == mask)
        values = map(tuple, matrix[which][:, at].T.tolist())
        rows.extend(
            zip(
                order_ids[at].tolist(),
                points[at].tolist(),
                map(template.__mod__, values),
                strict=True,
            )
        )
    rows.sort()
    return rows


def _write(setup, c: Columns, points: np.ndarray, detail, result: BulkResult) -> None:
    sel = np.flatnonzero(c.pending)
    rule_cols, tier_bonus = detail
    give = np.flatnonzero(points > 0)
    if len(give) == 0:
        return
    rows = _detail_rows(c.order_id[sel[give]], points[give], rule_cols, tier_bonus[give])
    _fetch("DROP TABLE IF EXISTS loyalty_tmp_award")
    _fetch(
        f"CREATE TEMPORARY TABLE loyalty_tmp_award (order_id {_id_key()}, points BIGINT, "
        "detail TEXT)"
    )
    insert_rows("loyalty_tmp_award", ("order_id", "points", "detail"), rows)
    detail_sql = "CAST(t.detail AS JSONB)" if _pg() else "t.detail"
    ref = "CAST(o.id AS TEXT)"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO loyalty_pointsentry (customer_id, kind, points, source, source_ref, "
            "reason, detail, created_at, expires_at, actor_label) "
            f"SELECT o.customer_id, 'earn', t.points, 'order', {ref}, "
            f"'订单 ' || o.external_id, {detail_sql}, o.placed_at, "
            f"{_expires('o.placed_at', setup.settings.expiry_days)}, '' "
            "FROM loyalty_tmp_award t JOIN orders_order o ON o.id = t.order_id"
        )
    result.awarded_orders = len(rows)
    result.points = int(points.sum())
    # Partial returns on the fresh lots: claw back their share from the lot itself.
    share_rows = []
    for i in give.tolist():
        j = sel[i]
        if c.returned[j] > 0 and c.amount[j] > 0:
            earned = int(points[i])
            left = max(0, c.amount[j] - c.returned[j])
            keep = earned * left // c.amount[j]
            if earned - keep > 0:
                share_rows.append((int(c.order_id[j]), int(earned - keep)))
    if share_rows:
        _clawback_fresh(share_rows)
        result.clawed_back = sum(n for _, n in share_rows)
    _fetch("DROP TABLE loyalty_tmp_award")


def _clawback_fresh(rows: list[tuple[int, int]]) -> None:
    _fetch("DROP TABLE IF EXISTS loyalty_tmp_claw")
    _fetch("CREATE TEMPORARY TABLE loyalty_tmp_claw (ref VARCHAR(40) PRIMARY KEY, points BIGINT)")
    insert_rows("loyalty_tmp_claw", ("ref", "points"), [(str(o), n) for o, n in rows])
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO loyalty_pointsentry (customer_id, kind, points, source, source_ref, "
            "reason, detail, created_at, expires_at, actor_label) "
            "SELECT e.customer_id, 'clawback', -t.points, 'order', e.source_ref, "
            f"'订单退款 ' || SUBSTR(e.reason, 4), {_json_param()}, %s, NULL, '' "
            "FROM loyalty_tmp_claw t JOIN loyalty_pointsentry e ON e.source = 'order' "
            "AND e.kind = 'earn' AND e.source_ref = t.ref",
            ["{}", now],
        )
        cursor.execute(
            "INSERT INTO loyalty_pointsdebit (debit_id, lot_id, points) "
            "SELECT d.id, e.id, -d.points FROM loyalty_tmp_claw t "
            "JOIN loyalty_pointsentry e ON e.source = 'order' AND e.kind = 'earn' "
            "AND e.source_ref = t.ref "
            "JOIN loyalty_pointsentry d ON d.source = 'order' AND d.kind = 'clawback' "
            "AND d.source_ref = t.ref"
        )
    _fetch("DROP TABLE loyalty_tmp_claw")


def _settle_unusual(setup, now, scoped: bool) -> None:
    """Customers whose ledger needs the careful path: outstanding debts, or orders that
    earned and were cancelled or refunded since."""
    owing = {
        r[0]
        for r in _fetch(
            "SELECT e.customer_id FROM loyalty_pointsentry e LEFT JOIN "
            "(SELECT debit_id, SUM(points) AS n FROM loyalty_pointsdebit GROUP BY debit_id) d "
            "ON d.debit_id = e.id WHERE e.points < 0 AND -e.points > COALESCE(d.n, 0)"
            f"{_in_scope('e.customer_id', scoped)}"
        )
    }
    reversed_statuses = sorted(rules.REVERSED_STATUSES)
    marks = ", ".join(["%s"] * len(reversed_statuses))
    ref = "CAST(o.id AS TEXT)"
    undone = {
        r[0]
        for r in _fetch(
            "SELECT DISTINCT o.customer_id FROM orders_order o JOIN loyalty_pointsentry e "
            f"ON e.source = 'order' AND e.kind = 'earn' AND e.source_ref = {ref} "
            f"WHERE o.status IN ({marks}) AND NOT EXISTS (SELECT 1 FROM loyalty_pointsentry x "
            "WHERE x.source = 'order' AND x.kind = 'clawback' AND x.source_ref = e.source_ref)"
            f"{_in_scope('o.customer_id', scoped)}",
            reversed_statuses,
        )
    }
    if owing | undone:
        services.reconcile_customers(sorted(owing | undone), now=now)


def expire_all(now: dt.datetime, *, scoped: bool = False) -> int:
    """Expire, set-based, every lot past its date with points left (``scoped``: the lots
    of the customers in the scope table)."""
    taken = "(SELECT lot_id, SUM(points) AS n FROM loyalty_pointsdebit GROUP BY lot_id)"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO loyalty_pointsentry (customer_id, kind, points, source, source_ref, "
            "reason, detail, created_at, expires_at, actor_label) "
            "SELECT l.customer_id, 'expire', -(l.points - COALESCE(d.n, 0)), 'expiry', "
            f"CAST(l.id AS TEXT), '积分过期', {_json_param()}, l.expires_at, NULL, '' "
            f"FROM loyalty_pointsentry l LEFT JOIN {taken} d ON d.lot_id = l.id "
            "WHERE l.points > 0 AND l.expires_at IS NOT NULL AND l.expires_at <= %s "
            f"AND l.points - COALESCE(d.n, 0) > 0{_in_scope('l.customer_id', scoped)}",
            ["{}", now],
        )
        count = cursor.rowcount
        if not count:
            return 0
        cursor.execute(
            "INSERT INTO loyalty_pointsdebit (debit_id, lot_id, points) "
            "SELECT x.id, l.id, -x.points FROM loyalty_pointsentry x "
            "JOIN loyalty_pointsentry l ON l.id = CAST(x.source_ref AS INTEGER) "
            "WHERE x.kind = 'expire' AND NOT EXISTS "
            "(SELECT 1 FROM loyalty_pointsdebit p WHERE p.debit_id = x.id)"
            f"{_in_scope('x.customer_id', scoped)}"
        )
    return count


def _refresh_points(scoped: bool = False) -> None:
    where = f" WHERE customer_id IN (SELECT id FROM {SCOPE})" if scoped else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE loyalty_membership SET points = COALESCE((SELECT SUM(e.points) "
            "FROM loyalty_pointsentry e WHERE e.customer_id = loyalty_membership.customer_id), 0)"
            + where
        )


def evaluate_tiers_all(setup: queries.Setup, now: dt.datetime, *, scoped: bool = False) -> int:
    """Every member's tier by the rolling window, set-based: upgrade at once, downgrade
    after the grace period (``rules.decide_tier``); ``scoped``: the members in the scope
    table only."""
    if not setup.tiers:
        return 0
    since = now - dt.timedelta(days=setup.settings.tier_window_days)
    if setup.settings.tier_metric == "points":
        measures = dict(
            _fetch(
                "SELECT customer_id, SUM(points) FROM loyalty_pointsentry "
                "WHERE kind IN ('earn', 'clawback') AND source IN "
                "('order', 'event', 'campaign', 'referral') AND created_at > %s "
                f"AND created_at <= %s{_in_scope('customer_id', scoped)} GROUP BY customer_id",
                [since, now],
            )
        )
    else:
        earning = sorted(setup.settings.earning_statuses)
        marks = ", ".join(["%s"] * len(earning))
        returns = (
            # Each order's returns by the returns' order index (exact numerics): no join of
            # the orders with an aggregate, which PostgreSQL plans as a nested loop when the
            # tables were just loaded and have no statistics yet.
            "SUM(o.total - COALESCE((SELECT SUM(r.amount) FROM orders_return r "
            "WHERE r.order_id = o.id), 0)) FROM orders_order o "
            if _pg()
            else "SUM(o.total) - COALESCE(SUM(r.amount), 0) FROM orders_order o LEFT JOIN "
            "(SELECT order_id, SUM(amount) AS amount FROM orders_return "
            "WHERE order_id IS NOT NULL GROUP BY order_id) r ON r.order_id = o.id "
        )
        spent = _fetch(
            f"SELECT o.customer_id, {returns}"
            f"WHERE o.status IN ({marks}) AND o.placed_at > %s AND o.placed_at <= %s "
            f"AND o.customer_id IS NOT NULL{_in_scope('o.customer_id', scoped)} "
            "GROUP BY o.customer_id",
            [*earning, since, now],
        )
        measures = {cid: v for cid, v in spent}
    changes = []
    updates = []
    members = Membership.objects.all()
    if scoped:
        members = members.filter(customer_id__in=RawSQL(f"SELECT id FROM {SCOPE}", []))
    for customer_id, tier, below in members.values_list(
        "customer_id", "tier", "below_since"
    ).iterator(chunk_size=20_000):
        measure = Decimal(str(measures.get(customer_id) or 0))
        d = rules.decide_tier(
            setup.tiers, tier, below, measure, now, setup.settings.tier_grace_days
        )
        if d.changed:
            changes.append(
                TierChange(
                    customer_id=customer_id, at=now, from_tier=tier, to_tier=d.tier, reason=d.reason
                )
            )
        if d.changed or d.below_since != below:
            updates.append((customer_id, d.tier, int(d.changed), d.below_since))
    if updates:
        stamp = "TIMESTAMP WITH TIME ZONE" if _pg() else "TIMESTAMP"
        _fetch("DROP TABLE IF EXISTS loyalty_tmp_tier")
        _fetch(
            f"CREATE TEMPORARY TABLE loyalty_tmp_tier (customer_id {_id_key()}, "
            f"tier VARCHAR(40), changed INTEGER, below_since {stamp} NULL)"
        )
        insert_rows("loyalty_tmp_tier", ("customer_id", "tier", "changed", "below_since"), updates)
        _fetch(
            "UPDATE loyalty_membership SET tier = t.tier, below_since = t.below_since, "
            "tier_since = CASE WHEN t.changed = 1 THEN %s ELSE loyalty_membership.tier_since END "
            "FROM loyalty_tmp_tier t WHERE loyalty_membership.customer_id = t.customer_id",
            [now],
        )
        _fetch("DROP TABLE loyalty_tmp_tier")
    TierChange.objects.bulk_create(changes, 5_000)
    return len(changes)
