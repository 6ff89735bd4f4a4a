"""The customer-value console: predictions and profit on /value/, the profitability list
with its CSV, the settings forms and the card on Customer 360."""

import pytest
from django.test import Client

from ecrm.core.models import AuditEntry
from ecrm.staff import api as staff
from ecrm.staff.models import Role
from ecrm.value import api
from ecrm.value.tests import test_profit
from ecrm.value.tests.shop import NOW, buyers

pytestmark = pytest.mark.django_db


def client_for(role: str) -> Client:
    client = Client()
    client.force_login(staff.create_staff(f"{role}-1", "pass-word-123", role))
    return client


def test_value_page_shows_predictions_and_profit():
    ids = buyers()
    api.compute_rfm(now=NOW)
    run = api.score_customers(now=NOW, pareto_sample=0)
    api.compute_profit(now=NOW)
    page = client_for(Role.ANALYST).get("/value/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "BG/NBD" in page and "Gamma-Gamma" in page
    assert f'<div class="value">{run.customers}</div>' in page
    top = api.segment_facts(ids["c0"])  # any customer: the top list links to profiles
    assert top["clv"] is not None
    assert 'id="top-clv"' in page and 'id="p-alive"' in page and 'id="clv-bands"' in page
    zh = client_for(Role.ADMIN).get("/value/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "预测客户价值" in zh


def test_profitability_lists_least_profitable_first_and_filters_by_group():
    ids = test_profit.shop()
    api.compute_rfm(now=test_profit.NOW)
    api.compute_profit(now=test_profit.NOW)
    client = client_for(Role.ANALYST)
    page = client.get("/value/profit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    order = [ids["b"], ids["a"], ids["c"]]  # profits -4, 23, 40
    positions = [page.index(f'data-customer="{pk}"') for pk in order]
    assert positions == sorted(positions)
    page = client.get("/value/profit/?order=-profit").content.decode()
    positions = [page.index(f'data-customer="{pk}"') for pk in order]
    assert positions == sorted(positions, reverse=True)
    group = api.score_of(ids["c"]).group
    page = client.get(f"/value/profit/?group={group}").content.decode()
    shown = {pk for pk in ids.values() if f'data-customer="{pk}"' in page}
    assert shown == {pk for pk in ids.values() if (s := api.score_of(pk)) and s.group == group}


def test_profitability_pages_by_keyset():
    ids = test_profit.shop()
    api.compute_profit(now=test_profit.NOW)
    from ecrm.value.web import views

    views.PAGE, saved = 2, views.PAGE
    try:
        client = client_for(Role.ANALYST)
        first = client.get("/value/profit/").content.decode()
        assert f'data-customer="{ids["c"]}"' not in first
        assert f"after=-4.0000_{ids['b']}" not in first
        assert f"&after=23.0000_{ids['a']}" in first
        second = client.get(f"/value/profit/?after=23.0000_{ids['a']}").content.decode()
        assert [pk for pk in ids.values() if f'data-customer="{pk}"' in second] == [ids["c"]]
    finally:
        views.PAGE = saved


def test_csv_export_has_every_row_in_order():
    ids = test_profit.shop()
    api.compute_profit(now=test_profit.NOW)
    response = client_for(Role.ANALYST).get("/value/profit.csv?order=-profit")
    body = b"".join(response.streaming_content).decode("utf-8")
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("customer_id,name,rfm_group,orders,revenue")
    assert [line.split(",")[0] for line in lines[1:]] == [
        str(ids["c"]),
        str(ids["a"]),
        str(ids["b"]),
    ]
    assert lines[2].split(",")[-1] == "23.0000"
    assert response["Content-Disposition"] == 'attachment; filename="customer-profit.csv"'


def test_settings_forms_queue_runs_audit_them_and_refuse_bad_values():
    client = client_for(Role.MARKETER)
    assert "cost_phone" in client.get("/value/settings/").content.decode()
    response = client.post(
        "/value/run/profit/",
        {f"cost_{c}": "1" for c in test_profit.CHANNELS} | {"unknown_cost_ratio": ""},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="value.profit_run")
    assert entry.after["contact_costs"]["phone"] == 1.0
    response = client.post(
        "/value/run/rfm/",
        {
            "window_days": "0",
            "dormant_days": "0",
            "low_return_revenue": "0",
            "low_return_ratio": "0.5",
        },
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "dormant_days: must be at least 1" in response.content.decode()
    assert not AuditEntry.objects.filter(action="value.rfm_run").exists()
    response = client.post(
        "/value/run/predictions/",
        {"horizon_days": "x", "discount_rate": "0.1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "horizon_days: must be a number" in response.content.decode()


RFM_FORM = {
    "window_days": "365",
    "dormant_days": "180",
    "low_return_revenue": "0",
    "low_return_ratio": "0.5",
}


@pytest.mark.parametrize(
    ("language", "too_small", "not_a_number"),
    [
        ("zh-hans", "dormant_days: 不能小于 1", "horizon_days: 必须是数字"),
        ("en", "dormant_days: must be at least 1", "horizon_days: must be a number"),
    ],
)
def test_refused_settings_speak_the_consoles_language(language, too_small, not_a_number):
    """A refused run names the setting (never translated) and says why in the console's
    language, whether the rules or the form refused it; nothing is queued."""
    client = client_for(Role.MARKETER)
    rfm = RFM_FORM | {"dormant_days": "0"}

    refused_rfm = client.post(
        "/value/run/rfm/", rfm, follow=True, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    refused_predictions = client.post(
        "/value/run/predictions/",
        {"horizon_days": "x", "discount_rate": "0.1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()

    assert f'<li class="error">{too_small}</li>' in refused_rfm
    assert f'<li class="error">{not_a_number}</li>' in refused_predictions
    assert not AuditEntry.objects.filter(action__in=["value.rfm_run", "value.predict_run"]).exists()


def test_service_agents_may_not_run_value_jobs():
    client = client_for(Role.SERVICE_AGENT)
    response = client.post("/value/run/rfm/", {"window_days": "365"})
    assert response.status_code == 403


def test_customer_360_shows_the_value_card():
    ids = buyers()
    api.compute_rfm(now=NOW)
    api.score_customers(now=NOW, pareto_sample=0)
    api.compute_profit(now=NOW)
    card = api.customer_card(ids["c1"])
    page = client_for(Role.ADMIN).get(f"/customers/{ids['c1']}/").content.decode()
    assert 'id="customer-value"' in page
    assert f"{card.prediction['p_alive']:.2f}" in page
    empty = client_for(Role.ANALYST).get(f"/customers/{ids['never']}/").content.decode()
    assert 'id="customer-value"' in empty


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("low_return_revenue", "NaN", "low_return_revenue: must be a number"),
        ("low_return_revenue", "1e400", "low_return_revenue: must be a number"),
        ("low_return_revenue", "1e13", "low_return_revenue: must be at most 9999999999999"),
        ("window_days", "99999999999999999999999", "window_days: must be at most 36500"),
        ("dormant_days", "40000", "dormant_days: must be at most 36500"),
    ],
)
def test_rfm_settings_no_run_could_use_are_refused_before_queueing(field, value, shown):
    """NaN reached the audit entry (invalid JSON: a 500) and huge day counts reached the
    worker, whose run then failed on a date it could not compute."""
    client = client_for(Role.MARKETER)
    chosen = RFM_FORM | {field: value}

    response = client.post("/value/run/rfm/", chosen, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert f'<li class="error">{shown}</li>' in response.content.decode()
    assert not AuditEntry.objects.filter(action="value.rfm_run").exists()
