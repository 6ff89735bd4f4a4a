"""``score_customers``: the summary read from the orders, the fits and what is stored."""

import datetime as dt
import zoneinfo
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecrm.customers.tests import factories as f
from ecrm.value import api, rules, services
from ecrm.value.models import CustomerPrediction, PredictionRun
from ecrm.value.tests.shop import NOW, buyers, plan

pytestmark = pytest.mark.django_db

COUNT = 40


def expected_summary():
    """(x, t_x, T, m) in weeks computed by hand from the shop's plan: an order placed
    ``d`` days (and an hour) before NOW falls on the local day ``d`` days before it."""
    x, t_x, T, m = [], [], [], []
    for k in range(COUNT):
        orders = plan(k)
        first, last = orders[0][0], orders[-1][0]
        x.append(len(orders) - 1)
        t_x.append((first - last) / 7)
        T.append(first / 7)
        repeat = [float(total) for _days, total in orders[1:]]
        m.append(sum(repeat) / len(repeat) if repeat else 0.0)
    return np.array(x, float), np.array(t_x), np.array(T), np.array(m)


def test_horizon_cuts_months_and_discounts_each_at_its_share_of_the_annual_rate():
    h = rules.Horizon(365, 0.10)
    assert (h.periods, round(h.period_days, 4), round(h.period_rate, 8)) == (
        12,
        30.4167,
        round(1.1 ** (1 / 12) - 1, 8),
    )
    assert rules.Horizon(10, 0.0).periods == 1
    with pytest.raises(ValueError, match="horizon_days"):
        rules.Horizon(0, 0.1)
    with pytest.raises(ValueError, match="discount_rate"):
        rules.Horizon(365, -0.1)


def test_local_days_follow_the_zone_offset_including_daylight_saving():
    """23:30 UTC is that day in London in winter, the next day in summer (BST), and the
    next day in Shanghai (UTC+8) all year. 10 July is 181 days after 10 January."""
    jan = (dt.datetime(2026, 1, 10, 23, 30, tzinfo=dt.UTC) - services.EPOCH).days
    base = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def days(moment):
        return (moment - base).total_seconds() / 86400

    winter = dt.datetime(2026, 1, 10, 23, 30, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 10, 23, 30, tzinfo=dt.UTC)
    london = zoneinfo.ZoneInfo("Europe/London")
    got = services.local_days(np.array([days(winter), days(summer)]), london)
    assert got.tolist() == [jan, jan + 182]
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    assert services.local_days(np.array([days(winter)]), shanghai).tolist() == [jan + 1]


def test_score_customers_stores_the_models_predictions_for_every_buyer():
    """The stored figures are exactly what the models give on the hand-made summary, with
    the parameters the run fitted (which are those of a direct fit of that summary)."""
    ids = buyers()
    f.order(ids["c0"], "X-cancel", total="5000.00", placed_at=NOW, status="cancelled")
    run = api.score_customers(now=NOW, horizon_days=365, discount_rate=0.1, pareto_sample=0)
    x, t_x, T, m = expected_summary()
    bg = rules.fit_bgnbd(x, t_x, T)
    gg = rules.fit_gamma_gamma(x, m)
    assert run.fits["bgnbd"]["params"] == {k: float(f"{v:.10g}") for k, v in bg.params.items()}
    assert run.fits["gamma_gamma"]["params"] == {
        k: float(f"{v:.10g}") for k, v in gg.params.items()
    }
    assert "pareto_nbd" not in run.fits
    assert (run.customers, run.repeat_buyers) == (COUNT, int((x > 0).sum()))
    assert (run.horizon_days, run.discount_rate) == (365, 0.1)
    assert sorted(run.timings) == ["fit", "read", "score", "write"]
    predicted = rules.predict(
        list(bg.params.values()),
        list(gg.params.values()),
        x,
        t_x,
        T,
        m,
        horizon=rules.Horizon(365, 0.1),
    )
    rows = {p.customer_id: p for p in CustomerPrediction.objects.all()}
    assert len(rows) == COUNT
    for k in range(COUNT):
        row = rows[ids[f"c{k}"]]
        assert (row.frequency, row.recency, row.age) == (
            int(x[k]),
            round(t_x[k] * 7, 6),
            round(T[k] * 7, 6),
        )
        assert row.monetary == Decimal(str(round(m[k], 4))).quantize(Decimal("0.0001"))
        assert row.p_alive == pytest.approx(predicted.p_alive[k], abs=1e-8)
        assert row.expected_purchases == pytest.approx(predicted.expected_purchases[k], abs=1e-8)
        assert float(row.clv) == pytest.approx(predicted.clv[k], abs=1e-4)
        assert (row.run_id, row.pareto_p_alive) == (run.pk, None)
    assert float(run.total_clv) == pytest.approx(float(predicted.clv.sum()), abs=0.01)


def test_customer_zero_has_these_figures():
    """Customer 0 ordered once, 2 days (and an hour) before the run: no repeat purchase,
    alive for sure under BG/NBD, expected order value Gamma-Gamma's population mean."""
    ids = buyers()
    api.score_customers(now=NOW, pareto_sample=0)
    row = CustomerPrediction.objects.get(customer_id=ids["c0"])
    x, _t_x, _T, m = expected_summary()
    p, q, v = rules.fit_gamma_gamma(x, m).params.values()
    assert plan(0) == [(2, "60.00")]
    assert (row.frequency, row.recency, row.age, row.monetary, row.p_alive) == (
        0,
        0.0,
        2.0,
        Decimal("0.0000"),
        1.0,
    )
    assert float(row.expected_order_value) == pytest.approx(p * v / (q - 1), abs=1e-4)


def test_pareto_nbd_is_fitted_on_a_sample_and_scores_everyone():
    buyers()
    run = api.score_customers(now=NOW, pareto_sample=1000)
    assert (run.fits["pareto_nbd"]["customers"], run.fits["pareto_nbd"]["converged"]) == (
        40,
        True,
    )
    assert CustomerPrediction.objects.filter(pareto_p_alive__isnull=True).count() == 0


def test_a_second_run_replaces_the_first():
    buyers()
    api.score_customers(now=NOW, pareto_sample=0)
    second = api.score_customers(now=NOW + dt.timedelta(days=1), pareto_sample=0)
    assert set(CustomerPrediction.objects.values_list("run_id", flat=True)) == {second.pk}
    assert PredictionRun.objects.count() == 2
    assert services.prediction_settings() == {"horizon_days": 365, "discount_rate": 0.1}


def test_too_few_repeat_buyers_is_refused_and_nothing_is_written():
    a = f.customer("安娜").pk
    f.order(a, "A-1", placed_at=NOW - dt.timedelta(days=30))
    f.order(a, "A-2", placed_at=NOW - dt.timedelta(days=3))
    with pytest.raises(api.NotEnoughData, match="1 customers bought more than once"):
        api.score_customers(now=NOW)
    assert (PredictionRun.objects.count(), CustomerPrediction.objects.count()) == (0, 0)


def test_score_command_prints_the_run_and_names_bad_options():
    buyers()
    out = StringIO()
    call_command("value", "score", "--horizon-days", "180", "--pareto-sample", "0", stdout=out)
    assert '"customers": 40' in out.getvalue()
    assert '"horizon_days": 180' in out.getvalue()
    with pytest.raises(CommandError, match="horizon_days must be a whole number"):
        call_command("value", "score", "--horizon-days", "0")
    with pytest.raises(CommandError, match="discount_rate must be at least 0"):
        call_command("value", "score", "--discount-rate", "-1")
