"""``compute_rfm`` on a small shop, the ``ecrm value rfm`` command and the /value/ page."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from ecrm.customers.tests import factories as f
from ecrm.figures import api as figures
from ecrm.staff import api as staff
from ecrm.staff.models import Role
from ecrm.value import api
from ecrm.value.models import CustomerScore

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def ago(days: int) -> dt.datetime:
    # An hour more than whole days, so the day count is never on a boundary.
    return NOW - dt.timedelta(days=days, hours=1)


def shop() -> dict[str, int]:
    """Five buyers and one customer who never ordered."""
    a = f.customer("安娜").pk
    f.order(a, "A-1", total="100.00", placed_at=ago(90))
    f.order(a, "A-2", total="200.00", placed_at=ago(20))
    f.order(a, "A-3", total="300.00", placed_at=ago(2))
    b = f.customer("白露").pk
    f.order(b, "B-1", total="50.00", placed_at=ago(10))
    f.order(b, "B-X", total="999.00", placed_at=ago(5), status="cancelled")
    c = f.customer("陈晨").pk
    f.order(c, "C-1", total="400.00", placed_at=ago(250))
    f.order(c, "C-2", total="100.00", placed_at=ago(200))
    d = f.customer("邓迪").pk
    f.order(d, "D-1", total="80.00", placed_at=ago(400))
    e = f.customer("鄂尔").pk
    f.order(e, "E-1", total="20.00", placed_at=ago(30))
    n = f.customer("宁静").pk
    figures.recompute_all()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "n": n}


def stored() -> dict[int, tuple]:
    return {
        s.customer_id: (s.r, s.f, s.m, s.rfm_group, s.revenue, s.dormant, s.low_return)
        for s in CustomerScore.objects.all()
    }


def test_compute_rfm_scores_buyers_in_a_365_day_window():
    """R from the last order ever; F and M from orders of the last 365 days (cancelled left
    out); dormant after 180 days; low return at or below 25 of net revenue."""
    ids = shop()

    run = api.compute_rfm(now=NOW, window_days=365, min_revenue=25)

    assert stored() == {
        ids["a"]: (5, 5, 5, "champions", Decimal("600.0000"), False, False),
        ids["b"]: (4, 2, 3, "potential_loyalists", Decimal("50.0000"), False, False),
        ids["c"]: (2, 4, 4, "at_risk", Decimal("500.0000"), True, False),
        ids["d"]: (1, 1, 1, "lost", Decimal("0.0000"), True, False),
        ids["e"]: (3, 2, 2, "about_to_sleep", Decimal("20.0000"), False, True),
    }
    assert (run.customers, run.window_days, run.dormant_days) == (5, 365, 180)
    assert run.top20_share == 600 / 1170
    assert run.curve[0] == [0.0, 0.0]
    assert run.curve[-1] == [1.0, 1.0]


def test_compute_rfm_without_a_window_uses_all_orders():
    """Without a window F is the order count and M the net revenue of all time."""
    ids = shop()

    api.compute_rfm(now=NOW, window_days=None)

    assert stored()[ids["d"]] == (1, 1, 3, "hibernating", Decimal("80.0000"), True, False)


def test_compute_rfm_replaces_the_previous_scores():
    """A second run rewrites every row: D's new order counts, the old one (400 days) is
    outside the window; C (200 days) and E (30 days) are dormant after 30 days."""
    ids = shop()
    api.compute_rfm(now=NOW)
    f.order(ids["d"], "D-2", total="900.00", placed_at=ago(1))
    figures.recompute_all()

    api.compute_rfm(now=NOW, dormant_days=30)

    assert api.score_of(ids["d"]) == api.CustomerRfm(
        customer_id=ids["d"],
        r=5,
        f=1,
        m=5,
        group="potential_loyalists",
        group_en="Potential loyalists",
        group_zh="潜在忠诚客户",
        dormant=False,
        low_return=False,
        computed_at=NOW,
    )
    assert api.score_of(ids["n"]) is None
    assert CustomerScore.objects.filter(dormant=True).count() == 2


def test_group_counts_and_flag_counts():
    """Every group is listed in order; shares of customers and of window revenue."""
    shop()
    api.compute_rfm(now=NOW, min_revenue=25)

    counts = {g.code: (g.customers, g.share, g.revenue_share) for g in api.group_counts()}

    assert counts["champions"] == (1, 0.2, 600 / 1170)
    assert counts["lost"] == (1, 0.2, 0.0)
    assert counts["loyal"] == (0, 0.0, 0.0)
    assert len(counts) == 11
    assert api.flag_counts() == {"scored": 5, "dormant": 2, "low_return": 1}


def test_the_command_prints_group_counts_and_the_80_20_figure():
    """``ecrm value rfm`` scores and prints a table and the top-20 % share."""
    shop()
    out = StringIO()

    call_command("value", "rfm", "--window-days", "0", "--dormant-days", "100", stdout=out)

    text = out.getvalue()
    assert "customers scored: 5" in text
    assert "top 20% of customers bring 48.0% of revenue" in text
    assert "dormant (no order in 100 days): 2; low return: 0" in text


def test_group_names_translate_to_the_chinese_names_of_the_table():
    """The zh_Hans catalogue gives each group its Chinese name from ``rfm.GROUPS``."""
    from ecrm.value.rfm import GROUPS

    with translation.override("zh-hans"):
        names = [translation.gettext(g.en) for g in GROUPS]

    assert names == [g.zh for g in GROUPS]


def client_for(role: str) -> Client:
    client = Client()
    client.force_login(staff.create_staff(f"{role}-1", "pass-word-123", role))
    return client


def test_the_value_page_shows_groups_curve_and_flags_to_an_analyst():
    """An analyst sees the group table in Chinese, the SVG curve and the 80/20 figure."""
    shop()
    api.compute_rfm(now=NOW, min_revenue=25)

    response = client_for(Role.ANALYST).get("/value/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = response.content.decode()
    assert response.status_code == 200
    assert "重要价值客户" in html
    assert '<polyline class="pareto" points="40.0,260.0 ' in html
    assert "51.3%" in html
    assert 'href="/value/"' in html


def test_the_value_page_before_any_run_says_so():
    """No scores yet: the page renders and tells how to compute them."""
    response = client_for(Role.ANALYST).get("/value/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "No RFM scores yet" in response.content.decode()


def test_the_value_page_is_forbidden_to_a_service_agent():
    """A service agent lacks ``view_analytics``: 403, and no sidebar link."""
    client = client_for(Role.SERVICE_AGENT)

    assert client.get("/value/").status_code == 403
    assert 'href="/value/"' not in client.get("/").content.decode()


def test_a_re_run_writes_only_the_differences(monkeypatch):
    """A re-run (told never to rewrite the table) updates the customers whose scores
    changed, deletes those no longer scored (E, merged) and inserts the new ones (N);
    every row gets the new time. The result is what a full rewrite stores."""
    from ecrm.customers.models import Customer
    from ecrm.value import services

    ids = shop()
    api.compute_rfm(now=NOW)
    monkeypatch.setattr(services, "REWRITE_SHARE", float("inf"))
    monkeypatch.setattr(services, "replace_rows", None)  # not called
    later = NOW + dt.timedelta(days=1)
    f.order(ids["d"], "D-2", total="900.00", placed_at=ago(1))
    f.order(ids["n"], "N-1", total="10.00", placed_at=ago(3))
    Customer.objects.filter(pk=ids["e"]).update(merged_into_id=ids["a"])
    figures.recompute_all()

    api.compute_rfm(now=later)

    expected = {
        ids["a"]: (4, 5, 4, "loyal", Decimal("600.0000"), False, False),
        ids["b"]: (2, 1, 2, "hibernating", Decimal("50.0000"), False, False),
        ids["c"]: (1, 4, 3, "at_risk", Decimal("500.0000"), True, False),
        ids["d"]: (5, 1, 5, "potential_loyalists", Decimal("900.0000"), False, False),
        ids["n"]: (3, 1, 1, "about_to_sleep", Decimal("10.0000"), False, False),
    }
    assert stored() == expected
    assert api.score_of(ids["a"]).computed_at == later
    monkeypatch.undo()
    monkeypatch.setattr(services, "REWRITE_SHARE", -1.0)  # always rewrite
    api.compute_rfm(now=later)
    assert stored() == expected


def test_a_re_run_with_nothing_changed_writes_no_score(monkeypatch):
    """Nothing changed: the scores stay, the time is the new run's."""
    from ecrm.value import services

    ids = shop()
    api.compute_rfm(now=NOW)
    before = stored()
    monkeypatch.setattr(services, "REWRITE_SHARE", 0.0)
    monkeypatch.setattr(services, "replace_rows", None)  # not called
    later = NOW + dt.timedelta(hours=1)

    api.compute_rfm(now=later)

    assert stored() == before
    assert api.score_of(ids["a"]).computed_at == later


def test_window_sums_join_their_customers_whatever_order_the_database_returns():
    """PostgreSQL's hash aggregate returns the window's groups unsorted; each customer still
    gets their own count and sum (it used to be 0 and 0 for nearly everyone there)."""
    import numpy as np

    from ecrm.value.services import _with_window

    figures = np.array([[1, 5, 2, 100, 0], [6, 9, 4, 300, 0], [7, 40, 1, 20, 0]], dtype=float)
    window = np.array([[7, 1, 20], [1, 2, 100]], dtype=float)  # as PostgreSQL gave them

    joined = _with_window(figures, window)

    assert joined.tolist() == [
        [1, 5, 2, 100, 0, 2, 100],
        [6, 9, 4, 300, 0, 0, 0],
        [7, 40, 1, 20, 0, 1, 20],
    ]
