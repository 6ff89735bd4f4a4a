"""The console's pages: login, permissions per role, and what each page shows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ecrm.catalog import api as catalog
from ecrm.catalog.models import Product
from ecrm.contacts.models import Contact
from ecrm.core.models import AuditEntry
from ecrm.customers.models import Consent, Customer
from ecrm.customers.tests import factories as f
from ecrm.events import keys
from ecrm.events.models import WriteKey
from ecrm.staff.models import Role

pytestmark = pytest.mark.django_db


def test_every_page_sends_anonymous_visitors_to_login():
    """Without a session each console page redirects to the login page with ``next``."""
    response = Client().get("/customers/?q=zw")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/customers/%3Fq%3Dzw"


def test_login_with_password_lands_on_the_dashboard(staff_factory):
    """The login form signs a staff user in and redirects to the dashboard."""
    staff_factory("agent7", Role.SERVICE_AGENT, password="secret-pass-1")
    client = Client()

    response = client.post("/login/", {"username": "agent7", "password": "secret-pass-1"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_with_a_wrong_password_shows_the_error(staff_factory):
    """A wrong password re-renders the form (200) and signs nobody in."""
    staff_factory("agent8", Role.SERVICE_AGENT, password="secret-pass-1")
    client = Client()

    response = client.post("/login/", {"username": "agent8", "password": "nope"})

    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_logout_ends_the_session(agent_client):
    """Signing out (POST) redirects to login; the next page asks to log in again."""
    response = agent_client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert agent_client.get("/").status_code == 302


def test_a_user_without_a_console_role_gets_403():
    """A Django user with no staff profile may not open the console."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("plain", password="x-pass-123")
    client = Client()
    client.force_login(user)

    assert client.get("/").status_code == 403
    assert client.get("/customers/").status_code == 403


def test_dashboard_counts_todays_orders_and_revenue(agent_client):
    """Orders placed today are counted and summed; older orders count only in 30 days."""
    zhang = f.customer("张伟")
    now = dt.datetime.now(dt.UTC)
    f.order(zhang.pk, "T-1", total="100.00", placed_at=now)
    f.order(zhang.pk, "T-2", total="50.50", placed_at=now - dt.timedelta(days=3))
    f.order(zhang.pk, "T-3", total="999.00", placed_at=now - dt.timedelta(days=45))

    response = agent_client.get("/")

    figures = response.context["figures"]
    assert response.status_code == 200
    assert figures.orders_today == 1
    assert figures.revenue_today == Decimal("100.00")
    assert figures.orders_30d == 2
    assert figures.revenue_30d == Decimal("150.50")
    assert figures.customers_today == 1
    assert [o.external_id for o in response.context["recent_orders"]] == ["T-1", "T-2", "T-3"]


def test_product_pages_list_and_show_a_product(agent_client):
    """The product list finds a SKU; the product page shows the order lines that sold it."""
    zhang = f.customer("张伟")
    order = f.order(zhang.pk, "P-1", sku="MI-BAND-8")
    product = Product.objects.get(sku="MI-BAND-8")

    listing = agent_client.get("/products/", {"q": "MI-BAND-8"})
    detail = agent_client.get(f"/products/{product.pk}/")

    assert [p.sku for p in listing.context["rows"]] == ["MI-BAND-8"]
    assert detail.status_code == 200
    assert [line.order_id for line in detail.context["lines"]] == [order.pk]


@pytest.mark.parametrize(
    ("q", "skus"),
    [
        ("kettle", ["UCI-22"]),  # a word inside the name, in another case
        ("ceramic", ["UCI-22"]),
        ("电饭", ["CN-1"]),
        ("cn-1", ["CN-1"]),  # a SKU in another case
        ("zzz", []),
    ],
)
def test_product_search_finds_any_part_of_a_name_in_any_case(agent_client, q, skus):
    """Only a name's start matched, and only in its own case: "kettle" found nothing of
    "WHITE CERAMIC KETTLE"."""
    catalog.upsert_products(
        [
            catalog.ProductInput(sku="UCI-22", name="WHITE CERAMIC KETTLE"),
            catalog.ProductInput(sku="CN-1", name="美的电饭煲"),
        ]
    )
    listing = agent_client.get("/products/", {"q": q})
    assert [p.sku for p in listing.context["rows"]] == skus


def test_order_pages_filter_by_customer_and_show_lines(agent_client):
    """The order list filters by customer id, newest first; an order page lists its lines."""
    zhang, wang = f.customer("张伟"), f.customer("王芳")
    first = f.order(zhang.pk, "Z-1", placed_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    second = f.order(zhang.pk, "Z-2", placed_at=dt.datetime(2025, 6, 18, tzinfo=dt.UTC))
    f.order(wang.pk, "W-1")

    listing = agent_client.get("/orders/", {"customer": zhang.pk})
    detail = agent_client.get(f"/orders/{second.pk}/")

    assert [o.pk for o in listing.context["rows"]] == [second.pk, first.pk]
    assert [line.sku for line in detail.context["lines"]] == ["SKU-1"]
    assert "Z-2" in detail.content.decode()


def test_order_list_pages_with_a_keyset_cursor(agent_client):
    """The "older" cursor of one page starts the next page right after its last order."""
    from ecrm.orders.web import queries

    zhang = f.customer("张伟")
    orders = [
        f.order(zhang.pk, f"K-{i}", placed_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
        for i in range(5)
    ]

    first, cursor = queries.order_list(limit=3)
    response = agent_client.get("/orders/", {"before": cursor})

    assert [o.pk for o in first] == [orders[4].pk, orders[3].pk, orders[2].pk]
    assert [o.pk for o in response.context["rows"]] == [orders[1].pk, orders[0].pk]
    assert response.context["next_cursor"] is None


def test_unknown_customer_order_and_product_are_404(agent_client):
    """Ids that do not exist give the 404 page, not an error."""
    assert agent_client.get("/customers/999999/").status_code == 404
    assert agent_client.get("/orders/999999/").status_code == 404
    assert agent_client.get("/products/999999/").status_code == 404


def test_contact_log_page_lists_contacts_newest_first(agent_client):
    """The contact log shows every logged contact, newest recorded first."""
    from ecrm.contacts import api as contacts
    from ecrm.core.audit import Actor

    zhang = f.customer("张伟")
    a = contacts.log_contact(
        customer_id=zhang.pk,
        channel="phone",
        direction="in",
        summary="问物流",
        actor=Actor("agent"),
    )
    b = contacts.log_contact(
        customer_id=zhang.pk,
        channel="wechat",
        direction="out",
        summary="回访",
        actor=Actor("agent"),
    )

    response = agent_client.get("/contacts/")
    wechat = agent_client.get("/contacts/", {"channel": "wechat"})

    assert [c.pk for c in response.context["rows"]] == [b.pk, a.pk]
    assert [c.pk for c in wechat.context["rows"]] == [b.pk]


def test_write_keys_page_shows_a_new_key_once_and_revokes(admin_client_):
    """An admin creates a key (shown on the next page only) and revokes it."""
    created = admin_client_.post("/settings/write-keys/", {"name": "官网商城"})
    shown = admin_client_.get("/settings/write-keys/")
    again = admin_client_.get("/settings/write-keys/")
    key = shown.context["new_key"]["key"]
    row = WriteKey.objects.get(name="官网商城")
    revoked = admin_client_.post(f"/settings/write-keys/{row.pk}/revoke/")

    assert created.status_code == 302
    assert key in shown.content.decode()
    assert again.context["new_key"] is None
    assert key not in again.content.decode()
    assert revoked.status_code == 302
    assert keys.key_id_for(key) is None
    assert WriteKey.objects.get(pk=row.pk).revoked_at is not None


def test_write_key_without_a_name_is_refused_with_a_message(admin_client_):
    """An empty name re-renders the page with the error (400); nothing is created."""
    response = admin_client_.post("/settings/write-keys/", {"name": "  "})
    english = admin_client_.post("/settings/write-keys/", {"name": "  "}, HTTP_ACCEPT_LANGUAGE="en")
    too_long = admin_client_.post("/settings/write-keys/", {"name": "键" * 81})

    assert response.status_code == english.status_code == too_long.status_code == 400
    assert response.context["error"] == "写入密钥需要一个名称"
    assert english.context["error"] == "a write key needs a name"
    assert too_long.context["error"] == "超过 80 个字符"
    assert WriteKey.objects.count() == 0


@pytest.mark.parametrize("role", [Role.MARKETER, Role.SERVICE_AGENT, Role.SALES_REP, Role.ANALYST])
def test_only_admins_manage_write_keys_and_read_the_audit_log(signed_in, role):
    """Every other role gets 403 on the write keys and audit pages."""
    client = signed_in(role)

    assert client.get("/settings/write-keys/").status_code == 403
    assert client.post("/settings/write-keys/", {"name": "x"}).status_code == 403
    assert client.get("/settings/audit/").status_code == 403


def test_audit_log_page_lists_entries_with_before_and_after(admin_client_):
    """A profile edit shows up on the audit page with its before and after values."""
    zhang = f.customer("张伟")
    admin_client_.post(f"/customers/{zhang.pk}/edit/", {"name": "张伟", "city": "杭州"})

    response = admin_client_.get("/settings/audit/", {"type": "customer", "id": zhang.pk})

    entries = response.context["rows"]
    assert [(e.action, e.before, e.after) for e in entries] == [
        ("update", {"city": ""}, {"city": "杭州"})
    ]
    assert "杭州" in response.content.decode()


def test_403_page_is_the_console_page(analyst_client):
    """Refusals render the console's own 403 page, translated."""
    zhang = f.customer("张伟")

    response = analyst_client.get(f"/customers/{zhang.pk}/merge/")

    assert response.status_code == 403
    assert "您没有执行此操作的权限" in response.content.decode()


def test_language_switch_turns_the_console_english(agent_client):
    """Chinese by default; after /i18n/setlang/ the same page is in English."""
    chinese = agent_client.get("/")
    switched = agent_client.post("/i18n/setlang/", {"language": "en", "next": "/customers/"})
    english = agent_client.get("/")

    assert "仪表盘" in chinese.content.decode()
    assert switched.status_code == 302
    assert switched["Location"] == "/customers/"
    assert "Dashboard" in english.content.decode()
    assert "仪表盘" not in english.content.decode()


def test_audit_entries_record_console_writes_with_the_staff_user(agent_client):
    """A consent change in the console is audited with the signed-in user as actor."""
    zhang = f.customer("张伟")

    agent_client.post(f"/customers/{zhang.pk}/consent/", {"channel": "sms", "status": "denied"})

    entry = AuditEntry.objects.get(action="consent")
    assert (entry.actor_label, entry.actor_id, entry.after) == (
        "agent",
        agent_client.user.pk,
        {"sms": "denied"},
    )
    assert Consent.objects.get(customer=zhang).status == "denied"


def test_contact_count_is_unchanged_by_page_views(agent_client):
    """Reading pages writes nothing."""
    zhang = f.customer("张伟")

    agent_client.get(f"/customers/{zhang.pk}/")
    agent_client.get(reverse("console:customers"))

    assert Contact.objects.count() == 0
    assert Customer.objects.count() == 1
