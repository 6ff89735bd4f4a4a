"""RFM scores, named groups, the 80/20 view and dormant / low-return flags. Pure numpy.

Scores. Each of recency (days since the last order), frequency (orders) and monetary
(revenue) gets a quintile score 1-5 from its rank among all scored customers:
``score = 1 + floor(5 * below / n)`` where ``below`` is how many customers have a strictly
worse value. Equal values therefore always get equal scores, and the result does not depend
on the input order. For recency fewer days is better (R 5 = bought most recently).

Window. Only orders in the last N days count for F and M: the caller passes the figures of
that window (``value.services.compute_rfm`` computes them in SQL).

Groups. R and a combined FM score (``round-half-up((F + M) / 2)``) index a 5 x 5 grid,
``GRID``; each cell names one of the usual eleven groups of ``GROUPS`` (English and
Simplified Chinese names).

Dormant (seed 002: stop mailing customers who no longer buy): ordered at least once, but
not in the last ``dormant_days`` days (default 180): ``days since last order >= D``.

Low return (放弃回报低的客户): a customer who ordered and whose net revenue (orders minus
returns) is at or below ``min_revenue`` (default 0: brought nothing), or who sent back at
least ``max_return_ratio`` (default 0.5) of what they bought: ``returned / gross``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecrm.value.groups import GRID, GROUP_BY_CODE, GROUPS, Group  # noqa: F401

DORMANT_DAYS = 180
LOW_RETURN_MIN_REVENUE = 0.0
LOW_RETURN_MAX_RATIO = 0.5


@dataclass(frozen=True)
class Scores:
    """Per-customer scores, in the order of the input arrays."""

    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    fm: np.ndarray
    group: np.ndarray  # group codes (str)


def quintile_scores(values, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1-5 by rank: ``1 + floor(5 * below / n)``; ties share a score."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.zeros(0, dtype=np.int8)
    keyed = values if higher_is_better else -values
    below = np.searchsorted(np.sort(keyed), keyed, side="left")
    return (1 + (5 * below) // values.size).astype(np.int8)


def fm_score(f, m) -> np.ndarray:
    """Combined frequency-monetary score: the mean of F and M, halves rounded up."""
    f = np.asarray(f, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    return ((f + m + 1) // 2).astype(np.int8)


_GRID_CODES = np.array(GRID, dtype=object)


def group_of(r, fm) -> np.ndarray | str:
    """Group code(s) for R and FM scores (scalars or arrays)."""
    r_arr = np.asarray(r, dtype=np.int64)
    fm_arr = np.asarray(fm, dtype=np.int64)
    if np.any((r_arr < 1) | (r_arr > 5) | (fm_arr < 1) | (fm_arr > 5)):
        raise ValueError("R and FM scores must be between 1 and 5")
    codes = _GRID_CODES[5 - r_arr, fm_arr - 1]
    return str(codes) if np.ndim(codes) == 0 else codes


def score(recency_days, frequency, monetary) -> Scores:
    """R, F, M, FM scores and the group of each customer."""
    recency_days = np.asarray(recency_days, dtype=float)
    frequency = np.asarray(frequency, dtype=float)
    monetary = np.asarray(monetary, dtype=float)
    if not (recency_days.shape == frequency.shape == monetary.shape):
        raise ValueError("recency, frequency and monetary must have the same length")
    r = quintile_scores(recency_days, higher_is_better=False)
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    fm = fm_score(f, m)
    group = group_of(r, fm) if r.size else np.zeros(0, dtype=object)
    return Scores(r=r, f=f, m=m, fm=fm, group=np.asarray(group, dtype=object))


# --- the 80/20 view ---------------------------------------------------------------------


def pareto_curve(revenue, points: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative share of revenue brought by the top share of customers.

    Customers are sorted by revenue, largest first; the curve starts at (0, 0) and has one
    point per customer (or ``points`` evenly spaced customer shares, interpolated).
    Negative revenue (more returned than bought) counts as zero.
    """
    revenue = np.clip(np.asarray(revenue, dtype=float), 0.0, None)
    n = revenue.size
    customer_share = np.arange(n + 1) / max(n, 1)
    total = revenue.sum()
    cumulative = np.r_[0.0, np.cumsum(np.sort(revenue)[::-1])]
    revenue_share = cumulative / total if total > 0 else np.zeros(n + 1)
    if n:
        revenue_share[-1] = 1.0 if total > 0 else 0.0
    if points is None:
        return customer_share, revenue_share
    grid = np.linspace(0.0, 1.0, points)
    return grid, np.interp(grid, customer_share, revenue_share)


def share_for_top(revenue, fraction: float = 0.2) -> float:
    """Share of all revenue brought by the top ``fraction`` of customers (interpolated
    linearly between customers when ``fraction * n`` is not whole)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    customer_share, revenue_share = pareto_curve(revenue)
    return float(np.interp(fraction, customer_share, revenue_share))


# --- flags ------------------------------------------------------------------------------


def is_dormant(recency_days, order_count, dormant_days: int = DORMANT_DAYS):
    """Ordered before, but no order in the last ``dormant_days`` days."""
    recency_days = np.asarray(recency_days, dtype=float)
    order_count = np.asarray(order_count)
    return (order_count > 0) & (recency_days >= dormant_days)


def is_low_return(
    net_revenue,
    returned_amount,
    order_count,
    min_revenue: float = LOW_RETURN_MIN_REVENUE,
    max_return_ratio: float = LOW_RETURN_MAX_RATIO,
):
    """Ordered, and either net revenue <= ``min_revenue`` or returned / gross >=
    ``max_return_ratio`` (gross = net revenue + returned amount)."""
    net = np.asarray(net_revenue, dtype=float)
    returned = np.asarray(returned_amount, dtype=float)
    gross = net + returned
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(gross > 0, returned / np.where(gross > 0, gross, 1.0), 0.0)
    ordered = np.asarray(order_count) > 0
    return ordered & ((net <= min_revenue) | (ratio >= max_return_ratio))
