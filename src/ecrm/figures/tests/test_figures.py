"""Derived figures: incremental refresh equals the full recompute, exactly."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.catalog import api as catalog
from ecrm.core.audit import SYSTEM
from ecrm.customers.tests import factories
from ecrm.events.models import Event
from ecrm.figures import api as figures
from ecrm.figures.models import CustomerFigures
from ecrm.orders import api as orders

pytestmark = pytest.mark.django_db

FIELDS = [f.name for f in CustomerFigures._meta.fields]


def _snapshot():
    return sorted(CustomerFigures.objects.values_list(*FIELDS))


def test_figures_follow_orders_returns_cancellations_and_events():
    catalog.upsert_products(
        [
            catalog.ProductInput(sku="TV-1", name="电视", category="家电/电视"),
            catalog.ProductInput(sku="PH-1", name="手机", category="数码/手机"),
        ]
    )
    c = factories.customer(name="孙丽")
    factories.order(
        c.pk, "O-1", total="1000.00", sku="TV-1", placed_at=dt.datetime(2026, 6, 18, tzinfo=dt.UTC)
    )
    factories.order(
        c.pk,
        "O-2",
        total="500.00",
        sku="PH-1",
        quantity=2,
        placed_at=dt.datetime(2026, 11, 11, tzinfo=dt.UTC),
    )
    factories.order(c.pk, "O-3", total="80.00", sku="PH-1")
    orders.set_order_status("O-3", "cancelled", actor=SYSTEM)
    orders.record_return(
        orders.ReturnInput(
            external_id="R-1",
            order_external_id="O-2",
            currency="CNY",
            returned_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
            amount=Decimal("250.00"),
        ),
        customer_id=None,
    )
    Event.objects.create(
        message_id="late",
        type="page",
        customer_id=c.pk,
        timestamp=dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
        received_at=dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
    )
    figures.refresh_customers([c.pk])
    f = figures.figures_of(c.pk)
    assert (f.order_count, f.revenue, f.average_order_value) == (
        2,
        Decimal("1250.0000"),
        Decimal("750.0000"),
    )
    assert (f.return_count, f.returned_amount) == (1, Decimal("250.0000"))
    assert (f.first_order_at, f.last_order_at, f.last_seen_at) == (
        dt.datetime(2026, 6, 18, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 11, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
    )
    assert (f.distinct_products, f.distinct_categories) == (2, 2)


def test_incremental_figures_equal_full_recompute():
    a = factories.customer(name="甲")
    b = factories.customer(name="乙")
    factories.order(a.pk, "X-1", total="12.34", sku="A")
    factories.order(a.pk, "X-2", total="0.01", sku="B")
    factories.order(b.pk, "Y-1", total="99.99", sku="A")
    factories.order(None, "GUEST-1", total="5.00", sku="A")
    incremental = _snapshot()
    assert figures.recompute_all() == 2
    assert _snapshot() == incremental


def test_note_seen_moves_last_seen_later_only():
    """A new visitor gets a row with zeros; an earlier time never moves "last seen" back
    (the row is not written at all); a later one moves it; a row without one takes it."""
    seen, earlier, later = (dt.datetime(2026, 11, d, 8, tzinfo=dt.UTC) for d in (10, 9, 12))
    a, b = factories.customer(name="甲"), factories.customer(name="乙")
    CustomerFigures.objects.create(customer_id=b.pk, order_count=2, revenue=Decimal("30.00"))
    figures.note_seen({a.pk: seen, b.pk: seen})
    figures.note_seen({a.pk: earlier})
    assert CustomerFigures.objects.get(customer_id=a.pk).last_seen_at == seen
    figures.note_seen({a.pk: later, b.pk: earlier})
    rows = CustomerFigures.objects.order_by("customer_id")
    assert list(rows.values_list("customer_id", "order_count", "revenue", "last_seen_at")) == [
        (a.pk, 0, Decimal("0.00"), later),
        (b.pk, 2, Decimal("30.00"), seen),
    ]


def test_note_seen_writes_more_customers_than_one_statement_takes(monkeypatch):
    from ecrm.figures import services

    monkeypatch.setattr(services, "CHUNK", 2)
    seen = dt.datetime(2026, 11, 11, 20, tzinfo=dt.UTC)
    people = [factories.customer(name=name) for name in ("甲", "乙", "丙", "丁", "戊")]
    assert figures.note_seen({c.pk: seen for c in people}) == 5
    rows = CustomerFigures.objects.order_by("customer_id")
    assert list(rows.values_list("customer_id", "last_seen_at")) == [(c.pk, seen) for c in people]
