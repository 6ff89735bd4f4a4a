"""Loading the demo shop writes consistent rows in every table, reproducibly."""

import datetime as dt
import hashlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ecrm.catalog.models import Product
from ecrm.contacts.models import Contact
from ecrm.core.testing import worker_in_line
from ecrm.customers.models import Customer, Identity
from ecrm.demo import services
from ecrm.events.models import Event
from ecrm.figures import api as figures
from ecrm.figures.models import CustomerFigures
from ecrm.orders.models import Order, OrderLine, Return, ReturnLine

UNTIL = dt.date(2026, 6, 30)
# Pinned: the generator is deterministic, so a change here is a change of the demo.
EXPECTED_ROWS = {
    "category": 31,
    "brand": 73,
    "product": 300,
    "customer": 200,
}


def _load(**kwargs):
    return services.load_demo(customers=200, seed=7, until=UNTIL, **kwargs)


def _digest() -> str:
    """A fingerprint of customers, orders, lines and events as stored."""
    h = hashlib.sha256()
    for model, fields in (
        (Customer, ("pk", "name", "phone", "email", "registered_at", "province")),
        (Identity, ("pk", "customer_id", "kind", "value")),
        (Order, ("pk", "external_id", "customer_id", "status", "total", "placed_at")),
        (OrderLine, ("pk", "order_id", "sku", "quantity", "amount")),
        (Event, ("pk", "message_id", "customer_id", "name", "timestamp", "properties")),
    ):
        for row in model.objects.order_by("pk").values_list(*fields):
            h.update(repr(row).encode())
    return h.hexdigest()


def _figures() -> list[tuple]:
    return list(
        CustomerFigures.objects.order_by("customer_id").values_list(
            "customer_id",
            "order_count",
            "revenue",
            "return_count",
            "returned_amount",
            "first_order_at",
            "last_order_at",
            "last_seen_at",
            "distinct_products",
            "distinct_categories",
        )
    )


@pytest.mark.django_db
def test_tiny_demo_row_counts_match_the_report_and_the_plan():
    """200 customers give the pinned catalogue and as many rows in each table as reported."""
    report = _load()
    stored = {
        "category": Product.category.field.related_model.objects.count(),
        "brand": Product.brand.field.related_model.objects.count(),
        "product": Product.objects.count(),
        "customer": Customer.objects.count(),
        "identity": Identity.objects.count(),
        "order": Order.objects.count(),
        "order_line": OrderLine.objects.count(),
        "return": Return.objects.count(),
        "return_line": ReturnLine.objects.count(),
        "event": Event.objects.count(),
        "contact": Contact.objects.count(),
    }
    assert {k: stored[k] for k in EXPECTED_ROWS} == EXPECTED_ROWS
    assert {k: report.rows[k] for k in stored} == stored
    assert CustomerFigures.objects.count() == 200


@pytest.mark.django_db
def test_every_identified_customer_has_user_id_phone_and_pinyin():
    """Named customers have a user id and phone identity, a Chinese name and its pinyin."""
    _load()
    named = Customer.objects.filter(is_anonymous=False)
    with_user_id = set(
        Identity.objects.filter(kind="user_id").values_list("customer_id", flat=True)
    )
    with_phone = {
        (cid, value)
        for cid, value in Identity.objects.filter(kind="phone").values_list("customer_id", "value")
    }
    assert set(named.values_list("pk", flat=True)) == with_user_id
    assert set(named.values_list("pk", "phone")) == with_phone
    assert named.filter(name_pinyin="").count() == 0
    assert named.filter(name_initials="").count() == 0


@pytest.mark.django_db
def test_figures_equal_a_recompute():
    """The figures after loading are exactly what recompute_all() produces again."""
    _load()
    loaded = _figures()
    figures.recompute_all()
    assert _figures() == loaded
    assert sum(row[1] for row in loaded) == Order.objects.exclude(status="cancelled").count()


@pytest.mark.django_db
def test_foreign_keys_hold():
    """Every row points at rows that exist."""
    _load()
    connection.check_constraints()


@pytest.mark.django_db
def test_same_seed_reloads_identical_rows():
    """Loading again with --reset and the same seed stores the very same rows."""
    _load()
    first = _digest()
    _load(reset=True)
    assert _digest() == first


@pytest.mark.django_db
def test_loading_twice_without_reset_is_refused():
    """A second load without --reset says what is there and changes nothing."""
    _load()
    with pytest.raises(services.DemoError, match="ecrm demo --reset"):
        _load()
    assert Customer.objects.count() == 200


@pytest.mark.django_db
def test_demo_staff_have_roles_and_departments():
    """The five demo logins exist with their roles and departments, and log contacts."""
    report = _load()
    users = get_user_model().objects.filter(username__in=[u for u, _, _ in report.logins])
    roles = {u.username: (u.staff_profile.role, u.staff_profile.department.code) for u in users}
    assert roles == {
        "admin": ("admin", "hq"),
        "marketer": ("marketer", "marketing"),
        "service": ("service_agent", "service"),
        "sales": ("sales_rep", "sales"),
        "analyst": ("analyst", "analytics"),
    }
    employees = set(Contact.objects.values_list("employee__username", flat=True))
    assert employees == {"service", "sales"}
    assert users.get(username="admin").check_password("ecrm-demo")


@pytest.mark.django_db
def test_demo_shop_has_customer_value_scored_and_a_segment_by_rfm_group():
    """A newcomer's console shows RFM groups, predicted value and profit right after the
    load (not "wait for the nightly job"), and the win-back segment picks by RFM group."""
    from ecrm.customers.models import Consent
    from ecrm.segments.models import Member, Segment
    from ecrm.value.models import CustomerProfit, CustomerScore, ProfitRun, RfmRun

    _load()

    rfm_run = RfmRun.objects.get()
    profit_run = ProfitRun.objects.get()
    assert rfm_run.customers == CustomerScore.objects.count() > 0
    assert profit_run.customers == CustomerProfit.objects.count() > 0
    at_risk = set(
        CustomerScore.objects.filter(rfm_group__in=["at_risk", "cant_lose"]).values_list(
            "customer_id", flat=True
        )
    )
    no_sms = set(
        Consent.objects.filter(channel="sms", status="denied").values_list("customer_id", flat=True)
    )
    segment = Segment.objects.get(name="高价值流失风险客户")
    members = set(Member.objects.filter(segment=segment).values_list("customer_id", flat=True))
    assert members == at_risk - no_sms
    assert members


@pytest.mark.django_db
def test_a_large_demo_says_the_worker_builds_the_reports_first(monkeypatch):
    """Above ``INLINE_UP_TO`` customers the reports and customer value are left to the worker;
    on SQLite the command says that saving may be refused meanwhile."""
    monkeypatch.setattr(services, "INLINE_UP_TO", 100)
    out = io.StringIO()
    with worker_in_line():
        call_command(
            "demo", "--customers", "200", "--seed", "7", "--until", "2026-06-30", stdout=out
        )

    last = out.getvalue().splitlines()[-1]
    if connection.vendor == "sqlite":
        assert last == (
            "the worker it starts first builds the reports and scores customer value: minutes at "
            "this size, during which saving in the console may be refused with 'busy, try again "
            "in a minute' (503)"
        )
    else:
        assert last == "start the console with `ecrm serve` and open http://127.0.0.1:8000"


@pytest.mark.parametrize("count", ["-5", "0"])
def test_a_demo_of_no_customers_is_refused_before_anything_is_done(count):
    """It said "database ready" and "generating a demo shop of -5 customers" first, having
    created or migrated a database for nothing."""
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("demo", "--customers", count, stdout=out)

    assert (str(info.value), out.getvalue()) == ("--customers must be at least 1", "")
