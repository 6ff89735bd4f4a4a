"""Writes of the analytics read model: the full rebuild and the per-customer refresh.

The model is a read model over the orders, returns, contacts, catalog, customers, figures
and events tables (like the figures domain); it is never edited by hand.

* facts (``Fact``, ``ItemFact``) are rewritten per customer: one row per order, return and
  contact, and per (order, category node);
* cube cells (``Cell``) and activity cells (``ActivityCell``) hold only additive sums, so a
  refresh subtracts the sums of a customer's old facts, rewrites the facts and adds the sums
  of the new ones — work in proportion to what changed;
* ``rebuild()`` (``ecrm analytics rebuild``, nightly, and after a bulk import) writes
  everything from scratch with the same statements over every customer. Tests assert that
  the two paths give the same cells.

Guest orders (no customer) are refreshed as one group, ``GUESTS``, by imports and rebuilds.
The member snapshot (``MemberCell``) is rebuilt with the rest, not per customer.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from ecrm.analytics import dialect as sql
from ecrm.analytics import rules
from ecrm.analytics.models import (
    Activity,
    ActivityCell,
    CategoryPath,
    Cell,
    CustomerCell,
    Fact,
    ItemFact,
    MemberCell,
    Pending,
    Snapshot,
)
from ecrm.catalog.models import Category, Product
from ecrm.contacts.models import Contact
from ecrm.core import clock
from ecrm.customers.models import Customer
from ecrm.events.models import Event
from ecrm.figures.models import CustomerFigures
from ecrm.orders.models import Order, OrderLine, OrderStatus, Return, ReturnLine
from ecrm.staff.models import Department, StaffProfile

CHUNK = 500
ALL_CATEGORIES = rules.ALL_CATEGORIES

T = {
    "fact": Fact._meta.db_table,
    "item": ItemFact._meta.db_table,
    "cell": Cell._meta.db_table,
    "custcell": CustomerCell._meta.db_table,
    "act": Activity._meta.db_table,
    "actcell": ActivityCell._meta.db_table,
    "member": MemberCell._meta.db_table,
    "path": CategoryPath._meta.db_table,
    "order": Order._meta.db_table,
    "line": OrderLine._meta.db_table,
    "ret": Return._meta.db_table,
    "retline": ReturnLine._meta.db_table,
    "prod": Product._meta.db_table,
    "contact": Contact._meta.db_table,
    "cust": Customer._meta.db_table,
    "event": Event._meta.db_table,
    "fig": CustomerFigures._meta.db_table,
    "user": get_user_model()._meta.db_table,
    "profile": StaffProfile._meta.db_table,
    "dept": Department._meta.db_table,
}
CANCELLED = OrderStatus.CANCELLED.value
FACT_COLUMNS = (
    "kind, source_id, customer_id, day, country, region, city, channel, department, store, "
    "employee, currency, orders, new_customers, revenue, discount, shipping, line_sales, "
    "costed_sales, cost, quantity, returned, contacts"
)
ITEM_COLUMNS = (
    "kind, source_id, customer_id, day, category_id, country, region, city, channel, "
    "department, store, employee, currency, orders, line_sales, costed_sales, cost, quantity, "
    "returned"
)
MONEY = {"revenue", "discount", "shipping", "line_sales", "costed_sales", "cost", "returned"}


class Scope:
    """Which customers a statement touches: all, a list of ids, or the guest orders."""

    def __init__(self, ids: list[int] | None = None, guests: bool = False):
        self.ids = ids
        self.guests = guests

    def on(self, column: str) -> tuple[str, list]:
        if self.guests:
            return f"{column} IS NULL", []
        if self.ids is None:
            return "1 = 1", []
        return f"{column} IN ({', '.join(['%s'] * len(self.ids))})", list(self.ids)


# ---------------------------------------------------------------------------------------
# Category tree


def refresh_category_paths() -> int:
    """Rewrite the closure of the category tree (cheap: categories are few)."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    rows = [
        CategoryPath(category_id=0, ancestor_id=0, depth=0),
        CategoryPath(category_id=0, ancestor_id=ALL_CATEGORIES, depth=1),
    ]
    for category_id in parents:
        seen = set()
        node, depth = category_id, 0
        while node is not None and node not in seen:  # a cycle stops at its first repeat
            seen.add(node)
            rows.append(CategoryPath(category_id=category_id, ancestor_id=node, depth=depth))
            node, depth = parents.get(node), depth + 1
        rows.append(CategoryPath(category_id=category_id, ancestor_id=ALL_CATEGORIES, depth=depth))
    CategoryPath.objects.all().delete()
    CategoryPath.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _category_paths_current() -> bool:
    have = CategoryPath.objects.filter(depth=0).count()
    return have == Category.objects.count() + 1


# ---------------------------------------------------------------------------------------
# Facts


def _line_sums(alias: str = "ol", product: str = "p") -> str:
    return f"""SUM({alias}.amount),
        SUM(CASE WHEN {product}.cost > 0 THEN {alias}.amount ELSE 0 END),
        SUM(CASE WHEN {product}.cost > 0 THEN {alias}.quantity * {product}.cost
            ELSE 0 END),
        SUM({alias}.quantity)"""


def _insert_facts(cursor, scope: Scope) -> None:
    o_scope, o_params = scope.on("o.customer_id")
    oo_scope, oo_params = scope.on("oo.customer_id")
    r_scope, r_params = scope.on("r.customer_id")
    c_scope, c_params = scope.on("c.customer_id")
    day = sql.local_day
    cursor.execute(
        f"""
        INSERT INTO {T["fact"]} ({FACT_COLUMNS})
        SELECT 'o', o.id, o.customer_id, {day("o.placed_at")}, o.country, o.region, o.city,
            o.channel, o.department, o.store, o.employee, o.currency, 1,
            CASE WHEN o.customer_id IS NOT NULL AND ROW_NUMBER() OVER (
                PARTITION BY o.customer_id ORDER BY o.placed_at, o.id) = 1 THEN 1 ELSE 0 END,
            o.total, o.discount, o.shipping, COALESCE(l.sales, 0), COALESCE(l.costed, 0),
            COALESCE(l.cost, 0), COALESCE(l.qty, 0), 0, 0
        FROM {T["order"]} o
        LEFT JOIN (
            SELECT ol.order_id, SUM(ol.amount) AS sales,
                SUM(CASE WHEN p.cost > 0 THEN ol.amount ELSE 0 END) AS costed,
                SUM(CASE WHEN p.cost > 0 THEN ol.quantity * p.cost ELSE 0 END) AS cost,
                SUM(ol.quantity) AS qty
            FROM {T["line"]} ol
            JOIN {T["order"]} oo ON oo.id = ol.order_id
            LEFT JOIN {T["prod"]} p ON p.id = ol.product_id
            WHERE ol.kind = 'product' AND oo.status <> '{CANCELLED}' AND {oo_scope}
            GROUP BY ol.order_id) l ON l.order_id = o.id
        WHERE o.status <> '{CANCELLED}' AND {o_scope}
        """,
        oo_params + o_params,
    )
    cursor.execute(
        f"""
        INSERT INTO {T["fact"]} ({FACT_COLUMNS})
        SELECT 'r', r.id, r.customer_id, {day("r.returned_at")}, COALESCE(o.country, ''),
            COALESCE(o.region, ''), COALESCE(o.city, ''), COALESCE(o.channel, ''),
            COALESCE(o.department, ''), COALESCE(o.store, ''), COALESCE(o.employee, ''),
            r.currency, 0, 0, 0, 0, 0, 0, 0, 0, 0, r.amount, 0
        FROM {T["ret"]} r LEFT JOIN {T["order"]} o ON o.id = r.order_id
        WHERE {r_scope}
        """,
        r_params,
    )
    if scope.guests:  # every contact belongs to a customer
        return
    cursor.execute(
        f"""
        INSERT INTO {T["fact"]} ({FACT_COLUMNS})
        SELECT 'c', c.id, c.customer_id, {day("c.occurred_at")}, cu.country, cu.province,
            cu.city, c.channel, COALESCE(d.name, ''), '', COALESCE(u.username, ''), '',
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
        FROM {T["contact"]} c
        JOIN {T["cust"]} cu ON cu.id = c.customer_id
        LEFT JOIN {T["user"]} u ON u.id = c.employee_id
        LEFT JOIN {T["profile"]} sp ON sp.user_id = c.employee_id
        LEFT JOIN {T["dept"]} d ON d.id = sp.department_id
        WHERE {c_scope}
        """,
        c_params,
    )


def _insert_items(cursor, scope: Scope) -> None:
    o_scope, o_params = scope.on("o.customer_id")
    r_scope, r_params = scope.on("r.customer_id")
    day = sql.local_day
    cursor.execute(
        f"""
        INSERT INTO {T["item"]} ({ITEM_COLUMNS})
        SELECT 'o', o.id, o.customer_id, {day("o.placed_at")}, cp.ancestor_id, o.country,
            o.region, o.city, o.channel, o.department, o.store, o.employee, o.currency, 1,
            {_line_sums()}, 0
        FROM {T["line"]} ol
        JOIN {T["order"]} o ON o.id = ol.order_id
        LEFT JOIN {T["prod"]} p ON p.id = ol.product_id
        JOIN {T["path"]} cp ON cp.category_id = COALESCE(p.category_id, 0)
        WHERE ol.kind = 'product' AND o.status <> '{CANCELLED}' AND {o_scope}
        GROUP BY o.id, cp.ancestor_id
        """,
        o_params,
    )
    cursor.execute(
        f"""
        INSERT INTO {T["item"]} ({ITEM_COLUMNS})
        SELECT 'r', r.id, r.customer_id, {day("r.returned_at")}, cp.ancestor_id,
            COALESCE(o.country, ''), COALESCE(o.region, ''), COALESCE(o.city, ''),
            COALESCE(o.channel, ''), COALESCE(o.department, ''), COALESCE(o.store, ''),
            COALESCE(o.employee, ''), r.currency, 0, 0, 0, 0, 0, SUM(rl.amount)
        FROM {T["retline"]} rl
        JOIN {T["ret"]} r ON r.id = rl.ret_id
        LEFT JOIN {T["order"]} o ON o.id = r.order_id
        LEFT JOIN {T["prod"]} p ON p.id = rl.product_id
        JOIN {T["path"]} cp ON cp.category_id = COALESCE(p.category_id, 0)
        WHERE rl.kind = 'product' AND {r_scope}
        GROUP BY r.id, o.id, cp.ancestor_id
        """,
        r_params,
    )


# ---------------------------------------------------------------------------------------
# Cube cells


def _signed_sum(column: str, sign: int) -> str:
    if column in MONEY:
        return f"ROUND(SUM({column}), 4) * {sign}"
    return f"SUM({column}) * {sign}"


def _add_cells(cursor, cube: rules.Cube, scope: Scope, sign: int) -> None:
    """Add (sign 1) or subtract (sign -1) the sums of the scope's facts into a cube."""
    table = T["item"] if cube.source == "item" else T["fact"]
    sums = rules.ITEM_SUMS if cube.source == "item" else rules.FACT_SUMS
    keys = []
    for column in rules.CELL_COLUMNS:
        level = "category" if column == "category_id" else column
        if level in cube.levels:
            keys.append(column)
        else:
            keys.append("0" if column == "category_id" else "''")
    where, params = scope.on("customer_id")
    money_set = ", ".join(
        f"{m} = ROUND({T['cell']}.{m} + excluded.{m}, 4)"
        if m in rules.FACT_SUMS and m in MONEY
        else f"{m} = {T['cell']}.{m} + excluded.{m}"
        for m in sums
    )
    cursor.execute(
        f"""
        INSERT INTO {T["cell"]} (cube, period, {", ".join(rules.CELL_COLUMNS)},
            {", ".join(rules.FACT_SUMS)})
        SELECT {cube.id}, {sql.start_of(cube.grain, "day")}, {", ".join(keys)},
            {", ".join(_signed_sum(m, sign) if m in sums else "0" for m in rules.FACT_SUMS)}
        FROM {table}
        WHERE {where}
        GROUP BY {", ".join(str(i) for i in range(2, 3 + len(keys)))}
        ON CONFLICT (cube, period, {", ".join(rules.CELL_COLUMNS)}) DO UPDATE SET {money_set}
        """,
        params,
    )


def _cells_from_cube(cursor, cube: rules.Cube, base: rules.Cube) -> None:
    """A full rebuild derives a cube from a finer one already built (fewer rows to group)."""
    keys = []
    for column in rules.CELL_COLUMNS:
        level = "category" if column == "category_id" else column
        if level in cube.levels:
            keys.append(column)
        else:
            keys.append("0" if column == "category_id" else "''")
    period = sql.start_of(cube.grain, "period")
    cursor.execute(
        f"""
        INSERT INTO {T["cell"]} (cube, period, {", ".join(rules.CELL_COLUMNS)},
            {", ".join(rules.FACT_SUMS)})
        SELECT {cube.id}, {period}, {", ".join(keys)},
            {
            ", ".join(f"ROUND(SUM({m}), 4)" if m in MONEY else f"SUM({m})" for m in rules.FACT_SUMS)
        }
        FROM {T["cell"]} WHERE cube = {base.id}
        GROUP BY {", ".join(str(i) for i in range(2, 3 + len(keys)))}
        """
    )


def _build_cells(cursor) -> None:
    """Every cube from scratch: the largest from the facts, each smaller one from the
    smallest already built cube that keeps its levels at its grain or finer."""
    built: list[rules.Cube] = []
    for cube in sorted(rules.CUBES, key=lambda c: -len(c.levels)):
        bases = [
            b
            for b in built
            if b.source == cube.source
            and cube.levels <= b.levels
            and (b.grain == "day" or cube.grain == "month")
        ]
        if bases:
            _cells_from_cube(cursor, cube, min(bases, key=lambda b: len(b.levels)))
        else:
            _add_cells(cursor, cube, Scope(), 1)
        built.append(cube)


_ZERO_CELL = " AND ".join(f"{m} = 0" for m in rules.FACT_SUMS)


def _drop_empty_cells(cursor, days: set) -> None:
    """Cells whose every sum went back to zero, in the periods a refresh touched."""
    if not days:
        return
    periods: set = set()
    for day in days:
        periods.add(day)
        periods.add(rules.month_start(day))
    adapt = connection.ops.adapt_datefield_value
    values = sorted(adapt(p) for p in periods)
    # The cube list lets both databases seek the cell key's (cube, period) prefix instead of
    # reading every cell (a scan of 200,000 cells at a million customers: 70-110 ms).
    cubes = ", ".join(str(cube.id) for cube in rules.CUBES)
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        cursor.execute(
            f"DELETE FROM {T['cell']} WHERE cube IN ({cubes}) "
            f"AND period IN ({', '.join(['%s'] * len(chunk))}) AND {_ZERO_CELL}",
            chunk,
        )


# ---------------------------------------------------------------------------------------
# Distinct customers per customer path, grain and period


def _path_keys(path: rules.CustomerPath) -> list[str]:
    """The cell's key columns as the path keeps them ('' / 0 for the others)."""
    keys = []
    for column in rules.CELL_COLUMNS:
        level = "category" if column == "category_id" else column
        if level in path.levels or column == "currency":
            keys.append(column)
        else:
            keys.append("0" if column == "category_id" else "''")
    return keys


def _grain_period(grain: str, day: str) -> str:
    if grain == "a":
        return f"'{rules.ALL_TIME.isoformat()}'"
    return sql.start_of(rules.ACTIVITY_GRAINS[grain], day)


def _add_customer_cells(cursor, scope: Scope, sign: int) -> None:
    """Add (sign 1) or take away (sign -1) the scope's customers in every customer cell
    their order facts count them in: one statement per path, its four grains at once."""
    if scope.guests:
        return  # guest orders have no customer to count
    where, params = scope.on("f.customer_id")
    table = T["custcell"]
    columns = ", ".join(rules.CELL_COLUMNS)
    grains = ("m", "q", "y", "a")
    period = (
        "CASE g.column1 "
        + " ".join(f"WHEN '{g}' THEN {_grain_period(g, 'f.day')}" for g in grains)
        + " END"
    )
    for path in rules.CUSTOMER_PATHS:
        source = T["item"] if path.source == "item" else T["fact"]
        keys = ", ".join(k if k in ("0", "''") else f"f.{k}" for k in _path_keys(path))
        values = ", ".join(f"('{g}')" for g in grains)
        cursor.execute(
            f"""
            INSERT INTO {table} (path, grain, period, {columns}, customers)
            SELECT {path.id}, g.column1, {period}, {keys},
                COUNT(DISTINCT f.customer_id) * {sign}
            FROM {source} f CROSS JOIN (VALUES {values}) g
            WHERE f.kind = 'o' AND f.customer_id IS NOT NULL AND {where}
            GROUP BY 2, 3, {", ".join(str(i) for i in range(4, 4 + len(rules.CELL_COLUMNS)))}
            ON CONFLICT (path, grain, period, {columns})
            DO UPDATE SET customers = {table}.customers + excluded.customers
            """,
            params,
        )


def _drop_empty_customer_cells(cursor) -> None:
    cursor.execute(f"DELETE FROM {T['custcell']} WHERE customers = 0")


def _codes(values, lookup: dict) -> np.ndarray:
    """Dictionary codes of a column of values (the lookup grows with new values)."""
    return np.fromiter(
        (lookup.setdefault(v, len(lookup)) for v in values), dtype=np.int64, count=len(values)
    )


def _compact(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values and each row's index among them."""
    return np.unique(codes, return_inverse=True)


def _sorted_distinct(values: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def _distinct_counts(groups: np.ndarray, n_groups: int, customers: np.ndarray) -> np.ndarray:
    """Distinct customers per group (groups and customers as compact indexes)."""
    if not len(groups):
        return np.zeros(n_groups, dtype=np.int64)
    n_customers = int(customers.max()) + 1
    if n_groups * n_customers < 2**62:
        pairs = _sorted_distinct(groups * n_customers + customers)
        return np.bincount(pairs // n_customers, minlength=n_groups)
    order = np.lexsort((customers, groups))
    g, c = groups[order], customers[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = (g[1:] != g[:-1]) | (c[1:] != c[:-1])
    return np.bincount(g[first], minlength=n_groups)


# What the rebuild reads of the order facts per source: columns read together as one text
# (joined by a separator) are split again in Python, once per distinct value.
_READ = {
    "fact": (
        ("country", "region", "city"),
        ("channel",),
        ("department", "store", "employee"),
        ("currency",),
    ),  # fmt: skip
    "item": (("category_id",), ("currency",)),
}
_SEPARATOR = "\x1f"


def _read_order_facts(source: str) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """Customers, months (YYYYMM) and each cell column as dictionary codes, for every
    order fact of a customer: one read, in chunks."""
    groups = _READ[source]
    selects = [
        (" || " + sql.char(0x1F) + " || ").join(group) if len(group) > 1 else group[0]
        for group in groups
    ]
    lookups: list[dict] = [{} for _ in groups]
    customers, months = [], []
    codes: list[list[np.ndarray]] = [[] for _ in groups]
    with connection.chunked_cursor() as reader:
        reader.execute(
            f"SELECT customer_id, {sql.month_number('day')}, {', '.join(selects)} "
            f"FROM {T[source]} WHERE kind = 'o' AND customer_id IS NOT NULL"
        )
        while chunk := reader.fetchmany(100_000):
            cols = list(zip(*chunk, strict=True))
            customers.append(np.fromiter(cols[0], dtype=np.int64, count=len(chunk)))
            months.append(np.fromiter(cols[1], dtype=np.int64, count=len(chunk)))
            for i, (group, lookup) in enumerate(zip(groups, lookups, strict=True)):
                if group == ("category_id",):  # already a number: kept as it is
                    codes[i].append(np.fromiter(cols[i + 2], dtype=np.int64, count=len(chunk)))
                else:
                    codes[i].append(_codes(cols[i + 2], lookup))
    if not customers:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), {}, {}
    data, values = {}, {}
    for group, lookup, parts in zip(groups, lookups, codes, strict=True):
        joined = np.concatenate(parts)
        if group == ("category_id",):
            distinct, data["category_id"] = _compact(joined)
            values["category_id"] = [int(v) for v in distinct]
            continue
        texts = list(lookup)  # code -> value
        for j, column in enumerate(group):
            parts_of = [str(t).split(_SEPARATOR)[j] if len(group) > 1 else t for t in texts]
            column_lookup: dict = {}
            mapping = _codes(parts_of, column_lookup)
            data[column] = mapping[joined]
            values[column] = list(column_lookup)
    return np.concatenate(customers), np.concatenate(months), data, values


def _build_customer_cells(cursor) -> int:
    """Every customer cell from scratch. Counting distinct customers per cell in SQL sorts
    every order fact once per path and grain; instead the order facts are read once per
    source (dimension values as dictionary codes) and counted with numpy, exactly."""
    rows_out: list[tuple] = []
    for source in ("fact", "item"):
        paths = [p for p in rules.CUSTOMER_PATHS if p.source == source]
        customer_ids, month, data, values = _read_order_facts(source)
        if not len(customer_ids):
            continue
        _, customers = _compact(customer_ids)
        year, month_of_year = month // 100, month % 100
        periods = {
            "m": month,
            "q": year * 100 + (month_of_year - 1) // 3 * 3 + 1,
            "y": year * 100 + 1,
            "a": np.zeros(len(month), dtype=np.int64),
        }
        compact_periods = {grain: _compact(period) for grain, period in periods.items()}
        for path in paths:
            kept = [c for c in data if c == "currency" or
                    ("category" if c == "category_id" else c) in path.levels]  # fmt: skip
            key, bound = np.zeros(len(customers), dtype=np.int64), 1
            for c in kept:
                key, bound = key * len(values[c]) + data[c], bound * len(values[c])
                if bound > 2**40:  # keep the combined code small
                    distinct, key = _compact(key)
                    bound = len(distinct)
            distinct_keys, key = _compact(key)
            # A row of each key, to read the key's values back from its codes.
            first_row = np.zeros(len(distinct_keys), dtype=np.int64)
            first_row[key] = np.arange(len(key))
            n_keys = len(distinct_keys)
            for grain, (distinct_periods, period_index) in compact_periods.items():
                groups = period_index * n_keys + key
                counts = _distinct_counts(groups, len(distinct_periods) * n_keys, customers)
                for g in np.flatnonzero(counts):
                    p_code = int(distinct_periods[g // n_keys])
                    row = int(first_row[g % n_keys])
                    day = (
                        rules.ALL_TIME if grain == "a"
                        else dt.date(p_code // 100, p_code % 100, 1)
                    )  # fmt: skip
                    cells = {c: values[c][int(data[c][row])] for c in kept}
                    rows_out.append(
                        (path.id, grain, connection.ops.adapt_datefield_value(day))
                        + tuple(
                            cells.get(c, 0 if c == "category_id" else "")
                            for c in rules.CELL_COLUMNS
                        )  # fmt: skip
                        + (int(counts[g]),)
                    )
    columns_sql = ", ".join(rules.CELL_COLUMNS)
    placeholders = ", ".join(["%s"] * (4 + len(rules.CELL_COLUMNS)))
    for start in range(0, len(rows_out), 5_000):
        cursor.executemany(
            f"INSERT INTO {T['custcell']} (path, grain, period, {columns_sql}, customers) "
            f"VALUES ({placeholders})",
            rows_out[start : start + 5_000],
        )
    return len(rows_out)


# ---------------------------------------------------------------------------------------
# Activity: per customer and month / quarter / year, then cells per period and cohort


def _insert_activity(cursor, scope: Scope) -> None:
    e_scope, e_params = scope.on("e.customer_id")
    f_scope, f_params = scope.on("f.customer_id")
    fo_scope, fo_params = scope.on("customer_id")
    month = sql.start_of("month", sql.local_day('e."timestamp"'))
    f_month = sql.start_of("month", "f.day")
    flag = rules.FLAG

    def names(stage: str) -> str:
        return ", ".join("'" + n.replace("'", "''") + "'" for n in rules.FUNNEL_EVENTS[stage])

    events = f"{T['event']} e"
    if scope.ids is None and not scope.guests:
        events = sql.covering_scan(cursor, T["event"], "e", "event_segment_idx")

    cursor.execute(
        f"""
        INSERT INTO {T["act"]} (customer_id, grain, period, cohort, flags, orders, revenue)
        SELECT g.customer_id, 'm', g.period, COALESCE(fo.cohort, 0), g.flags, g.orders, g.revenue
        FROM (
            SELECT x.customer_id, x.period,
                MAX(x.f1) + MAX(x.f2) + MAX(x.f3) + MAX(x.f4) + MAX(x.f5) + MAX(x.f6)
                    + MAX(x.f7) AS flags,
                SUM(x.orders) AS orders, SUM(x.revenue) AS revenue
            FROM (
                SELECT e.customer_id, {month} AS period, {flag["visit"]} AS f1,
                    CASE WHEN e.name IN ({names("view")}) THEN {flag["view"]} ELSE 0 END AS f2,
                    CASE WHEN e.name IN ({names("cart")}) THEN {flag["cart"]} ELSE 0 END AS f3,
                    CASE WHEN e.name IN ({names("checkout")}) THEN {flag["checkout"]} ELSE 0
                        END AS f4,
                    0 AS f5, 0 AS f6, 0 AS f7, 0 AS orders, 0 AS revenue
                FROM {events} WHERE e.customer_id IS NOT NULL AND {e_scope}
                UNION ALL
                SELECT f.customer_id, {f_month}, {flag["visit"]}, 0, 0, 0, {flag["buy"]},
                    CASE WHEN f.new_customers = 0 THEN {flag["repeat"]} ELSE 0 END,
                    CASE WHEN f.new_customers = 1 THEN {flag["first"]} ELSE 0 END, 1, f.revenue
                FROM {T["fact"]} f
                WHERE f.kind = 'o' AND f.customer_id IS NOT NULL AND {f_scope}
            ) x
            GROUP BY x.customer_id, x.period
        ) g
        LEFT JOIN (
            SELECT customer_id, MIN({sql.month_number("day")}) AS cohort FROM {T["fact"]}
            WHERE kind = 'o' AND new_customers = 1 AND {fo_scope}
            GROUP BY customer_id
        ) fo ON fo.customer_id = g.customer_id
        """,
        e_params + f_params + fo_params,
    )
    a_scope, a_params = scope.on("customer_id")
    bits = " + ".join(f"MAX(flags & {bit})" for bit in rules.FLAG.values())
    for grain, level in (("q", "quarter"), ("y", "year")):
        period = sql.start_of(level, "period")
        cursor.execute(
            f"""
            INSERT INTO {T["act"]} (customer_id, grain, period, cohort, flags, orders, revenue)
            SELECT customer_id, '{grain}', {period}, cohort, {bits}, SUM(orders), SUM(revenue)
            FROM {T["act"]} WHERE grain = 'm' AND {a_scope}
            GROUP BY customer_id, {period}, cohort
            """,
            a_params,
        )


_ACTIVITY_COUNTS = (
    ("visitors", "visit"),
    ("viewers", "view"),
    ("carters", "cart"),
    ("checkouts", "checkout"),
    ("buyers", "buy"),
    ("repeat_buyers", "repeat"),
    ("new_buyers", "first"),
)


def _add_activity_cells(cursor, scope: Scope, sign: int) -> None:
    where, params = scope.on("customer_id")
    counts = ", ".join(
        f"SUM(CASE WHEN (flags & {rules.FLAG[flag]}) <> 0 THEN 1 ELSE 0 END) * {sign}"
        for _, flag in _ACTIVITY_COUNTS
    )
    columns = [c for c, _ in _ACTIVITY_COUNTS] + ["orders"]
    table = T["actcell"]
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    cursor.execute(
        f"""
        INSERT INTO {table} (grain, period, cohort, {", ".join(columns)}, revenue)
        SELECT grain, period, cohort, {counts}, SUM(orders) * {sign}, SUM(revenue) * {sign}
        FROM {T["act"]} WHERE {where}
        GROUP BY grain, period, cohort
        ON CONFLICT (grain, period, cohort) DO UPDATE SET {updates},
            revenue = ROUND({table}.revenue + excluded.revenue, 4)
        """,
        params,
    )


def _drop_empty_activity_cells(cursor) -> None:
    zero = " AND ".join(f"{c} = 0" for c, _ in _ACTIVITY_COUNTS)
    cursor.execute(f"DELETE FROM {T['actcell']} WHERE {zero} AND orders = 0")


# ---------------------------------------------------------------------------------------
# Members


def _member_rows(cursor) -> list[dict]:
    """The member snapshot's rows, counted by one read over customers and their figures."""
    now = clock.now()
    adapt = connection.ops.adapt_datetimefield_value
    active = adapt(now - dt.timedelta(days=rules.ACTIVE_DAYS))
    recent = adapt(now - dt.timedelta(days=rules.RECENT_DAYS))
    status = """CASE WHEN f.last_seen_at IS NULL THEN 'never'
        WHEN f.last_seen_at >= %s THEN 'active'
        WHEN f.last_seen_at >= %s THEN 'recent' ELSE 'lapsed' END"""
    registered = sql.month_number(sql.local_day("COALESCE(c.registered_at, c.created_at)"))
    base = f"""FROM {T["cust"]} c LEFT JOIN {T["fig"]} f ON f.customer_id = c.id
        WHERE c.merged_into_id IS NULL"""
    rows = []
    cursor.execute(
        f"""SELECT {registered}, c.registration_channel, c.is_anonymous, {status}, COUNT(*)
        {base} GROUP BY 1, 2, 3, 4""",
        [active, recent],
    )
    for registered_month, channel, anonymous, state, n in cursor.fetchall():
        rows.append(dict(view=1, registered=registered_month or 0, channel=channel,
                         anonymous=bool(anonymous), status=state, customers=n))  # fmt: skip
    cursor.execute(
        f"""SELECT c.country, c.province, c.city, c.is_anonymous, {status}, COUNT(*)
        {base} GROUP BY 1, 2, 3, 4, 5""",
        [active, recent],
    )
    for country, region, city, anonymous, state, n in cursor.fetchall():
        rows.append(dict(view=2, country=country, region=region, city=city,
                         anonymous=bool(anonymous), status=state, customers=n))  # fmt: skip
    return rows


def _rebuild_members(cursor) -> None:
    rows = _member_rows(cursor)
    MemberCell.objects.all().delete()
    MemberCell.objects.bulk_create([MemberCell(**row) for row in rows], batch_size=1000)


def _analyze(cursor) -> None:
    """Planner statistics for the new tables, so date filters and the distinct-customer
    indexes are chosen well."""
    if not sql.is_postgres():
        cursor.execute("PRAGMA analysis_limit=1000")  # sampled: seconds, not minutes
    for table in ("fact", "item", "cell", "act", "actcell", "custcell"):
        cursor.execute(f"ANALYZE {T[table]}")


def _note(part: str, seconds: float, rows: int) -> None:
    Snapshot.objects.update_or_create(
        part=part, defaults={"built_at": clock.now(), "seconds": seconds, "rows": rows}
    )


# ---------------------------------------------------------------------------------------
# Entry points


def _adopt_moved_facts(cursor, scope: Scope) -> None:
    """Facts of orders and returns that now belong to the scope's customers but were
    written as guest orders (or for a customer the scope holds) join the scope, so they are
    subtracted and rewritten with it. Cube cells do not depend on the customer, so this
    changes no sum; customers who held such facts are in the scope already
    (``_with_previous_owners``)."""
    sources = (("o", T["order"]), ("r", T["ret"]), ("c", T["contact"]))
    for table in (T["fact"], T["item"]):
        for kind, source in sources:
            if table == T["item"] and kind == "c":
                continue
            inner, inner_params = scope.on("s.customer_id")
            outer, outer_params = scope.on(f"{table}.customer_id")
            cursor.execute(
                f"""
                UPDATE {table} SET customer_id = (
                    SELECT s.customer_id FROM {source} s WHERE s.id = {table}.source_id)
                WHERE kind = '{kind}' AND source_id IN (
                    SELECT s.id FROM {source} s WHERE {inner})
                AND ({table}.customer_id IS NULL OR NOT ({outer}))
                """,
                inner_params + outer_params,
            )


def _with_merged(ids: list[int]) -> list[int]:
    """The ids and the tombstones merged into them (their activity has moved too)."""
    merged = []
    for start in range(0, len(ids), CHUNK):
        merged += Customer.objects.filter(
            merged_into_id__in=ids[start : start + CHUNK]
        ).values_list("id", flat=True)
    return sorted(set(ids) | set(merged))


def _with_previous_owners(cursor, scope: Scope) -> Scope:
    """The scope and the customers whose facts hold orders, returns or contacts that now
    belong to the scope (a merge, a corrected import): their distinct-customer counts and
    activity change too, so they are refreshed with it."""
    owners: set[int] = set()
    for kind, source in (("o", T["order"]), ("r", T["ret"]), ("c", T["contact"])):
        inner, inner_params = scope.on("s.customer_id")
        outer, outer_params = scope.on("f.customer_id")
        cursor.execute(
            f"""
            SELECT DISTINCT f.customer_id FROM {T["fact"]} f
            WHERE f.kind = '{kind}' AND f.source_id IN (
                SELECT s.id FROM {source} s WHERE {inner})
            AND f.customer_id IS NOT NULL AND NOT ({outer})
            """,
            inner_params + outer_params,
        )
        owners |= {row[0] for row in cursor.fetchall()}
    if not owners:
        return scope
    return Scope(sorted(set(scope.ids) | owners))


def _refresh_scope(cursor, scope: Scope) -> set:
    """Subtract the scope's old sums, rewrite its facts and activity, add the new sums;
    returns the days whose cells may have emptied."""
    if not scope.guests:
        scope = _with_previous_owners(cursor, scope)
        # Before guest facts join the scope: the counts hold the customers as they were.
        _add_customer_cells(cursor, scope, -1)
        _adopt_moved_facts(cursor, scope)
    where, params = scope.on("customer_id")
    cursor.execute(f"SELECT DISTINCT day FROM {T['fact']} WHERE {where}", params)
    days = {_as_date(row[0]) for row in cursor.fetchall()}
    for cube in rules.CUBES:
        _add_cells(cursor, cube, scope, -1)
    _add_activity_cells(cursor, scope, -1)
    for table in ("fact", "item", "act"):
        cursor.execute(f"DELETE FROM {T[table]} WHERE {where}", params)
    _insert_facts(cursor, scope)
    _insert_items(cursor, scope)
    if not scope.guests:
        _insert_activity(cursor, scope)
    for cube in rules.CUBES:
        _add_cells(cursor, cube, scope, 1)
    _add_activity_cells(cursor, scope, 1)
    _add_customer_cells(cursor, scope, 1)
    cursor.execute(f"SELECT DISTINCT day FROM {T['fact']} WHERE {where}", params)
    days |= {_as_date(row[0]) for row in cursor.fetchall()}
    return days


def _as_date(value):
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def refresh_customers(customer_ids: Iterable[int | None], guests: bool = False) -> int:
    """Bring these customers' facts and every cell they count in up to date (and the guest
    orders' too with ``guests``); returns how many customers were refreshed."""
    ids = sorted({int(i) for i in customer_ids if i is not None})
    if not ids and not guests:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        if sql.is_postgres() and ids:
            # Two refreshes of one customer must not interleave their subtract / add.
            cursor.execute(
                f"SELECT id FROM {T['cust']} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids]
            )
        if not _category_paths_current():
            refresh_category_paths()
        days: set = set()
        for start in range(0, len(ids), CHUNK):
            days |= _refresh_scope(cursor, Scope(_with_merged(ids[start : start + CHUNK])))
        if guests:
            days |= _refresh_scope(cursor, Scope(guests=True))
        _drop_empty_cells(cursor, days)
        _drop_empty_activity_cells(cursor)
        _drop_empty_customer_cells(cursor)
    return len(ids)


GUESTS = 0  # the Pending row that stands for guest orders


def mark_changed(customer_ids: Iterable[int | None], guests: bool = False) -> int:
    """Note customers (and guest orders) whose facts must be refreshed: one cheap insert in
    the writer's transaction; ``refresh_pending`` does the work later."""
    ids = sorted({int(i) for i in customer_ids if i is not None} | ({GUESTS} if guests else set()))
    if not ids:
        return 0
    table = Pending._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            cursor.executemany(
                f"INSERT INTO {table} (customer_id) VALUES (%s) ON CONFLICT DO NOTHING",
                [(i,) for i in chunk],
            )
    return len(ids)


def refresh_pending(limit: int | None = None) -> int:
    """Refresh the customers ``mark_changed`` noted, ``CHUNK`` at a time, each chunk in its
    own short transaction (a chunk is taken off the list in the transaction that refreshes
    it, so a customer marked again meanwhile is refreshed again). Returns how many."""
    done = 0
    while limit is None or done < limit:
        with transaction.atomic():
            ids = list(
                Pending.objects.order_by("customer_id").values_list("customer_id", flat=True)[
                    :CHUNK
                ]
            )
            if not ids:
                break
            Pending.objects.filter(customer_id__in=ids).delete()
            refresh_customers([i for i in ids if i != GUESTS], guests=GUESTS in ids)
        done += len(ids)
    return done


# Secondary indexes of the big fact tables: dropped before a full rebuild and built once
# after it (one sort each) instead of being updated row by row.
_BULK_INDEXED = (Fact, ItemFact)


def _drop_bulk_indexes(cursor) -> None:
    for model in _BULK_INDEXED:
        for index in model._meta.indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {index.name}")


def _create_bulk_indexes(cursor) -> None:
    for model in _BULK_INDEXED:
        table = model._meta.db_table
        for index in model._meta.indexes:
            columns = ", ".join(model._meta.get_field(f).column for f in index.fields)
            cursor.execute(f"CREATE INDEX {index.name} ON {table} ({columns})")


def rebuild(progress=None) -> dict[str, float]:
    """Rewrite the whole read model from the source tables; returns seconds per part.

    Set-based throughout: each table is written by a few INSERT … SELECT statements over
    everyone (the distinct-customer cells by one read of the order facts counted in numpy),
    with the fact tables' secondary indexes dropped during the load and built after it."""
    say = progress or (lambda _message: None)
    timings: dict[str, float] = {}
    everyone = Scope()
    with transaction.atomic(), connection.cursor() as cursor, sql.bulk_session(cursor):
        started = time.perf_counter()
        _drop_bulk_indexes(cursor)
        for table in ("custcell", "cell", "actcell", "act", "item", "fact"):
            cursor.execute(sql.truncate(T[table]))
        # Everyone is rebuilt from the source tables: nothing marked before is pending.
        Pending.objects.all().delete()
        refresh_category_paths()
        timings["clear"] = time.perf_counter() - started

        def step(name: str, work) -> None:
            began = time.perf_counter()
            say(f"analytics: {name} …")
            work()
            timings[name] = time.perf_counter() - began

        step("facts", lambda: _insert_facts(cursor, everyone))
        step("items", lambda: _insert_items(cursor, everyone))
        step("cells", lambda: _build_cells(cursor))
        step("customer_cells", lambda: _build_customer_cells(cursor))
        step("activity", lambda: _insert_activity(cursor, everyone))
        step("activity_cells", lambda: _add_activity_cells(cursor, everyone, 1))
        step("members", lambda: _rebuild_members(cursor))
        step("indexes", lambda: _create_bulk_indexes(cursor))
        step("analyze", lambda: _analyze(cursor))
        cursor.execute(f"SELECT COUNT(*) FROM {T['cell']}")
        cells = cursor.fetchone()[0]
        _note("all", sum(timings.values()), cells)
        _note("customers", 0, CustomerCell.objects.count())
        for part, table in (("events", T["event"]), ("contacts", T["contact"])):
            cursor.execute(f"SELECT MAX(id) FROM {table}")
            _note(part, 0, cursor.fetchone()[0] or 0)
    timings["total"] = sum(timings.values())
    return timings


def rebuild_members() -> int:
    """The member snapshot alone. The counting runs as a read; only the few hundred
    resulting rows are written, so the write lock is held for milliseconds."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        rows = _member_rows(cursor)
    with transaction.atomic():
        MemberCell.objects.all().delete()
        MemberCell.objects.bulk_create([MemberCell(**row) for row in rows], batch_size=1000)
        _note("members", time.perf_counter() - started, len(rows))
    return len(rows)


def _last_id(part: str) -> int:
    snap = Snapshot.objects.filter(part=part).first()
    return snap.rows if snap else 0


def catch_up(progress=None) -> dict[str, int]:
    """The nightly job: what the flows do not refresh as it happens. Customers with new
    events (browsing without an order) or new contacts since the last catch-up are refreshed
    in chunks, each in its own short transaction, so ingestion never waits long; then the
    member snapshot. A full ``rebuild`` holds the write lock for its whole run (minutes at a
    million customers on SQLite): it is for bulk loads and maintenance."""
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        seen: set[int] = set()
        marks = {}
        for part, table, column in (("events", T["event"], "customer_id"),
                                    ("contacts", T["contact"], "customer_id")):  # fmt: skip
            after = _last_id(part)
            cursor.execute(f"SELECT MAX(id) FROM {table}")
            marks[part] = cursor.fetchone()[0] or 0
            cursor.execute(
                f"SELECT DISTINCT {column} FROM {table} WHERE id > %s AND id <= %s "
                f"AND {column} IS NOT NULL",
                [after, marks[part]],
            )
            seen |= {row[0] for row in cursor.fetchall()}
    ids = sorted(seen)
    say(f"analytics: catching up {len(ids):,} customers with new events or contacts …")
    for start in range(0, len(ids), CHUNK):
        refresh_customers(ids[start : start + CHUNK])
    with transaction.atomic():
        for part, mark in marks.items():
            _note(part, time.perf_counter() - started, mark)
    members = rebuild_members()
    return {"customers": len(ids), "member_cells": members}
