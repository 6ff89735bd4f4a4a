"""The set-based path: award every qualifying order not yet awarded, in one pass.

Used after a bulk import and by the demo load. The active rules are evaluated over numpy
columns of all orders at once with the semantics of ``rules.evaluate`` (``tests/
test_bulk.py`` runs mixed data through both paths and compares the ledgers); day
conditions are decided once per distinct local day by the very predicates of ``rules``.
The entries are written with INSERT … SELECT from a temporary table, then the clawbacks
of partial returns on the fresh lots, the expiry of lots already past their date, the
members' points and their tiers, all set-based. Anything unusual (a lot already spent,
a debt to settle) goes through the per-customer ``services.reconcile_customers``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings as django_settings
from django.db import connection, transaction

from ecrm.core import clock
from ecrm.loyalty import queries, rules, services
from ecrm.loyalty.models import Membership, PointsEntry, TierChange

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
    _pragma("PRAGMA cache_size=-524288")  # a big page cache for the big writes
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
    with transaction.atomic():
        data = _load(setup, customer_ids, result)
        result.seconds["load"] = time.perf_counter() - started
        if data is not None:
            t = time.perf_counter()
            points, detail = evaluate_columns(setup, data)
            result.seconds["evaluate"] = time.perf_counter() - t
            t = time.perf_counter()
            _write(setup, data, points, detail, result)
            result.seconds["write"] = time.perf_counter() - t
    progress(f"  loyalty: {result.awarded_orders:,} orders awarded {result.points:,} points")
    t = time.perf_counter()
    with transaction.atomic():
        _settle_unusual(setup, now)
        result.seconds["unusual"] = time.perf_counter() - t
        result.expired = expire_all(now)
        result.seconds["expire"] = time.perf_counter() - t - result.seconds["unusual"]
        _refresh_points()
        result.tier_changes = evaluate_tiers_all(setup, now)
    result.seconds["settle"] = time.perf_counter() - t


@dataclass
class Columns:
    order_id: np.ndarray
    customer: np.ndarray  # customer ids
    epoch: np.ndarray
    day: np.ndarray  # shop-local day numbers
    amount: np.ndarray  # ten-thousandths
    currency: np.ndarray  # object
    pending: np.ndarray  # bool: earning order not awarded yet
    returned: np.ndarray  # ten-thousandths returned on the order
    # per order, from its member
    tier: np.ndarray  # object
    special: np.ndarray
    birthday_month: np.ndarray  # 0 unknown
    joined_day: np.ndarray  # local day number of joining
    line_order: np.ndarray | None = None  # index into the orders
    line_sku: np.ndarray | None = None
    line_brand: np.ndarray | None = None
    line_category: np.ndarray | None = None
    line_amount: np.ndarray | None = None
    used: dict = field(default_factory=dict)  # (rule id, customer, period key) -> points


def _load(setup: queries.Setup, customer_ids, result: BulkResult) -> Columns | None:
    earning = sorted(setup.settings.earning_statuses)
    marks = ", ".join(["%s"] * len(earning))
    rows = _fetch(
        f"SELECT id, customer_id, {_epoch('placed_at')}, {_units('total')}, currency "
        f"FROM orders_order WHERE customer_id IS NOT NULL AND status IN ({marks}) "
        "ORDER BY customer_id, placed_at, id",
        earning,
    )
    if not rows:
        return None
    arr = np.array([r[:4] for r in rows], dtype=np.int64)
    currency = np.array([r[4] for r in rows], dtype=object)
    del rows
    order_id, customer, epoch, amount = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    if customer_ids is not None:
        keep = np.isin(customer, np.array(sorted(set(customer_ids)), dtype=np.int64))
        order_id, customer, epoch, amount, currency = (
            order_id[keep],
            customer[keep],
            epoch[keep],
            amount[keep],
            currency[keep],
        )
    # Rows come as each customer's orders oldest first (placed time, then id), as the
    # per-customer path sees them: the order of nth positions and caps.
    result.orders = len(order_id)
    if setup.settings.join == "first_order":
        after = np.ones(len(order_id), dtype=bool)
        if setup.settings.starts_on is not None:
            start = setup.settings.starts_on.toordinal() - EPOCH_DAY
            after = _local_days(epoch) >= start
        result.joined = _join_first_buyers(setup, order_id[after], customer[after])
    members = _fetch(
        f"SELECT m.customer_id, m.tier, m.special, {_epoch('m.joined_at')}, c.birthday "
        "FROM loyalty_membership m JOIN customers_customer c ON c.id = m.customer_id"
    )
    if not members:
        return None
    m_id = np.array([r[0] for r in members], dtype=np.int64)
    m_tier = np.array([r[1] for r in members], dtype=object)
    m_special = np.array([bool(r[2]) for r in members], dtype=bool)
    m_joined = _local_days(np.array([r[3] for r in members], dtype=np.int64))
    m_birth = np.array([_month(r[4]) for r in members], dtype=np.int64)
    del members
    sorter = np.argsort(m_id)
    m_id = m_id[sorter]
    pos = np.searchsorted(m_id, customer)
    pos[pos >= len(m_id)] = 0
    is_member = m_id[pos] == customer
    awarded = np.array(
        [
            int(r[0])
            for r in _fetch(
                "SELECT source_ref FROM loyalty_pointsentry WHERE source = 'order' "
                "AND kind = 'earn'"
            )
        ],
        dtype=np.int64,
    )
    day = _local_days(epoch)
    launched = np.ones(len(order_id), dtype=bool)
    if setup.settings.starts_on is not None:
        launched = day >= setup.settings.starts_on.toordinal() - EPOCH_DAY
    pending = is_member & launched & ~np.isin(order_id, awarded)
    returned = np.zeros(len(order_id), dtype=np.int64)
    ret = _fetch(
        f"SELECT order_id, SUM({_units('amount')}) FROM orders_return "
        "WHERE order_id IS NOT NULL GROUP BY order_id"
    )
    if ret:
        r = np.array(ret, dtype=np.int64)
        idx = np.argsort(order_id)
        at = np.searchsorted(order_id[idx], r[:, 0])
        at[at >= len(idx)] = 0
        ok = order_id[idx][at] == r[:, 0]
        returned[idx[at[ok]]] = r[ok, 1]
    p = sorter[pos]
    cols = Columns(
        order_id=order_id,
        customer=customer,
        epoch=epoch,
        day=day,
        amount=amount,
        currency=currency,
        pending=pending,
        returned=returned,
        tier=np.where(is_member, m_tier[p], ""),
        special=np.where(is_member, m_special[p], False),
        birthday_month=np.where(is_member, m_birth[p], 0),
        joined_day=np.where(is_member, m_joined[sorter][pos], 0),
    )
    if any(r.when.lines_filtered for r in setup.rules):
        _load_lines(cols, with_skus=any(r.when.products for r in setup.rules))
    if any(r.cap_points is not None for r in setup.rules):
        cols.used = _cap_usage(setup)
    return cols


def _month(value) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return int(value[5:7])
    return value.month


def _join_first_buyers(setup: queries.Setup, order_id, customer) -> int:
    """Members for customers whose first earning order made them one (as ``reconcile``)."""
    have = np.array(
        [r[0] for r in _fetch("SELECT customer_id FROM loyalty_membership")], dtype=np.int64
    )
    first = np.r_[True, customer[1:] != customer[:-1]]
    fresh = first & ~np.isin(customer, have)
    ids = order_id[fresh]
    if len(ids) == 0:
        return 0
    entry = setup.tiers[0].code if setup.tiers else ""
    joined = 0
    for start in range(0, len(ids), 50_000):
        chunk = ids[start : start + 50_000].tolist()
        _fetch("DROP TABLE IF EXISTS loyalty_tmp_ids")
        _fetch("CREATE TEMPORARY TABLE loyalty_tmp_ids (id BIGINT PRIMARY KEY)")
        _insert_many("loyalty_tmp_ids", ("id",), [(i,) for i in chunk])
        number = (
            "'M' || LPAD(CAST(o.customer_id AS TEXT), 9, '0')"
            if _pg()
            else "'M' || printf('%%09d', o.customer_id)"
        )
        has_employee = any(f.name == "employee" for f in _order_fields())
        employee = "o.employee" if has_employee else "''"
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO loyalty_membership (customer_id, number, joined_at, channel, "
                "recruited_by, store, tier, tier_since, below_since, special, points) "
                f"SELECT o.customer_id, {number}, o.placed_at, "
                f"CASE WHEN o.channel = '' THEN 'first_order' ELSE o.channel END, "
                f"{employee}, o.store, %s, "
                f"{'o.placed_at' if entry else 'NULL'}, NULL, %s, 0 "
                "FROM loyalty_tmp_ids t JOIN orders_order o ON o.id = t.id",
                [entry, False],
            )
            joined += cursor.rowcount
        _fetch("DROP TABLE loyalty_tmp_ids")
    return joined


def _order_fields():
    from ecrm.orders.models import Order

    return Order._meta.get_fields()


def _load_lines(cols: Columns, with_skus: bool) -> None:
    sku = "l.sku" if with_skus else "''"
    rows = _fetch(
        f"SELECT l.order_id, {_units('l.amount')}, COALESCE(p.category_id, 0), "
        f"COALESCE(p.brand_id, 0), {sku} FROM orders_orderline l "
        "LEFT JOIN catalog_product p ON p.id = l.product_id WHERE l.kind = 'product'"
    )
    numbers = np.array([r[:4] for r in rows], dtype=np.int64).reshape(-1, 4)
    idx = np.argsort(cols.order_id)
    line_order_id = numbers[:, 0]
    at = np.searchsorted(cols.order_id[idx], line_order_id)
    at[at >= len(idx)] = 0
    keep = cols.order_id[idx][at] == line_order_id
    cols.line_order = idx[at][keep]
    cols.line_amount = numbers[:, 1][keep]
    cols.line_category = numbers[:, 2][keep]
    cols.line_brand = numbers[:, 3][keep]
    cols.line_sku = np.array([r[4] for r in rows], dtype=object)[keep] if with_skus else None


def _cap_usage(setup: queries.Setup) -> dict:
    capped = {r.id: r for r in setup.rules if r.cap_points is not None}
    used: dict = {}
    for customer_id, at, detail in PointsEntry.objects.filter(kind="earn").values_list(
        "customer_id", "created_at", "detail"
    ):
        for item in (detail or {}).get("rules", ()):
            rule = capped.get(item.get("rule"))
            if rule is None:
                continue
            key = (rule.id, customer_id, rules.period_key(rule.cap_period, queries.local_day(at)))
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
    ancestry = None
    for rule in order_rules:
        w = rule.when
        fires = np.ones(n, dtype=bool)
        if w.amount is not None:
            if w.amount.lo is not None:
                fires &= amount >= rules.money_units(w.amount.lo)
            if w.amount.hi is not None:
                fires &= amount <= rules.money_units(w.amount.hi)
        if w.currencies:
            fires &= np.isin(c.currency[sel], list(w.currencies))
        if w.lines_filtered:
            if ancestry is None:
                ancestry = queries.category_ancestry()
            line_hit = np.zeros(len(c.line_order), dtype=bool)
            if w.products:
                line_hit |= np.isin(c.line_sku, list(w.products))
            if w.categories:
                wanted = [k for k, chain in ancestry.items() if chain & set(w.categories)]
                line_hit |= np.isin(c.line_category, wanted)
            if w.brands:
                line_hit |= np.isin(c.line_brand, _brand_ids(w.brands))
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
            fires &= np.isin(tiers, list(w.tiers))
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
    tier_factor = np.array([factors.get(t, 0) for t in tiers], dtype=np.int64)
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


def _insert_many(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 20_000):
            cursor.executemany(sql, rows[start : start + 20_000])


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
        values = matrix[which][:, at].T.tolist()
        ids = order_ids[at].tolist()
        pts = points[at].tolist()
        rows.extend((i, p, template % tuple(v)) for i, p, v in zip(ids, pts, values, strict=True))
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
        "CREATE TEMPORARY TABLE loyalty_tmp_award "
        "(order_id BIGINT PRIMARY KEY, points BIGINT, detail TEXT)"
    )
    _insert_many("loyalty_tmp_award", ("order_id", "points", "detail"), rows)
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
    _insert_many("loyalty_tmp_claw", ("ref", "points"), [(str(o), n) for o, n in rows])
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


def _settle_unusual(setup, now) -> None:
    """Customers whose ledger needs the careful path: outstanding debts, or orders that
    earned and were cancelled or refunded since."""
    owing = {
        r[0]
        for r in _fetch(
            "SELECT e.customer_id FROM loyalty_pointsentry e LEFT JOIN "
            "(SELECT debit_id, SUM(points) AS n FROM loyalty_pointsdebit GROUP BY debit_id) d "
            "ON d.debit_id = e.id WHERE e.points < 0 AND -e.points > COALESCE(d.n, 0)"
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
            "WHERE x.source = 'order' AND x.kind = 'clawback' AND x.source_ref = e.source_ref)",
            reversed_statuses,
        )
    }
    if owing | undone:
        services.reconcile_customers(sorted(owing | undone), now=now)


def expire_all(now: dt.datetime) -> int:
    """Expire, set-based, every lot past its date with points left."""
    taken = "(SELECT lot_id, SUM(points) AS n FROM loyalty_pointsdebit GROUP BY lot_id)"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO loyalty_pointsentry (customer_id, kind, points, source, source_ref, "
            "reason, detail, created_at, expires_at, actor_label) "
            "SELECT l.customer_id, 'expire', -(l.points - COALESCE(d.n, 0)), 'expiry', "
            f"CAST(l.id AS TEXT), '积分过期', {_json_param()}, l.expires_at, NULL, '' "
            f"FROM loyalty_pointsentry l LEFT JOIN {taken} d ON d.lot_id = l.id "
            "WHERE l.points > 0 AND l.expires_at IS NOT NULL AND l.expires_at <= %s "
            "AND l.points - COALESCE(d.n, 0) > 0",
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
        )
    return count


def _refresh_points() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE loyalty_membership SET points = COALESCE((SELECT SUM(e.points) "
            "FROM loyalty_pointsentry e WHERE e.customer_id = loyalty_membership.customer_id), 0)"
        )


def evaluate_tiers_all(setup: queries.Setup, now: dt.datetime) -> int:
    """Every member's tier by the rolling window, set-based: upgrade at once, downgrade
    after the grace period (``rules.decide_tier``)."""
    if not setup.tiers:
        return 0
    since = now - dt.timedelta(days=setup.settings.tier_window_days)
    if setup.settings.tier_metric == "points":
        measures = dict(
            _fetch(
                "SELECT customer_id, SUM(points) FROM loyalty_pointsentry "
                "WHERE kind IN ('earn', 'clawback') AND source IN "
                "('order', 'event', 'campaign', 'referral') AND created_at > %s "
                "AND created_at <= %s GROUP BY customer_id",
                [since, now],
            )
        )
    else:
        earning = sorted(setup.settings.earning_statuses)
        marks = ", ".join(["%s"] * len(earning))
        spent = _fetch(
            "SELECT o.customer_id, SUM(o.total) - COALESCE(SUM(r.amount), 0) "
            "FROM orders_order o LEFT JOIN (SELECT order_id, SUM(amount) AS amount "
            "FROM orders_return WHERE order_id IS NOT NULL GROUP BY order_id) r "
            "ON r.order_id = o.id "
            f"WHERE o.status IN ({marks}) AND o.placed_at > %s AND o.placed_at <= %s "
            "AND o.customer_id IS NOT NULL GROUP BY o.customer_id",
            [*earning, since, now],
        )
        measures = {cid: v for cid, v in spent}
    changes = []
    updates = []
    for customer_id, tier, below in Membership.objects.values_list(
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
        _fetch("DROP TABLE IF EXISTS loyalty_tmp_tier")
        _fetch(
            "CREATE TEMPORARY TABLE loyalty_tmp_tier (customer_id BIGINT PRIMARY KEY, "
            "tier VARCHAR(40), changed INTEGER, below_since TIMESTAMP NULL)"
        )
        _insert_many("loyalty_tmp_tier", ("customer_id", "tier", "changed", "below_since"), updates)
        _fetch(
            "UPDATE loyalty_membership SET tier = t.tier, below_since = t.below_since, "
            "tier_since = CASE WHEN t.changed = 1 THEN %s ELSE loyalty_membership.tier_since END "
            "FROM loyalty_tmp_tier t WHERE loyalty_membership.customer_id = t.customer_id",
            [now],
        )
        _fetch("DROP TABLE loyalty_tmp_tier")
    TierChange.objects.bulk_create(changes, 5_000)
    return len(changes)
