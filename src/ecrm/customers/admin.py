from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ecrm.core.admin import ReadOnlyAdmin, ReadOnlyInline
from ecrm.customers.models import Consent, Customer, Identity, Merge


class IdentityInline(ReadOnlyInline):
    model = Identity
    fields = ("kind", "namespace", "value", "verified", "source", "first_seen_at")


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ("channel", "status", "source", "updated_at")


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Profiles change through the console (or the API), which keeps search keys and the
    identity graph consistent; the back office shows them."""

    list_display = ("id", "name", "phone", "email", "city", "merged_into", "created_at", "console")
    search_fields = ("=id", "^name", "^name_pinyin", "=email", "=phone")
    raw_id_fields = ("merged_into",)
    inlines = (IdentityInline, ConsentInline)
    ordering = ("-pk",)

    @admin.display(description=_("console"))
    def console(self, obj):
        return format_html('<a href="/customers/{}/">360</a>', obj.pk)


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ("customer", "kind", "namespace", "value", "verified", "source")
    search_fields = ("=value",)
    raw_id_fields = ("customer",)
    ordering = ("-pk",)


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("customer", "channel", "status", "source", "updated_at")
    raw_id_fields = ("customer",)
    ordering = ("-pk",)


@admin.register(Merge)
class MergeAdmin(ReadOnlyAdmin):
    list_display = ("at", "source", "target", "actor_label", "reason")
    search_fields = ("=source__id", "=target__id", "=actor_label")
    raw_id_fields = ("source", "target", "actor")
    ordering = ("-pk",)
