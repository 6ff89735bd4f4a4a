"""Every page of the staff console. Views live in each domain's ``web`` package."""

from django.contrib.auth import views as auth_views
from django.urls import path

from ecrm.analytics.web import views as analytics
from ecrm.catalog.web import views as catalog
from ecrm.console.web import admin_pages, dashboard
from ecrm.contacts.web import views as contacts
from ecrm.customers.web import views as customers
from ecrm.imports.web import views as imports
from ecrm.loyalty.web import analytics as member_analytics
from ecrm.loyalty.web import views as loyalty
from ecrm.orders.web import views as orders
from ecrm.promotions.web import views as promotions
from ecrm.segments.web import views as segments
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
    path("value/profit/", value.profitability, name="value_profit"),
    path("value/profit.csv", value.profitability_csv, name="value_profit_csv"),
    path("value/settings/", value.value_settings, name="value_settings"),
    path("value/run/rfm/", value.run_rfm, name="value_run_rfm"),
    path("value/run/predictions/", value.run_predictions, name="value_run_predictions"),
    path("value/run/profit/", value.run_profit, name="value_run_profit"),
    path("analytics/", analytics.members, name="analytics_members"),
    path("analytics/funnel/", analytics.funnel, name="analytics_funnel"),
    path("analytics/retention/", analytics.retention, name="analytics_retention"),
    path("analytics/report/", analytics.report, name="analytics_report"),
    path("analytics/staff/", analytics.staff, name="analytics_staff"),
    path("loyalty/analytics/", member_analytics.member_analytics, name="member_analytics"),
    path("loyalty/", loyalty.programme, name="loyalty"),
    path("loyalty/rules/", loyalty.rule_list, name="loyalty_rules"),
    path("loyalty/rules/new/", loyalty.rule_edit, name="loyalty_rule_new"),
    path("loyalty/rules/<int:rule_id>/", loyalty.rule_edit, name="loyalty_rule"),
    path("loyalty/simulator/", loyalty.simulator, name="loyalty_simulator"),
    path("loyalty/members/", loyalty.member_list, name="loyalty_members"),
    path("loyalty/members/<int:customer_id>/", loyalty.member_detail, name="loyalty_member"),
    path(
        "loyalty/members/<int:customer_id>/adjust/",
        loyalty.member_adjust,
        name="loyalty_member_adjust",
    ),
    path(
        "loyalty/members/<int:customer_id>/flags/",
        loyalty.member_flags,
        name="loyalty_member_flags",
    ),
    path("promotions/coupons/", promotions.coupon_list, name="promotion_coupons"),
    path("promotions/coupons/new/", promotions.campaign_new, name="promotion_campaign_new"),
    path(
        "promotions/coupons/<int:campaign_id>/",
        promotions.campaign_detail,
        name="promotion_campaign",
    ),
    path(
        "promotions/coupons/<int:campaign_id>/edit/",
        promotions.campaign_edit,
        name="promotion_campaign_edit",
    ),
    path(
        "promotions/coupons/<int:campaign_id>/status/",
        promotions.campaign_status,
        name="promotion_campaign_status",
    ),
    path(
        "promotions/coupons/<int:campaign_id>/codes/",
        promotions.campaign_codes,
        name="promotion_campaign_codes",
    ),
    path(
        "promotions/coupons/<int:campaign_id>/issue/",
        promotions.campaign_issue,
        name="promotion_campaign_issue",
    ),
    path(
        "promotions/coupons/<int:campaign_id>/quote/",
        promotions.campaign_quote,
        name="promotion_campaign_quote",
    ),
    path(
        "promotions/coupons/<int:campaign_id>/export.csv",
        promotions.campaign_export,
        name="promotion_campaign_export",
    ),
    path("promotions/rewards/", promotions.rewards, name="promotion_rewards"),
    path("promotions/rewards/<int:reward_id>/", promotions.rewards, name="promotion_reward"),
    path("promotions/referrals/", promotions.referrals, name="promotion_referrals"),
    path("segments/", segments.segment_list, name="segments"),
    path("segments/new/", segments.segment_new, name="segment_new"),
    path("segments/new/static/", segments.segment_static_new, name="segment_static_new"),
    path("segments/builder/", segments.segment_builder, name="segment_builder"),
    path("segments/<int:segment_id>/", segments.segment_detail, name="segment"),
    path("segments/<int:segment_id>/edit/", segments.segment_edit, name="segment_edit"),
    path("segments/<int:segment_id>/delete/", segments.segment_delete, name="segment_delete"),
    path("segments/<int:segment_id>/refresh/", segments.segment_refresh, name="segment_refresh"),
    path(
        "segments/<int:segment_id>/members/",
        segments.segment_members_change,
        name="segment_members_change",
    ),
    path("segments/<int:segment_id>/rejects/", segments.segment_rejects, name="segment_rejects"),
    path("settings/write-keys/", admin_pages.write_keys, name="write_keys"),
    path(
        "settings/write-keys/<int:key_id>/revoke/",
        admin_pages.revoke_write_key,
        name="write_key_revoke",
    ),
    path("settings/audit/", admin_pages.audit_log, name="audit"),
]
