"""Writes of the customer-value domain, each a set-based run over every customer.

* ``compute_rfm`` rebuilds every customer's RFM score: one query reads the figures of all
  live customers who ever ordered (with a window, order counts and revenue inside it come
  from the orders table in the same statement); numpy scores them.
* ``score_customers`` summarises every customer's orders (one scan of the orders table),
  fits BG/NBD, Gamma-Gamma and Pareto/NBD and stores each customer's P(alive), expected
  purchases and CLV.
* ``compute_profit`` (``value.profit``) sums each customer's value and cost.

Each replaces its table in one transaction (``core.tables.replace_rows``: on PostgreSQL a
new table is filled by COPY and swapped in).
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from ecrm import flows
from ecrm.core import clock
from ecrm.core.tables import replace_rows
from ecrm.customers.models import Customer
from ecrm.figures.models import CustomerFigures
from ecrm.orders.models import Order, OrderStatus
from ecrm.value import queries, rfm, rules
from ecrm.value.models import (
    CustomerPrediction,
    CustomerProfit,
    CustomerScore,
    PredictionRun,
    ProfitRun,
    RfmRun,
)

CURVE_POINTS = 101
SCORE_COLUMNS = (
    "customer_id",
    "r",
    "f",
    "m",
    "rfm_group",
    "revenue",
    "dormant",
    "low_return",
)


def _days_since(column: str) -> str:
    # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT gives numeric, which the
    # driver turns into a Decimal per value (a third slower to read a million rows).
    if connection.vendor == "postgresql":
        return f"date_part('epoch', %s - {column}) / 86400.0"
    return f"julianday(%s) - julianday({column})"


def _read_figures(now: dt.datetime, window_days: int | None) -> np.ndarray:
    """Rows of (customer, recency days, orders, net revenue, returned, F, M) as floats,
    sorted by customer.

    Three narrow reads joined in numpy: the figures of everyone who ordered, the few
    merged profiles (left out) and, with a window, the orders in it summed per customer.
    One statement joining them makes SQLite materialise the sums and index them again.
    """
    t = {
        "fig": CustomerFigures._meta.db_table,
        "cust": Customer._meta.db_table,
        "ord": Order._meta.db_table,
    }
    adapt = connection.ops.adapt_datetimefield_value
    money = "CAST({} AS DOUBLE PRECISION)"
    figures = queries.fetch_matrix(
        f"""
        SELECT customer_id, {_days_since("last_order_at")}, order_count,
            {money.format("revenue")}, {money.format("returned_amount")}
        FROM {t["fig"]} WHERE order_count > 0""",
        [adapt(now)],
        5,
    )
    merged = queries.fetch_matrix(
        f"SELECT id FROM {t['cust']} WHERE merged_into_id IS NOT NULL", [], 1
    )[:, 0]
    figures = figures[np.argsort(figures[:, 0], kind="stable")]
    if merged.size:
        figures = figures[~np.isin(figures[:, 0], merged)]
    if not window_days:
        return np.column_stack([figures, figures[:, 2:4]])
    window = queries.fetch_matrix(
        f"""
        SELECT customer_id, COUNT(*), {money.format("SUM(total)")} FROM {queries.scan(t["ord"])}
        WHERE customer_id IS NOT NULL AND status <> %s AND placed_at > %s AND placed_at <= %s
        GROUP BY customer_id""",
        [
            OrderStatus.CANCELLED.value,
            adapt(now - dt.timedelta(days=window_days)),
            adapt(now),
        ],
        3,
    )
    return _with_window(figures, window)


def _with_window(figures: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``figures`` (sorted by customer) with each customer's window order count and sum
    appended, 0 and 0 where the window has none. The window's rows may come in any order:
    PostgreSQL's hash aggregate returns the groups unsorted (F and M were then 0 for nearly
    every customer)."""
    out = np.zeros((figures.shape[0], 7))
    out[:, :5] = figures
    if window.size:
        window = window[np.argsort(window[:, 0], kind="stable")]
        at = np.minimum(np.searchsorted(window[:, 0], figures[:, 0]), window.shape[0] - 1)
        found = window[at, 0] == figures[:, 0]
        out[found, 5:] = window[at[found], 1:]
    return out


def rfm_settings() -> dict:
    """The settings of the latest RFM run (the defaults before the first), so the nightly
    job keeps what staff chose."""
    last = RfmRun.objects.first()
    if last is None:
        return {
            "window_days": 365,
            "dormant_days": rfm.DORMANT_DAYS,
            "min_revenue": rfm.LOW_RETURN_MIN_REVENUE,
            "max_return_ratio": rfm.LOW_RETURN_MAX_RATIO,
        }
    return {
        "window_days": last.window_days,
        "dormant_days": last.dormant_days,
        "min_revenue": last.low_return_revenue,
        "max_return_ratio": last.low_return_ratio,
    }


def compute_rfm(
    now: dt.datetime | None = None,
    window_days: int | None = 365,
    dormant_days: int = rfm.DORMANT_DAYS,
    min_revenue: float = rfm.LOW_RETURN_MIN_REVENUE,
    max_return_ratio: float = rfm.LOW_RETURN_MAX_RATIO,
) -> RfmRun:
    """Score every live customer who ever ordered and replace all stored scores.

    R is always measured from the last order ever; with ``window_days`` F and M are the
    number and total of the orders (not cancelled) placed in the last ``window_days``
    days, without a window the all-time order count and net revenue.
    """
    rules.check_rfm_settings(window_days, dormant_days, min_revenue, max_return_ratio)
    began = time.perf_counter()
    now = now or clock.now()
    with replacing():
        data = _read_figures(now, window_days)
        customer = data[:, 0].astype(np.int64)
        recency = np.maximum(np.floor(data[:, 1] + 1e-9), 0.0)
        order_count, net, returned = data[:, 2], data[:, 3], data[:, 4]
        frequency, monetary = data[:, 5], np.round(data[:, 6], 4)
        scores = rfm.score(recency, frequency, monetary)
        dormant = rfm.is_dormant(recency, order_count, dormant_days)
        low = rfm.is_low_return(net, returned, order_count, min_revenue, max_return_ratio)
        new = {
            "customer_id": customer,
            "r": scores.r,
            "f": scores.f,
            "m": scores.m,
            "rfm_group": scores.group,
            "revenue": monetary,
            "dormant": dormant,
            "low_return": low,
        }
        _write_scores(new)
        grid, share = rfm.pareto_curve(monetary, points=CURVE_POINTS)
        run = RfmRun.objects.create(
            computed_at=now,
            window_days=window_days,
            dormant_days=dormant_days,
            low_return_revenue=min_revenue,
            low_return_ratio=max_return_ratio,
            customers=int(customer.size),
            top20_share=rfm.share_for_top(monetary, 0.2),
            curve=[
                [round(float(x), 4), round(float(y), 6)] for x, y in zip(grid, share, strict=True)
            ],
            seconds=0.0,
        )
        flows.scores_changed()
    # Timed to the end of the commit, which on SQLite is where the pages reach the disk.
    run.seconds = round(time.perf_counter() - began, 3)
    run.save(update_fields=["seconds"])
    return run


_UNKNOWN_GROUP = 15
# Above this share of rows to write (changed, new and gone against the rows scored) the
# table is replaced instead.
REWRITE_SHARE = 0.5


def _packed_sql() -> str:
    """R, F, M, group (its position in ``rfm.GROUPS``) and the two flags of a stored
    score as one integer: each value read costs as much as the SQL, so fewer columns."""
    group = " ".join(f"WHEN '{g.code}' THEN {i}" for i, g in enumerate(rfm.GROUPS))
    return (
        f"((((r * 8 + f) * 8 + m) * 16 + CASE rfm_group {group} ELSE {_UNKNOWN_GROUP} END)"
        " * 2 + CAST(dormant AS INTEGER)) * 2 + CAST(low_return AS INTEGER)"
    )


def _packed(new: dict[str, np.ndarray]) -> np.ndarray:
    """``_packed_sql`` of scores in memory."""
    codes = np.array([g.code for g in rfm.GROUPS])
    position = np.argsort(codes)
    group = position[np.searchsorted(codes, new["rfm_group"], sorter=position)]
    r, f, m = (new[name].astype(np.int64) for name in ("r", "f", "m"))
    flags = new["dormant"].astype(np.int64) * 2 + new["low_return"].astype(np.int64)
    return (((r * 8 + f) * 8 + m) * 16 + group) * 4 + flags


def _write_scores(new: dict[str, np.ndarray]) -> None:
    """Make the stored scores those of ``new`` (arrays by ``SCORE_COLUMNS``): only the
    rows that differ are written (a nightly re-run changes few). When most rows differ
    (or none are stored) the table is replaced as a whole, which is cheaper then."""
    order = np.argsort(new["customer_id"], kind="stable")
    new = {name: np.asarray(values)[order] for name, values in new.items()}
    ids = new["customer_id"]
    quote = connection.ops.quote_name
    table = quote(CustomerScore._meta.db_table)
    old = queries.fetch_matrix(
        f"SELECT customer_id, {_packed_sql()}, CAST(revenue AS DOUBLE PRECISION) FROM {table}",
        [],
        3,
    )
    old = old[np.argsort(old[:, 0], kind="stable")]
    old_ids = old[:, 0].astype(np.int64)
    kept_old = np.isin(old_ids, ids, assume_unique=True)
    kept_new = np.isin(ids, old_ids, assume_unique=True)
    same = kept_new.copy()
    same[kept_new] = (old[kept_old, 1].astype(np.int64) == _packed(new)[kept_new]) & (
        old[kept_old, 2] == new["revenue"][kept_new]
    )
    changed = kept_new & ~same
    added = ~kept_new
    gone = old_ids[~kept_old]

    def rows(pick, names=SCORE_COLUMNS):
        return zip(*(new[name][pick].tolist() for name in names), strict=True)

    if int(changed.sum()) + int(added.sum()) + gone.size > REWRITE_SHARE * ids.size:
        replace_rows(CustomerScore, SCORE_COLUMNS, rows(slice(None)))
        return
    key = quote("customer_id")
    with connection.cursor() as cursor:
        if gone.size:
            cursor.executemany(
                f"DELETE FROM {table} WHERE {key} = %s", [(i,) for i in gone.tolist()]
            )
        if changed.any():
            sets = ", ".join(f"{quote(name)} = %s" for name in SCORE_COLUMNS[1:])
            cursor.executemany(
                f"UPDATE {table} SET {sets} WHERE {key} = %s",
                rows(changed, SCORE_COLUMNS[1:] + SCORE_COLUMNS[:1]),
            )
        if added.any():
            names = ", ".join(quote(c) for c in SCORE_COLUMNS)
            marks = ", ".join(["%s"] * len(SCORE_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows(added))


# --- bulk writes ------------------------------------------------------------------------


@contextmanager
def replacing():
    """The transaction of a run that replaces whole tables.

    On SQLite, unless a caller's transaction is open, foreign keys are not checked row by
    row during it: every customer id written was read in the same transaction (IMMEDIATE,
    so nothing else writes meanwhile) from tables whose own keys were checked, and the run
    row is created in it. Without the checks the DELETE frees the old table in one step
    and each insert skips two look-ups: a third less CPU for the write.
    """
    with connection.constraint_checks_disabled(), transaction.atomic():
        yield


# --- predictions ------------------------------------------------------------------------

UNIT_DAYS = 7  # the models run in weeks, as in the CDNOW papers
# Parameters of a million buyers are no better than those of a random 100,000, and the
# fit costs follow the sample. Pareto/NBD (hypergeometric likelihood, Nelder-Mead) costs
# about a hundred times more per row: opt-in, on a small sample.
FIT_SAMPLE = 100_000
PARETO_SAMPLE = 0
MIN_REPEAT_BUYERS = 10
HORIZON_DAYS = 365
DISCOUNT_RATE = 0.10


class NotEnoughData(ValueError):
    """Too few buyers (or repeat buyers) for the models to be fitted."""


def _epoch_days_sql(column: str) -> str:
    # date_part, not EXTRACT: see _days_since.
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {column}) / 86400.0"
    return f"julianday({column}) - 2440587.5"


def read_purchases(now: dt.datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer id, time in days since 1970-01-01 UTC, order total) of every order of a
    known customer placed up to ``now``, cancelled orders left out. One scan, no sort."""
    sql = f"""
    SELECT customer_id, {_epoch_days_sql("placed_at")}, CAST(total AS DOUBLE PRECISION)
    FROM {queries.scan(Order._meta.db_table)}
    WHERE customer_id IS NOT NULL AND status <> %s AND placed_at <= %s
    """
    params = [OrderStatus.CANCELLED.value, connection.ops.adapt_datetimefield_value(now)]
    data = queries.fetch_matrix(sql, params, 3)
    return data[:, 0].astype(np.int64), data[:, 1], data[:, 2]


def local_days(epoch_days: np.ndarray, zone=None) -> np.ndarray:
    """Whole days in the shop's time zone (``TIME_ZONE``) of UTC times given in days since
    1970-01-01; the offset is looked up once per hour of the range, so DST is exact."""
    zone = zone or timezone.get_default_timezone()
    epoch_days = np.asarray(epoch_days, dtype=float)
    if epoch_days.size == 0:
        return np.zeros(0, dtype=np.int64)
    hours = np.floor(epoch_days * 24.0 + 1e-9).astype(np.int64)
    low, high = int(hours.min()), int(hours.max())
    if high - low <= 2_000_000:
        span = np.arange(low, high + 1)
        index = hours - low
    else:
        span, index = np.unique(hours, return_inverse=True)
    offsets = np.array(
        [
            dt.datetime.fromtimestamp(int(h) * 3600, dt.UTC).astimezone(zone).utcoffset()
            / dt.timedelta(days=1)
            for h in span
        ]
    )
    return np.floor(epoch_days + offsets[index] + 1e-9).astype(np.int64)


def _fit_all(summary: rules.Summary, pareto_sample: int) -> dict[str, rules.Fit]:
    """BG/NBD and Gamma-Gamma on a seeded sample of up to ``FIT_SAMPLE`` buyers (all of a
    smaller shop), Pareto/NBD on ``pareto_sample`` of them (0: not fitted)."""
    x, t_x, T, m = summary.frequency, summary.recency, summary.T, summary.monetary
    repeat = int((x > 0).sum())
    if repeat < MIN_REPEAT_BUYERS:
        raise NotEnoughData(
            f"{repeat} customers bought more than once; the models need at least "
            f"{MIN_REPEAT_BUYERS}"
        )
    pick = rules.sample_indices(x.size, FIT_SAMPLE)
    fits = {"bgnbd": rules.fit_bgnbd(x[pick], t_x[pick], T[pick])}
    gamma = rules.fit_gamma_gamma(x[pick], m[pick])
    if gamma.params["q"] <= 1.0:
        raise NotEnoughData(
            "the spend of repeat buyers varies too much for Gamma-Gamma (q <= 1): "
            "their expected order value is undefined"
        )
    fits["gamma_gamma"] = gamma
    if pareto_sample:
        pick = rules.sample_indices(x.size, pareto_sample)
        # Recorded either way; customers are scored with it only when it converged.
        fits["pareto_nbd"] = rules.fit_pareto_nbd(x[pick], t_x[pick], T[pick])
    return fits


def prediction_settings() -> dict:
    """Horizon and discount rate of the latest prediction run (the defaults before it)."""
    last = PredictionRun.objects.first()
    if last is None:
        return {"horizon_days": HORIZON_DAYS, "discount_rate": DISCOUNT_RATE}
    return {"horizon_days": last.horizon_days, "discount_rate": last.discount_rate}


def score_customers(
    now: dt.datetime | None = None,
    horizon_days: int = HORIZON_DAYS,
    discount_rate: float = DISCOUNT_RATE,
    pareto_sample: int = PARETO_SAMPLE,
) -> PredictionRun:
    """Fit the models on every customer's orders and replace all stored predictions.

    Purchases are whole days in the shop's time zone (several orders on one day are one
    purchase of their total); time runs in weeks. BG/NBD and Gamma-Gamma are fitted on
    a seeded sample of up to ``FIT_SAMPLE`` buyers, Pareto/NBD (when ``pareto_sample`` is
    not 0) on a sample of that many; every customer is scored with each. CLV: expected
    order value x discounted expected purchases over ``horizon_days``, in monthly periods
    at the annual ``discount_rate``.
    """
    horizon = rules.Horizon(horizon_days, float(discount_rate))
    if pareto_sample < 0:
        raise ValueError("pareto_sample must be 0 (no Pareto/NBD) or more")
    began = time.perf_counter()
    now = now or clock.now()
    timings = {}
    with replacing():
        customer, moment, total = read_purchases(now)
        end = int(local_days(np.array([(now - EPOCH).total_seconds() / 86400.0]))[0])
        summary = rules.summarise(customer, local_days(moment), total, end, UNIT_DAYS)
        timings["read"] = round(time.perf_counter() - began, 3)
        if summary.customer.size == 0:
            raise NotEnoughData("no customer has ordered yet")
        step = time.perf_counter()
        fits = _fit_all(summary, pareto_sample)
        timings["fit"] = round(time.perf_counter() - step, 3)
        step = time.perf_counter()
        x, t_x, T = summary.frequency, summary.recency, summary.T
        pareto = fits.get("pareto_nbd")
        if pareto is not None and (not pareto.converged or pareto.params["s"] == 1.0):
            pareto = None
        result = rules.predict(
            list(fits["bgnbd"].params.values()),
            list(fits["gamma_gamma"].params.values()),
            x,
            t_x,
            T,
            summary.monetary,
            horizon=horizon,
            unit_days=UNIT_DAYS,
            pareto_params=list(pareto.params.values()) if pareto else None,
        )
        clv = np.round(result.clv, 4)
        timings["score"] = round(time.perf_counter() - step, 3)
        step = time.perf_counter()
        run = PredictionRun.objects.create(
            computed_at=now,
            horizon_days=horizon.days,
            discount_rate=horizon.annual_rate,
            customers=int(summary.customer.size),
            repeat_buyers=int((x > 0).sum()),
            fits={name: _fit_record(fit) for name, fit in fits.items()},
            total_clv=round(float(clv.sum()), 4),
            expected_purchases=round(float(result.expected_purchases.sum()), 4),
            seconds=0.0,
        )
        stamp = now if connection.vendor == "postgresql" else _adapt(now)
        same = {"run_id": run.pk, "computed_at": stamp}
        stored = {
            "customer_id": summary.customer,
            "frequency": x,
            "recency": np.round(t_x * UNIT_DAYS, 6),
            "age": np.round(T * UNIT_DAYS, 6),
            "monetary": np.round(summary.monetary, 4),
            "p_alive": np.round(result.p_alive, 8),
            "expected_purchases": np.round(result.expected_purchases, 8),
            "expected_order_value": np.round(result.expected_order_value, 4),
            "clv": clv,
        }
        if pareto is None:
            same.update(pareto_p_alive=None, pareto_expected_purchases=None)
        else:
            stored["pareto_p_alive"] = np.round(result.pareto_p_alive, 8)
            stored["pareto_expected_purchases"] = np.round(result.pareto_expected_purchases, 8)
        rows = zip(*(values.tolist() for values in stored.values()), strict=True)
        replace_rows(CustomerPrediction, tuple(stored), rows, same)
        flows.scores_changed()
    # The write includes the commit: on SQLite that is where the pages reach the disk.
    timings["write"] = round(time.perf_counter() - step, 3)
    run.timings = timings
    run.seconds = round(time.perf_counter() - began, 3)
    run.save(update_fields=["timings", "seconds"])
    return run


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _adapt(moment: dt.datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _fit_record(fit: rules.Fit) -> dict:
    return {
        "params": {k: float(f"{v:.10g}") for k, v in fit.params.items()},
        "log_likelihood": round(fit.log_likelihood, 4),
        "customers": fit.customers,
        "distinct_rows": fit.groups,
        "seconds": round(fit.seconds, 3),
        "converged": fit.converged,
    }


# --- customer value and cost ------------------------------------------------------------


def _points_redeemed() -> tuple[tuple[np.ndarray, np.ndarray], str]:
    """(customer ids, money value of the points each redeemed, net of redemptions given
    back) from the loyalty programme, and where it came from."""
    from ecrm.loyalty import api as loyalty

    found = loyalty.points_redeemed_value()
    if not found:
        return (np.zeros(0, dtype=np.int64), np.zeros((0, 1))), "loyalty"
    ids = np.fromiter(found.keys(), dtype=np.int64, count=len(found))
    amounts = np.fromiter((float(v) for v in found.values()), dtype=float, count=len(found))
    return (ids, amounts.reshape(-1, 1)), "loyalty"


def _contact_costs(now: dt.datetime, settings: rules.ProfitSettings):
    from ecrm.contacts import api as contacts

    rows = contacts.contact_counts(until=now)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    counts = np.array([r[2] for r in rows], dtype=float)
    costs = counts * np.array([settings.cost_of(r[1]) for r in rows])
    keys, inverse = np.unique(ids, return_inverse=True)
    inverse = inverse.ravel()
    summed = np.column_stack(
        [
            np.bincount(inverse, weights=counts, minlength=keys.size),
            np.bincount(inverse, weights=costs, minlength=keys.size),
        ]
    )
    return keys, summed


def _spread(keys: np.ndarray, part: tuple[np.ndarray, np.ndarray], width: int) -> np.ndarray:
    """The rows of ``part`` placed at their customers' positions in ``keys`` (0 elsewhere)."""
    out = np.zeros((keys.size, width))
    ids, values = part
    if ids.size:
        out[np.searchsorted(keys, ids)] = values
    return out


def profit_settings(raw=None) -> rules.ProfitSettings:
    """Validated settings: ``raw`` when given, else the latest run's, else the defaults."""
    from ecrm.contacts import api as contacts

    if raw is None:
        last = ProfitRun.objects.first()
        raw = last.settings if last else {}
    return rules.parse_profit_settings(raw, set(contacts.ContactChannel.values))


def compute_profit(now: dt.datetime | None = None, settings: dict | None = None) -> ProfitRun:
    """Value and cost of every customer who ordered, returned or was contacted; replaces
    all stored figures. ``settings`` (see ``rules.parse_profit_settings``): the latest
    run's when not given, so the nightly job keeps what staff chose."""
    parsed = profit_settings(settings)
    began = time.perf_counter()
    now = now or clock.now()
    with replacing():
        sums = queries.profit_sums(now)
        points, points_source = _points_redeemed()
        contacts = _contact_costs(now, parsed)
        keys = np.unique(
            np.concatenate(
                [
                    sums.orders[0],
                    sums.lines[0],
                    sums.refunds[0],
                    sums.returned[0],
                    points[0],
                    contacts[0],
                ]
            )
        )
        orders = _spread(keys, sums.orders, 2)
        lines = _spread(keys, sums.lines, 4)
        refunds = _spread(keys, sums.refunds, 1)[:, 0]
        returned = _spread(keys, sums.returned, 2)
        redeemed = _spread(keys, points, 1)[:, 0]
        service = _spread(keys, contacts, 2)
        ratio = parsed.unknown_cost_ratio
        if ratio is None:
            ratio = rules.observed_cost_ratio(lines[:, 1].sum(), lines[:, 2].sum())
        result = rules.profit(
            revenue=lines[:, 0],
            known_cost=lines[:, 1],
            unknown_cost_revenue=lines[:, 3],
            discounts=orders[:, 1],
            points_redeemed=redeemed,
            refunds=refunds,
            returned_known_cost=returned[:, 0],
            returned_unknown_amount=returned[:, 1],
            service_cost=service[:, 1],
            cost_ratio=ratio,
        )
        columns = {
            "revenue": lines[:, 0],
            "product_cost": result.product_cost,
            "estimated_cost_revenue": lines[:, 3],
            "margin": result.margin,
            "discounts": orders[:, 1],
            "points_redeemed": redeemed,
            "refunds": refunds,
            "returned_cost": result.returned_cost,
            "service_cost": service[:, 1],
            "profit": result.profit,
        }
        rounded = {name: np.round(values, 4) for name, values in columns.items()}
        stamp = now if connection.vendor == "postgresql" else _adapt(now)
        rows = zip(
            keys.tolist(),
            orders[:, 0].astype(np.int64).tolist(),
            *(values.tolist() for values in rounded.values()),
            service[:, 0].astype(np.int64).tolist(),
            strict=True,
        )
        replace_rows(
            CustomerProfit,
            ("customer_id", "orders", *rounded, "contacts"),
            rows,
            {"computed_at": stamp},
        )
        totals = {name: round(float(values.sum()), 2) for name, values in rounded.items()}
        totals["contacts"] = int(service[:, 0].sum())
        totals["unprofitable"] = int((rounded["profit"] < 0).sum())
        flows.scores_changed()
        return ProfitRun.objects.create(
            computed_at=now,
            settings=parsed.as_json(),
            applied_cost_ratio=round(float(ratio), 6),
            points_source=points_source,
            customers=int(keys.size),
            totals=totals,
            seconds=round(time.perf_counter() - began, 3),
        )


@dataclass(frozen=True)
class Refreshed:
    """What ``refresh_all`` scored: customers per run; ``predicted`` is None where the
    models could not be fitted (``skipped`` says why)."""

    rfm: int
    predicted: int | None
    profit: int
    skipped: str = ""


def refresh_all(now: dt.datetime | None = None) -> Refreshed:
    """RFM scores, predicted value and profit of every customer, each with the settings of
    its latest run: what the nightly jobs do one after another, for a shop that has just
    been loaded (the demo) and should not wait for the night. The segments that test
    scores are rebuilt once, after the three runs."""
    with flows.scores_changed_once():
        scored = compute_rfm(now=now, **rfm_settings()).customers
        try:
            predicted, skipped = score_customers(now=now, **prediction_settings()).customers, ""
        except NotEnoughData as exc:
            predicted, skipped = None, str(exc)
        profit = compute_profit(now=now).customers
    return Refreshed(scored, predicted, profit, skipped)
