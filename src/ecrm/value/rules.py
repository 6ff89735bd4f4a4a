"""Customer-value models: BG/NBD, Pareto/NBD, Gamma-Gamma and CLV. Pure numpy/scipy.

Every model works on the per-customer summary of the CDNOW convention (``summarise``):
``x`` = repeat purchases (distinct purchase days - 1), ``t_x`` = time of the last purchase
and ``T`` = age at the end of calibration, both measured from the first purchase.

Speed: the log-likelihoods are evaluated once per distinct (x, t_x, T) row and weighted by
how many customers share it (``group_rows``). Recency and age are whole days, so a million
customers collapse to a few hundred thousand rows or fewer; BG/NBD is then fitted with
L-BFGS-B and its analytic gradient on log-parameters.

References: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD) and
"RFM and CLV" (Gamma-Gamma); Schmittlein, Morrison & Colombo (1987) (Pareto/NBD), in the
hypergeometric form used by BTYD and lifetimes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_noop as N_
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1, logsumexp
from threadpoolctl import threadpool_limits

from ecrm.core.fields import MONEY_LIMIT
from ecrm.core.messages import AT_LEAST, AT_MOST, Problem

TIME_UNITS = {"day": 1, "week": 7}


@dataclass(frozen=True)
class Summary:
    """One row per customer, ordered by customer key."""

    customer: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary: np.ndarray


@dataclass(frozen=True)
class Fit:
    """A fitted model: parameters by name, total log-likelihood, rows it was fitted on."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    customers: int
    groups: int
    seconds: float
    converged: bool = True

    def as_dict(self) -> dict:
        return {
            "params": self.params,
            "log_likelihood": self.log_likelihood,
            "customers": self.customers,
            "distinct_rows": self.groups,
            "seconds": self.seconds,
            "converged": self.converged,
        }


# --- summarising transactions ---------------------------------------------------------


def summarise(customers, days, amounts, calibration_end: int, unit_days: int = 1) -> Summary:
    """Summarise transactions into (frequency, recency, T, monetary) per customer.

    ``days`` are integer day numbers (e.g. ``datetime64[D]`` as int), ``calibration_end``
    the last day included. Purchases on the same day count as one purchase whose spend is
    their sum; ``monetary`` is the mean spend of the repeat purchase days (0 without any).
    Customers whose first purchase falls after the calibration end are left out.
    """
    customers = np.asarray(customers)
    days = np.asarray(days, dtype=np.int64)
    amounts = np.asarray(amounts, dtype=float)
    keep = days <= calibration_end
    customers, days, amounts = customers[keep], days[keep], amounts[keep]
    if customers.size == 0:
        empty = np.zeros(0)
        return Summary(customers[:0], empty.astype(np.int64), empty, empty, empty)
    order, code, keys = _by_customer_and_day(customers, days)
    days, amounts = days[order], amounts[order]
    # One purchase per (customer, day): its spend is the day's total.
    starts = np.flatnonzero(np.r_[True, (np.diff(code) != 0) | (np.diff(days) != 0)])
    day_code, day = code[starts], days[starts]
    day_spend = np.add.reduceat(amounts, starts)
    purchases = np.bincount(day_code, minlength=keys.size)
    first_row = np.r_[0, np.cumsum(purchases)[:-1]]
    last_row = first_row + purchases - 1
    first_day, last_day = day[first_row], day[last_row]
    frequency = purchases - 1
    repeat_spend = (
        np.bincount(day_code, weights=day_spend, minlength=keys.size) - day_spend[first_row]
    )
    monetary = np.divide(repeat_spend, frequency, out=np.zeros(keys.size), where=frequency > 0)
    return Summary(
        customer=keys,
        frequency=frequency.astype(np.int64),
        recency=(last_day - first_day) / unit_days,
        T=(calibration_end - first_day) / unit_days,
        monetary=monetary,
    )


# --- grouping ---------------------------------------------------------------------------


def _by_customer_and_day(customers, days):
    """The stable order of the rows by (customer, day), each sorted row's customer code
    and the customer keys; the same as ``np.lexsort((days, codes))`` but with one sort of
    a combined integer key, several times faster on millions of rows."""
    day_low = int(days.min())
    span = int(days.max()) - day_low + 1
    if customers.dtype.kind in "iu":
        low = int(customers.min())
        if (int(customers.max()) - low + 1) * span < 2**62:
            key = (customers.astype(np.int64) - low) * span + (days - day_low)
            order = np.argsort(key, kind="stable")
            ranked = customers[order]
            first = np.r_[True, ranked[1:] != ranked[:-1]]
            return order, np.cumsum(first) - 1, ranked[first]
    keys, code = np.unique(customers, return_inverse=True)
    code = code.ravel()
    if keys.size * span < 2**62:
        order = np.argsort(code.astype(np.int64) * span + (days - day_low), kind="stable")
    else:
        order = np.lexsort((days, code))
    return order, code[order], keys


def group_rows(*columns) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given equal-length columns, their counts, and the inverse index
    (``distinct[k][inverse]`` gives back column k)."""
    arrays = [np.asarray(c, dtype=float) for c in columns]
    n = arrays[0].size
    if n == 0:
        return [a[:0] for a in arrays], np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort(arrays[::-1])
    sorted_cols = [a[order] for a in arrays]
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for a in sorted_cols:
        change[1:] |= a[1:] != a[:-1]
    starts = np.flatnonzero(change)
    counts = np.diff(np.r_[starts, n]).astype(float)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(change) - 1
    return [a[starts] for a in sorted_cols], counts, inverse


def _validate(x, t_x, T):
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    if not (x.shape == t_x.shape == T.shape):
        raise ValueError("frequency, recency and T must have the same length")
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T + 1e-9) or np.any((x == 0) & (t_x > 0)):
        raise ValueError("need 0 <= recency <= T, and recency 0 when frequency is 0")
    return x, t_x, T


LOG_BOUND = 15.0


def _minimise(objective, start, *, jac=False):
    """Minimise over log-parameters with BLAS on this thread only (see below)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _minimise_here(objective, start, jac=jac)


def _minimise_here(objective, start, *, jac=False):
    """Minimise over log-parameters; Nelder-Mead polished until it stops moving.

    The optimisers make thousands of BLAS calls on vectors of four: spread over a BLAS
    thread pool on a busy machine, each waits for threads that are not running, and a fit
    took ten times its CPU time."""
    # Parameters stay within exp(+-LOG_BOUND): data that a model fits badly (no dropout
    # at all, say) would otherwise send them to 0 or infinity, where the predictions are
    # not numbers, and Nelder-Mead would walk the flat ridge there until it ran out of
    # evaluations.
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    if jac:
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000},
        )
        return result
    result = minimize(
        objective,
        start,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 20000, "maxfev": 40000},
    )
    for _ in range(3):
        again = minimize(
            objective,
            result.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000},
        )
        moved = abs(again.fun - result.fun)
        result = again
        if moved < 1e-13:
            break
    return result


# --- BG/NBD ----------------------------------------------------------------------------

BGNBD_PARAMS = ("r", "alpha", "a", "b")


def bgnbd_log_likelihood_terms(params, x, t_x, T):
    """Log-likelihood of each customer under BG/NBD (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_log_likelihood(params, x, t_x, T, weights=None) -> float:
    terms = bgnbd_log_likelihood_terms(params, x, t_x, T)
    return float(np.sum(terms if weights is None else terms * weights))


def _bgnbd_objective(x, t_x, T, w):
    """Mean negative log-likelihood and gradient on log-parameters.

    The gamma-function terms depend on x alone: they are evaluated once per distinct x and
    weighted by its customers. One-time buyers (x = 0, t_x = 0) contribute
    ``r log(alpha) - r log(alpha + T)`` only, so each step costs a few logs per row.
    """
    total = w.sum()
    once = x == 0
    T0, w0 = T[once], w[once]
    x1, tx1, T1, w1 = x[~once], t_x[~once], T[~once], w[~once]
    ux, xi = np.unique(x1, return_inverse=True)
    xi = xi.ravel()
    wx = np.bincount(xi, weights=w1, minlength=ux.size)

    def objective(log_params):
        r, alpha, a, b = np.exp(log_params)
        log_at0 = np.log(alpha + T0)
        log_at = np.log(alpha + T1)
        log_atx = np.log(alpha + tx1)
        rx = r + x1
        a3 = -rx * log_at
        a4 = (np.log(a) - np.log(b + ux - 1.0))[xi] - rx * log_atx
        big = np.logaddexp(a3, a4)
        w3 = np.exp(a3 - big)
        w4 = 1.0 - w3
        ww4 = w1 * w4
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + ux)
        ll = (
            total * r * np.log(alpha)
            - r * np.dot(w0, log_at0)
            + np.dot(
                wx,
                gammaln(r + ux)
                - gammaln(r)
                + gammaln(a + b)
                + gammaln(b + ux)
                - gammaln(b)
                - gammaln(a + b + ux),
            )
            + np.dot(w1, big)
        )
        d_r = (
            total * np.log(alpha)
            - np.dot(w0, log_at0)
            + np.dot(wx, digamma(r + ux) - digamma(r))
            - np.dot(w1, w3 * log_at)
            - np.dot(ww4, log_atx)
        )
        d_alpha = (
            total * r / alpha
            - r * np.dot(w0, 1.0 / (alpha + T0))
            - np.dot(w1 * rx, w3 / (alpha + T1) + w4 / (alpha + tx1))
        )
        d_a = np.dot(wx, psi_ab - psi_abx) + ww4.sum() / a
        d_b = np.dot(wx, psi_ab + digamma(b + ux) - digamma(b) - psi_abx) - np.dot(
            np.bincount(xi, weights=ww4, minlength=ux.size), 1.0 / (b + ux - 1.0)
        )
        grad = np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
        return -ll / total, -grad / total

    return objective


def _fit(model, names, params, log_likelihood, customers, counts, began, result) -> Fit:
    """The result of one maximum-likelihood fit, as every model reports it."""
    return Fit(
        model=model,
        params=dict(zip(names, map(float, params), strict=True)),
        log_likelihood=log_likelihood,
        customers=customers,
        groups=int(counts.size),
        seconds=time.perf_counter() - began,
        converged=bool(result.success),
    )


def fit_bgnbd(x, t_x, T, start=(1.0, 1.0, 1.0, 1.0)) -> Fit:
    """Maximum-likelihood BG/NBD on distinct (x, t_x, T) rows weighted by their counts."""
    began = time.perf_counter()
    x, t_x, T = _validate(x, t_x, T)
    (gx, gtx, gT), counts, _ = group_rows(x, t_x, T)
    objective = _bgnbd_objective(gx, gtx, gT, counts)
    with np.errstate(all="ignore"):
        result = _minimise(objective, np.log(np.asarray(start, dtype=float)), jac=True)
    params = np.exp(result.x)
    return _fit(
        "bgnbd",
        BGNBD_PARAMS,
        params,
        bgnbd_log_likelihood(params, gx, gtx, gT, counts),
        int(x.size),
        counts,
        began,
        result,
    )


def bgnbd_expected_purchases(params, t):
    """E[X(t)]: expected purchases in (0, t] of a customer who has just made a first one."""
    r, alpha, a, b = params
    t = np.asarray(t, dtype=float)
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def bgnbd_probability_alive(params, x, t_x, T):
    """P(alive | x, t_x, T)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (
            np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, 1.0 / (1.0 + np.exp(np.where(x > 0, log_ratio, 0.0))), 1.0)


def bgnbd_expected_purchases_if_alive(params, t, x, T):
    """E[Y(t) | x, t_x, T] / P(alive): the first factor of FHL 2005 eq. 10, which depends
    on x and T only (not on t_x)."""
    r, alpha, a, b = params
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    log_base = (r + x) * np.log((alpha + T) / (alpha + T + t))
    return (a + b + x - 1) / (a - 1) * (1 - np.exp(log_base) * hyp)


def bgnbd_conditional_expected_purchases(params, t, x, t_x, T):
    """E[Y(t) | x, t_x, T]: expected purchases in the next t units (FHL 2005, eq. 10)."""
    first = bgnbd_expected_purchases_if_alive(params, t, x, T)
    return first * bgnbd_probability_alive(params, x, t_x, T)


def sample_bgnbd(params, T, rng: np.random.Generator, day_fraction: float = 1 / 7):
    """Draw (x, t_x) for customers of ages ``T`` from BG/NBD; recency is rounded down to
    whole days of ``day_fraction`` units (the grain of real transaction data)."""
    r, alpha, a, b = params
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(r, 1.0 / alpha, size=T.size)
    p = rng.beta(a, b, size=T.size)
    # Dies right after its D-th repeat purchase; makes N purchases in (0, T] while alive.
    last = rng.geometric(p)
    made = rng.poisson(lam * T)
    x = np.minimum(made, last)
    t_x = np.zeros(T.size)
    some = x > 0
    t_x[some] = T[some] * rng.beta(x[some], made[some] - x[some] + 1)
    t_x = np.floor(t_x / day_fraction + 1e-9) * day_fraction
    return x.astype(float), np.minimum(t_x, T)


# --- Pareto/NBD ------------------------------------------------------------------------

PARETO_PARAMS = ("r", "alpha", "s", "beta")


def _pareto_log_a0(params, x, t_x, T):
    r, alpha, s, beta = params
    if alpha < beta:
        low, high, second = alpha, beta, r + x
    else:
        low, high, second = beta, alpha, s + 1.0
    gap = high - low
    rsx = r + s + x
    p1 = hyp2f1(rsx, second, rsx + 1.0, gap / (high + t_x))
    p2 = hyp2f1(rsx, second, rsx + 1.0, gap / (high + T))
    q1, q2 = high + t_x, high + T
    stacked = np.array([np.log(p1) + rsx * np.log(q2), np.log(p2) + rsx * np.log(q1)])
    sign = np.array([np.ones_like(rsx * 1.0), -np.ones_like(rsx * 1.0)])
    return logsumexp(stacked, axis=0, b=sign) - rsx * np.log(q1 * q2)


def pareto_log_likelihood_terms(params, x, t_x, T):
    """Log-likelihood of each customer under Pareto/NBD (the 2F1 form of BTYD/lifetimes)."""
    r, alpha, s, beta = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    rsx = r + s + x
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_a0 = _pareto_log_a0(params, x, t_x, T)
    a2 = np.logaddexp(
        -(r + x) * np.log(alpha + T) - s * np.log(beta + T), np.log(s) + log_a0 - np.log(rsx)
    )
    return a1 + a2


def pareto_log_likelihood(params, x, t_x, T, weights=None) -> float:
    terms = pareto_log_likelihood_terms(params, x, t_x, T)
    return float(np.sum(terms if weights is None else terms * weights))


def fit_pareto_nbd(x, t_x, T, start=(1.0, 1.0, 1.0, 1.0)) -> Fit:
    """Maximum-likelihood Pareto/NBD on distinct rows weighted by counts (Nelder-Mead)."""
    began = time.perf_counter()
    x, t_x, T = _validate(x, t_x, T)
    (gx, gtx, gT), counts, _ = group_rows(x, t_x, T)
    total = counts.sum()

    def objective(log_params):
        with np.errstate(all="ignore"):
            value = -np.dot(counts, pareto_log_likelihood_terms(np.exp(log_params), gx, gtx, gT))
        return value / total if np.isfinite(value) else np.inf

    result = _minimise(objective, np.log(np.asarray(start, dtype=float)))
    params = np.exp(result.x)
    return _fit(
        "pareto_nbd",
        PARETO_PARAMS,
        params,
        pareto_log_likelihood(params, gx, gtx, gT, counts),
        int(x.size),
        counts,
        began,
        result,
    )


def pareto_expected_purchases(params, t):
    """E[X(t)] for a new customer under Pareto/NBD (s != 1)."""
    r, alpha, s, beta = params
    t = np.asarray(t, dtype=float)
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def pareto_probability_alive(params, x, t_x, T):
    """P(alive | x, t_x, T) under Pareto/NBD."""
    r, alpha, s, beta = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    log_a0 = _pareto_log_a0(params, x, t_x, T)
    return 1.0 / (
        1.0
        + np.exp(
            np.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + T)
            + s * np.log(beta + T)
            + log_a0
        )
    )


def pareto_conditional_expected_purchases(params, t, x, t_x, T):
    """E[Y(t) | x, t_x, T] under Pareto/NBD (s != 1)."""
    r, alpha, s, beta = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    t = np.asarray(t, dtype=float)
    ll = pareto_log_likelihood_terms(params, x, t_x, T)
    first = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
        - (r + x) * np.log(alpha + T)
        - s * np.log(beta + T)
    )
    second = np.log(r + x) + np.log(beta + T) - np.log(alpha + T)
    third = np.log((1 - ((beta + T) / (beta + T + t)) ** (s - 1)) / (s - 1))
    return np.exp(first + second + third - ll)


# --- Gamma-Gamma -----------------------------------------------------------------------

GAMMA_GAMMA_PARAMS = ("p", "q", "v")


def gamma_gamma_log_likelihood_terms(params, x, m):
    """Log-likelihood of each repeat buyer's mean spend ``m`` over ``x`` repeat purchases."""
    p, q, v = params
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(px / p * m + v)
    )


def gamma_gamma_log_likelihood(params, x, m, weights=None) -> float:
    terms = gamma_gamma_log_likelihood_terms(params, x, m)
    return float(np.sum(terms if weights is None else terms * weights))


def _gamma_gamma_objective(x, m, w):
    """Mean negative log-likelihood and gradient; the terms that depend on x alone are
    summed once per distinct x, so each step costs one log over the rows."""
    total = w.sum()
    ux, xi = np.unique(x, return_inverse=True)
    wx = np.bincount(xi.ravel(), weights=w)
    log_m = np.log(m)
    xm = x * m
    const_x = np.dot(wx, ux * np.log(ux))  # sum of w * x * log x
    sum_wxlogm = np.dot(w * x, log_m)
    sum_wlogm = np.dot(w, log_m)
    wxx = w * x

    def objective(log_params):
        p, q, v = np.exp(log_params)
        pu = p * ux
        log_xmv = np.log(xm + v)
        inv_xmv = 1.0 / (xm + v)
        s_xl = np.dot(wxx, log_xmv)
        s_l = np.dot(w, log_xmv)
        ll = (
            np.dot(wx, gammaln(pu + q) - gammaln(pu))
            - total * gammaln(q)
            + total * q * np.log(v)
            + p * sum_wxlogm
            - sum_wlogm
            + p * const_x
            - p * s_xl
            - q * s_l
        )
        psi = digamma(pu + q)
        d_p = np.dot(wx, ux * (psi - digamma(pu))) + sum_wxlogm + const_x - s_xl
        d_q = np.dot(wx, psi) - total * digamma(q) + total * np.log(v) - s_l
        d_v = total * q / v - p * np.dot(wxx, inv_xmv) - q * np.dot(w, inv_xmv)
        if not np.isfinite(ll):
            return np.inf, np.zeros(3)
        grad = np.array([p * d_p, q * d_q, v * d_v])
        return -ll / total, -grad / total

    return objective


def fit_gamma_gamma(x, m, start=(1.0, 1.0, 1.0)) -> Fit:
    """Fit Gamma-Gamma on repeat buyers (x > 0, m > 0); other rows are left out.

    L-BFGS-B with the analytic gradient on log-parameters, so a few hundred thousand
    repeat buyers fit in about a second.
    """
    began = time.perf_counter()
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    buyers = (x > 0) & (m > 0)
    if not buyers.any():
        raise ValueError("Gamma-Gamma needs customers with repeat purchases and positive spend")
    (gx, gm), counts, _ = group_rows(x[buyers], m[buyers])
    objective = _gamma_gamma_objective(gx, gm, counts)
    with np.errstate(all="ignore"):
        result = _minimise(objective, np.log(np.asarray(start, dtype=float)), jac=True)
    params = np.exp(result.x)
    return _fit(
        "gamma_gamma",
        GAMMA_GAMMA_PARAMS,
        params,
        gamma_gamma_log_likelihood(params, gx, gm, counts),
        int(buyers.sum()),
        counts,
        began,
        result,
    )


def gamma_gamma_expected_spend(params, x, m):
    """E[M | x, m]: expected mean spend per purchase; the population mean for x = 0."""
    p, q, v = params
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    return p * (v + x * m) / (p * x + q - 1)


# --- CLV -------------------------------------------------------------------------------


def clv(
    conditional_expected_purchases,
    spend,
    *,
    periods: int,
    period_length: float,
    discount_rate: float,
):
    """Discounted value of the next ``periods`` periods per customer.

    ``conditional_expected_purchases(t)`` returns E[Y(t)] per customer for ``t`` in model
    time units; each period's expected purchases (E[Y(k L)] - E[Y((k-1) L)]) times the
    expected spend are discounted by (1 + rate)^k. E.g. 12 months of 30 days in weeks:
    ``periods=12, period_length=30/7, discount_rate=0.01``.
    """
    spend = np.asarray(spend, dtype=float)
    total = np.zeros(np.broadcast(spend, conditional_expected_purchases(0.0)).shape)
    before = conditional_expected_purchases(0.0)
    for k in range(1, periods + 1):
        after = conditional_expected_purchases(k * period_length)
        total += spend * (after - before) / (1.0 + discount_rate) ** k
        before = after
    return total


def bgnbd_clv(
    bgnbd_params, gamma_gamma_params, x, t_x, T, m, *, periods, period_length, discount_rate
):
    """CLV per customer from a BG/NBD fit and a Gamma-Gamma fit."""
    return clv(
        lambda t: bgnbd_conditional_expected_purchases(bgnbd_params, t, x, t_x, T),
        gamma_gamma_expected_spend(gamma_gamma_params, x, m),
        periods=periods,
        period_length=period_length,
        discount_rate=discount_rate,
    )


# --- scoring every customer -------------------------------------------------------------


class SettingsError(Problem):
    """A bad value in a settings document; ``field`` is its JSON path."""


NOT_NEGATIVE = N_("must be 0 or more")


# A century: longer windows mean nothing to a shop, and larger numbers of days overflow dates.
MAX_DAYS = 36_500


def check_rfm_settings(
    window_days: int | None, dormant_days: int, min_revenue: float, max_return_ratio: float
) -> None:
    """Refuse RFM settings out of range, naming the setting."""
    if window_days is not None and window_days < 1:
        raise SettingsError("window_days", N_("must be at least 1 (or empty: all orders)"))
    if window_days is not None and window_days > MAX_DAYS:
        raise SettingsError("window_days", AT_MOST, max=MAX_DAYS)
    if dormant_days < 1:
        raise SettingsError("dormant_days", AT_LEAST, min=1)
    if dormant_days > MAX_DAYS:
        raise SettingsError("dormant_days", AT_MOST, max=MAX_DAYS)
    for name, number in (
        ("low_return_revenue", min_revenue),
        ("low_return_ratio", max_return_ratio),
    ):
        if not math.isfinite(number):
            raise SettingsError(name, N_("must be a number"))
    if min_revenue < 0:
        raise SettingsError("low_return_revenue", NOT_NEGATIVE)
    if min_revenue >= MONEY_LIMIT:
        raise SettingsError("low_return_revenue", AT_MOST, max=f"{MONEY_LIMIT - 1:f}")
    if not 0 < max_return_ratio <= 1:
        raise SettingsError("low_return_ratio", N_("must be above 0 and at most 1"))


DAYS_PER_YEAR = 365.0
PERIOD_DAYS = 30.0


@dataclass(frozen=True)
class Horizon:
    """A CLV horizon cut into periods of about a month, each discounted at the period's
    share of an annual rate: ``(1 + annual_rate) ** (period_days / 365) - 1``."""

    days: int
    annual_rate: float

    def __post_init__(self):
        if not isinstance(self.days, int) or self.days < 1 or self.days > 3650:
            raise SettingsError(
                "horizon_days", N_("horizon_days must be a whole number of days from 1 to 3650")
            )
        if not 0.0 <= self.annual_rate < 10.0:
            raise SettingsError(
                "discount_rate",
                N_("discount_rate must be at least 0 and below 10 (an annual rate)"),
            )

    @property
    def periods(self) -> int:
        return max(1, round(self.days / PERIOD_DAYS))

    @property
    def period_days(self) -> float:
        return self.days / self.periods

    @property
    def period_rate(self) -> float:
        return (1.0 + self.annual_rate) ** (self.period_days / DAYS_PER_YEAR) - 1.0


@dataclass(frozen=True)
class Predictions:
    """Per-customer predictions, in the order of the input arrays."""

    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_order_value: np.ndarray
    clv: np.ndarray
    pareto_p_alive: np.ndarray | None = None
    pareto_expected_purchases: np.ndarray | None = None


def predict(
    bgnbd_params,
    gamma_gamma_params,
    x,
    t_x,
    T,
    m,
    *,
    horizon: Horizon,
    unit_days: float = 7.0,
    pareto_params=None,
) -> Predictions:
    """P(alive), expected purchases over the horizon, expected order value (Gamma-Gamma)
    and discounted CLV of every customer; ``x, t_x, T`` in units of ``unit_days`` days.

    The purchase models run once per distinct (x, t_x, T) row, and their hypergeometric
    part once per distinct (x, T); CLV is the expected order value times the discounted
    expected purchases of each period.
    """
    (gx, gtx, gT), _counts, inverse = group_rows(x, t_x, T)
    (hx, hT), _counts, to_group = group_rows(gx, gT)
    t = horizon.days / unit_days
    length = horizon.period_days / unit_days
    with np.errstate(all="ignore"):
        alive = bgnbd_probability_alive(bgnbd_params, gx, gtx, gT)

        def conditional(u):
            return bgnbd_expected_purchases_if_alive(bgnbd_params, u, hx, hT)[to_group] * alive

        expected = conditional(t)
        discounted = clv(
            conditional,
            1.0,
            periods=horizon.periods,
            period_length=length,
            discount_rate=horizon.period_rate,
        )
        spend = gamma_gamma_expected_spend(gamma_gamma_params, x, m)
        pareto_alive = pareto_expected = None
        if pareto_params is not None:
            pareto_alive = pareto_probability_alive(pareto_params, gx, gtx, gT)[inverse]
            pareto_expected = pareto_conditional_expected_purchases(pareto_params, t, gx, gtx, gT)[
                inverse
            ]
    return Predictions(
        p_alive=alive[inverse],
        expected_purchases=expected[inverse],
        expected_order_value=spend,
        clv=spend * discounted[inverse],
        pareto_p_alive=pareto_alive,
        pareto_expected_purchases=pareto_expected,
    )


def sample_indices(n: int, size: int, seed: int = 20050101) -> np.ndarray:
    """A seeded, sorted random sample of ``size`` indices out of ``n`` (all when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


# --- customer value and cost -----------------------------------------------------------

# Cost of one logged contact, in the shop's currency, until staff set their own.
DEFAULT_CONTACT_COSTS = {
    "phone": 8.0,
    "email": 1.0,
    "sms": 0.1,
    "chat": 4.0,
    "wechat": 2.0,
    "fax": 5.0,
    "web": 2.0,
    "visit": 50.0,
}


@dataclass(frozen=True)
class ProfitSettings:
    """How a profit run costs what the data does not price.

    ``contact_costs``: cost of one contact per channel (channels not named cost
    ``default_contact_cost``). ``unknown_cost_ratio``: cost as a share of revenue for
    lines whose product has no cost; None: the shop's own ratio on the lines whose cost
    is known (0 when no product has a cost).
    """

    contact_costs: dict
    default_contact_cost: float = 0.0
    unknown_cost_ratio: float | None = None

    def cost_of(self, channel: str) -> float:
        return self.contact_costs.get(channel, self.default_contact_cost)

    def as_json(self) -> dict:
        return {
            "version": 1,
            "contact_costs": dict(sorted(self.contact_costs.items())),
            "default_contact_cost": self.default_contact_cost,
            "unknown_cost_ratio": self.unknown_cost_ratio,
        }


def _amount(value, path: str, *, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(path, N_("must be a number"))
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise SettingsError(path, NOT_NEGATIVE)
    if upper is not None and value > upper:
        raise SettingsError(path, AT_MOST, max=f"{upper:g}")
    return value


def parse_profit_settings(raw, channels) -> ProfitSettings:
    """Validate a settings document (version 1) against the known contact ``channels``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError("$", N_("must be an object"))
    unknown = sorted(
        set(raw) - {"version", "contact_costs", "default_contact_cost", "unknown_cost_ratio"}
    )
    if unknown:
        raise SettingsError(f"$.{unknown[0]}", N_("unknown setting"))
    if raw.get("version", 1) != 1:
        raise SettingsError("$.version", N_("only version 1 is known"))
    costs = dict(DEFAULT_CONTACT_COSTS)
    given = raw.get("contact_costs", {})
    if not isinstance(given, dict):
        raise SettingsError("$.contact_costs", N_("must be an object of channel: cost"))
    for channel, cost in given.items():
        if channel not in channels:
            raise SettingsError(
                f"$.contact_costs.{channel}",
                N_("unknown channel (one of %(choices)s)"),
                choices=", ".join(sorted(channels)),
            )
        costs[channel] = _amount(cost, f"$.contact_costs.{channel}")
    costs = {k: v for k, v in costs.items() if k in channels}
    default = _amount(raw.get("default_contact_cost", 0.0), "$.default_contact_cost")
    ratio = raw.get("unknown_cost_ratio")
    if ratio is not None:
        ratio = _amount(ratio, "$.unknown_cost_ratio", upper=1.0)
    return ProfitSettings(costs, default, ratio)


def observed_cost_ratio(known_cost: float, known_revenue: float) -> float:
    """The shop's cost / revenue on lines whose product cost is known (0 when none)."""
    return float(known_cost / known_revenue) if known_revenue > 0 else 0.0


@dataclass(frozen=True)
class Profit:
    product_cost: np.ndarray
    margin: np.ndarray
    returned_cost: np.ndarray
    profit: np.ndarray


def profit(
    *,
    revenue,
    known_cost,
    unknown_cost_revenue,
    discounts,
    points_redeemed,
    refunds,
    returned_known_cost,
    returned_unknown_amount,
    service_cost,
    cost_ratio: float,
) -> Profit:
    """Per customer: margin = revenue - product cost (unknown costs at ``cost_ratio`` of
    their revenue); profit = margin - discounts - points redeemed - (refunds - cost of the
    goods that came back) - service cost."""
    arrays = [
        np.asarray(a, dtype=float)
        for a in (
            revenue,
            known_cost,
            unknown_cost_revenue,
            discounts,
            points_redeemed,
            refunds,
            returned_known_cost,
            returned_unknown_amount,
            service_cost,
        )
    ]
    rev, kc, ur, disc, pts, ref, rkc, rua, svc = arrays
    product_cost = kc + cost_ratio * ur
    margin = rev - product_cost
    returned_cost = rkc + cost_ratio * rua
    return Profit(
        product_cost=product_cost,
        margin=margin,
        returned_cost=returned_cost,
        profit=margin - disc - pts - (ref - returned_cost) - svc,
    )
