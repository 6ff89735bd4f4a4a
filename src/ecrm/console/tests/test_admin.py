"""The back office: every model is registered, list pages open, and saves are audited."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client

from ecrm.catalog.models import Product
from ecrm.core.admin import COUNT_LIMIT, BoundedCountPaginator
from ecrm.core.models import AuditEntry
from ecrm.customers.tests import factories as f

pytestmark = pytest.mark.django_db

# Order and return lines are edited on their order's page, not on their own.
INLINE_ONLY = {"orders.orderline", "orders.returnline"}
ECRM_MODELS = sorted(
    m._meta.label_lower
    for m in apps.get_models()
    if m.__module__.startswith("ecrm.") and m._meta.label_lower not in INLINE_ONLY
)


@pytest.fixture
def boss(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_every_ecrm_model_is_in_the_admin():
    """Nothing of eCRM's data is missing from the back office."""
    registered = sorted(
        m._meta.label_lower for m in admin.site._registry if m.__module__.startswith("ecrm.")
    )
    assert registered == ECRM_MODELS


@pytest.mark.parametrize("label", ECRM_MODELS)
def test_admin_list_pages_open(boss, label):
    """Each registered list page renders with data in it."""
    f.order(f.customer("张伟").pk, "A-1")
    app, model = label.split(".")

    response = boss.get(f"/admin/{app}/{model}/")

    assert response.status_code == 200


def test_customer_admin_search_by_id_and_name(boss):
    """The customer list searches an id exactly and a name by prefix."""
    zhang = f.customer("张伟")
    f.customer("王芳")

    by_id = boss.get("/admin/customers/customer/", {"q": str(zhang.pk)})
    by_name = boss.get("/admin/customers/customer/", {"q": "张"})

    assert [c.pk for c in by_id.context["cl"].result_list] == [zhang.pk]
    assert [c.pk for c in by_name.context["cl"].result_list] == [zhang.pk]


def test_admin_change_is_audited_with_before_and_after(boss, admin_user):
    """Saving a product in the admin records the changed fields before and after."""
    f.order(f.customer("张伟").pk, "A-1", sku="MI-8")
    product = Product.objects.get(sku="MI-8")

    response = boss.post(
        f"/admin/catalog/product/{product.pk}/change/",
        {
            "sku": "MI-8",
            "name": "小米手环 8",
            "price": "249.00",
            "currency": "CNY",
            "url": "",
            "image_url": "",
            "attributes": "{}",
            "category": "",
            "brand": "",
            "cost": "",
        },
    )

    entry = AuditEntry.objects.get(action="admin_update")
    assert response.status_code == 302
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        admin_user.pk,
        "catalog.product",
        str(product.pk),
    )
    assert entry.before["name"] == "商品 MI-8"
    assert entry.after["name"] == "小米手环 8"
    assert entry.before["price"] == "0.0000"
    assert entry.after["price"] == "249.0000"


def test_admin_delete_is_audited(boss):
    """Deleting a department in the admin records what it was."""
    from ecrm.staff.models import Department

    dept = Department.objects.create(code="cs", name="客服部")

    boss.post(f"/admin/staff/department/{dept.pk}/delete/", {"post": "yes"})

    entry = AuditEntry.objects.get(action="admin_delete")
    assert (entry.object_type, entry.before, entry.after) == (
        "staff.department",
        {"id": dept.pk, "code": "cs", "name": "客服部"},
        None,
    )


def test_admin_paginator_counts_at_most_the_limit():
    """The list paginator never counts past COUNT_LIMIT + 1 rows."""
    from ecrm.customers.models import Customer

    f.customer("张伟")
    paginator = BoundedCountPaginator(Customer.objects.order_by("pk"), 50)

    assert paginator.count == 1
    assert COUNT_LIMIT == 10_000
