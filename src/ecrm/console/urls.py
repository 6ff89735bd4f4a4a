"""Every page of the staff console. Views live in each domain's ``web`` package."""

from django.contrib.auth import views as auth_views
from django.urls import path

from ecrm.catalog.web import views as catalog
from ecrm.console.web import admin_pages, dashboard
from ecrm.contacts.web import views as contacts
from ecrm.customers.web import views as customers
from ecrm.imports.web import views as imports
from ecrm.orders.web import views as orders
from ecrm.value.web import views as value

app_name = "console"
urlpatterns = [
    path("", dashboard.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="console/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", customers.customer_list, name="customers"),
    path("customers/<int:customer_id>/", customers.customer_detail, name="customer"),
    path("customers/<int:customer_id>/edit/", customers.customer_edit, name="customer_edit"),
    path(
        "customers/<int:customer_id>/consent/", customers.customer_consent, name="customer_consent"
    ),
    path("customers/<int:customer_id>/merge/", customers.merge_pick, name="customer_merge"),
    path(
        "customers/<int:customer_id>/merge/<int:other_id>/",
        customers.merge_confirm,
        name="customer_merge_confirm",
    ),
    path("customers/<int:customer_id>/contacts/", contacts.log_contact, name="customer_contact"),
    path("contacts/", contacts.contact_log, name="contacts"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<int:order_id>/", orders.order_detail, name="order"),
    path("products/", catalog.product_list, name="products"),
    path("products/<int:product_id>/", catalog.product_detail, name="product"),
    path("imports/", imports.import_page, name="imports"),
    path("imports/runs/", imports.import_runs, name="import_runs"),
    path("imports/<int:run_id>/", imports.import_run, name="import_run"),
    path("imports/<int:run_id>/rejects/", imports.import_rejects, name="import_rejects"),
    path("value/", value.customer_value, name="value"),
    path("settings/write-keys/", admin_pages.write_keys, name="write_keys"),
    path(
        "settings/write-keys/<int:key_id>/revoke/",
        admin_pages.revoke_write_key,
        name="write_key_revoke",
    ),
    path("settings/audit/", admin_pages.audit_log, name="audit"),
]
