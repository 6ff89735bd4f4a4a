"""The models fitted on the CDNOW sample reproduce the published figures (../shared/data;
skipped where absent). Published: Fader, Hardie & Lee (2005); BTYD; lifetimes."""

import csv
from pathlib import Path

import numpy as np
import pytest

from ecrm.value import rules

CANDIDATES = [
    Path(__file__).resolve().parents[5] / "shared/data/cdnow",
    Path("/work/shared/data/cdnow"),
]
FOLDER = next((p for p in CANDIDATES if (p / "cdnow_customers_summary.csv").is_file()), None)

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(FOLDER is None, reason="../shared/data/cdnow is not here"),
]


def columns(name: str, *fields: str) -> list[np.ndarray]:
    with (FOLDER / name).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [np.array([float(row[f]) for row in rows]) for f in fields]


@pytest.fixture(scope="module")
def summary():
    return columns("cdnow_customers_summary.csv", "frequency", "recency", "T")


@pytest.fixture(scope="module")
def bgnbd(summary):
    return rules.fit_bgnbd(*summary)


def test_bgnbd_matches_published_parameters_and_log_likelihood(bgnbd):
    """BG/NBD on 2,357 customers: r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4."""
    p = bgnbd.params
    assert (bgnbd.customers, bgnbd.groups) == (2357, 1016)
    assert [round(p["r"], 3), round(p["alpha"], 3), round(p["a"], 3), round(p["b"], 3)] == [
        0.243,
        4.414,
        0.793,
        2.426,
    ]
    assert round(bgnbd.log_likelihood, 1) == -9582.4


def test_bgnbd_predictions_match_published_values(bgnbd):
    """E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226; E[X(t)] = 0.0532, 0.1506, 1.0405, 1.8576
    at t = 1, 3, 31.8571, 78 (1.8580 here: the published figure used rounded parameters)."""
    params = list(bgnbd.params.values())
    conditional = rules.bgnbd_conditional_expected_purchases(params, 39, 2, 30.43, 38.86)
    assert round(float(conditional), 3) == 1.226
    expected = rules.bgnbd_expected_purchases(params, [1, 3, 31.8571, 78])
    assert np.round(expected, 4).tolist() == [0.0532, 0.1506, 1.0405, 1.858]
    assert np.max(np.abs(expected - [0.0532, 0.1506, 1.0405, 1.8576])) < 5e-4


def test_bgnbd_probability_alive_of_the_first_customers(bgnbd, summary):
    """P(alive) is 1 without repeat purchases and below 1 after a long silence (the same
    figures as lifetimes' BetaGeoFitter with these parameters)."""
    params = list(bgnbd.params.values())
    x, t_x, T = (column[:4] for column in summary)
    alive = rules.bgnbd_probability_alive(params, x, t_x, T)
    assert np.round(alive, 4).tolist() == [0.7266, 0.2122, 1.0, 1.0]


def test_pareto_nbd_matches_published_parameters_and_log_likelihood(summary):
    """Pareto/NBD: r 0.553, alpha 10.58, s 0.606, beta 11.67, LL -9595.0; P(alive) and
    E[Y(39)] of the first two customers as lifetimes' ParetoNBDFitter gives them."""
    fit = rules.fit_pareto_nbd(*summary)
    p = fit.params
    assert [round(p["r"], 3), round(p["alpha"], 2), round(p["s"], 3), round(p["beta"], 2)] == [
        0.553,
        10.58,
        0.606,
        11.67,
    ]
    assert round(fit.log_likelihood, 1) == -9595.0
    params = list(p.values())
    x, t_x, T = (column[:2] for column in summary)
    assert np.round(rules.pareto_probability_alive(params, x, t_x, T), 4).tolist() == [
        0.8691,
        0.1679,
    ]
    assert np.round(
        rules.pareto_conditional_expected_purchases(params, 39, x, t_x, T), 4
    ).tolist() == [1.4551, 0.171]


def test_gamma_gamma_matches_published_parameters():
    """Gamma-Gamma on the 946 repeat buyers: p 6.25, q 3.74, gamma 15.44 (published to two
    decimals; the maximum here is 15.448)."""
    x, m = columns("cdnow_customers_summary_with_transactions.csv", "x", "zbar")
    fit = rules.fit_gamma_gamma(x, m)
    p = fit.params
    assert fit.customers == 946
    assert [round(p["p"], 2), round(p["q"], 2)] == [6.25, 3.74]
    assert round(p["v"], 3) == 15.448
    assert abs(p["v"] - 15.44) < 0.01
    spend = rules.gamma_gamma_expected_spend(list(p.values()), x[:2], m[:2])
    assert np.round(spend, 2).tolist() == [24.66, 18.91]


def test_clv_of_the_first_customers(bgnbd, summary):
    """12 months of 4.345 weeks, 1% a month: discounted monthly purchases x expected spend,
    as lifetimes' customer_lifetime_value(freq="W") gives 36.28, 4.64, 8.34."""
    x, m = columns("cdnow_customers_summary_with_transactions.csv", "x", "zbar")
    gg = rules.fit_gamma_gamma(x, m)
    f, t_x, T = (column[:3] for column in summary)
    value = rules.bgnbd_clv(
        list(bgnbd.params.values()),
        list(gg.params.values()),
        f,
        t_x,
        T,
        m[:3],
        periods=12,
        period_length=4.345,
        discount_rate=0.01,
    )
    assert np.round(value, 2).tolist() == [36.28, 4.64, 8.34]
