"""Pure model functions on small hand-made and synthetic data."""

import datetime as dt

import numpy as np
import pytest

from ecrm.value import rules

EPOCH = dt.date(1970, 1, 1)


def day(text: str) -> int:
    return (dt.date.fromisoformat(text) - EPOCH).days


TRANSACTIONS = [
    ("A", "2020-01-01", 10.0),
    ("A", "2020-01-01", 5.0),
    ("A", "2020-01-08", 20.0),
    ("A", "2020-01-15", 30.0),
    ("A", "2020-02-10", 99.0),
    ("B", "2020-01-29", 7.5),
    ("C", "2020-02-05", 12.0),
    ("D", "2020-01-10", 1.0),
    ("D", "2020-01-10", 2.0),
]


def summary_of(unit_days: int) -> rules.Summary:
    customers = [c for c, _, _ in TRANSACTIONS]
    days = [day(d) for _, d, _ in TRANSACTIONS]
    amounts = [a for _, _, a in TRANSACTIONS]
    return rules.summarise(customers, days, amounts, day("2020-01-31"), unit_days)


def test_summarise_in_weeks():
    """Same-day purchases are one purchase; later purchases and customers are left out;
    monetary is the mean of the repeat days (A: (20 + 30) / 2)."""
    s = summary_of(7)
    assert s.customer.tolist() == ["A", "B", "D"]
    assert s.frequency.tolist() == [2, 0, 0]
    assert np.round(s.recency, 6).tolist() == [2.0, 0.0, 0.0]
    assert np.round(s.T, 6).tolist() == [4.285714, 0.285714, 3.0]
    assert s.monetary.tolist() == [25.0, 0.0, 0.0]


def test_summarise_in_days():
    """In days, recency and T are whole day counts from the first purchase."""
    s = summary_of(1)
    assert (s.recency.tolist(), s.T.tolist()) == ([14.0, 0.0, 0.0], [30.0, 2.0, 21.0])


def test_group_rows_counts_and_inverse():
    """Distinct rows come sorted with their counts; the inverse rebuilds the input."""
    x = [1, 0, 1, 1, 0]
    t = [2.0, 0.0, 2.0, 3.0, 0.0]
    (gx, gt), counts, inverse = rules.group_rows(x, t)
    assert (gx.tolist(), gt.tolist(), counts.tolist()) == (
        [0.0, 1.0, 1.0],
        [0.0, 2.0, 3.0],
        [2.0, 2.0, 1.0],
    )
    assert gx[inverse].tolist() == [1.0, 0.0, 1.0, 1.0, 0.0]


def test_grouped_log_likelihood_equals_the_ungrouped_sum():
    """Weighting distinct rows by their counts gives the per-customer total exactly."""
    rng = np.random.default_rng(7)
    T = rng.integers(180, 273, size=5000) / 7.0
    x, t_x = rules.sample_bgnbd((0.243, 4.414, 0.793, 2.426), T, rng)
    (gx, gt, gT), counts, _ = rules.group_rows(x, t_x, T)
    params = (0.3, 5.0, 0.7, 2.0)
    grouped = rules.bgnbd_log_likelihood(params, gx, gt, gT, counts)
    assert grouped == pytest.approx(rules.bgnbd_log_likelihood(params, x, t_x, T), rel=1e-12)


def test_bgnbd_recovers_the_parameters_it_was_sampled_from():
    """200,000 customers drawn with r 0.243, alpha 4.414, a 0.793, b 2.426 (seed 1) give
    back the parameters within sampling error."""
    rng = np.random.default_rng(1)
    T = (273 - rng.integers(0, 84, size=200_000)) / 7.0
    x, t_x = rules.sample_bgnbd((0.243, 4.414, 0.793, 2.426), T, rng)
    fit = rules.fit_bgnbd(x, t_x, T)
    assert {k: round(v, 2) for k, v in fit.params.items()} == {
        "r": 0.24,
        "alpha": 4.31,
        "a": 0.78,
        "b": 2.36,
    }


def test_expected_purchases_of_the_two_models_at_zero_are_zero():
    """Nobody buys in an empty window."""
    assert rules.bgnbd_expected_purchases((0.243, 4.414, 0.793, 2.426), 0.0) == 0.0
    assert rules.pareto_expected_purchases((0.553, 10.58, 0.606, 11.67), 0.0) == 0.0


def test_fit_refuses_inconsistent_rows():
    """Recency beyond T, or recency without repeat purchases, is refused."""
    with pytest.raises(ValueError, match="recency"):
        rules.fit_bgnbd([1, 0], [5.0, 1.0], [4.0, 4.0])
