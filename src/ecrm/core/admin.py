"""The back office: Django admin pieces every domain's ``admin.py`` builds on.

``AuditedAdmin`` writes an ``ecrm.core.audit`` entry with the record before and after
each save or delete made in the admin. ``BoundedCountPaginator`` keeps list pages of
tables with millions of rows cheap: it counts at most ``COUNT_LIMIT`` rows.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from ecrm.core import audit
from ecrm.core.models import AuditEntry

COUNT_LIMIT = 10_000
SECRET_FIELDS = frozenset({"password", "key_hash", "token_hash"})


class BoundedCountPaginator(Paginator):
    """Counts ``SELECT COUNT(*) FROM (... LIMIT n)``: a bounded cost on any table."""

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_LIMIT + 1].count()


def snapshot(obj) -> dict:
    """The stored values of ``obj``'s own columns, secrets left out."""
    data = {}
    for field in obj._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        data[field.attname] = getattr(obj, field.attname)
    return audit.jsonable(data)


class AuditedAdmin(admin.ModelAdmin):
    """Records who changed what in the admin, with before and after."""

    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def _label(self) -> str:
        return self.model._meta.label_lower

    def save_model(self, request, obj, form, change):
        before = None
        if change and obj.pk is not None:
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = snapshot(stored) if stored is not None else None
        super().save_model(request, obj, form, change)
        # Read back what was stored, so values compare as the database keeps them.
        after = snapshot(type(obj)._default_manager.get(pk=obj.pk))
        if before is not None:
            before, after = audit.changed_fields(before, after)
            if not after:
                return
        audit.record(
            audit.Actor.of(request.user),
            "admin_update" if change else "admin_create",
            self._label(),
            obj.pk,
            before,
            after,
        )

    def delete_model(self, request, obj):
        before = snapshot(obj)
        pk = obj.pk
        super().delete_model(request, obj)
        audit.record(audit.Actor.of(request.user), "admin_delete", self._label(), pk, before, None)

    def delete_queryset(self, request, queryset):
        rows = [(obj.pk, snapshot(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)
        actor = audit.Actor.of(request.user)
        for pk, before in rows:
            audit.record(actor, "admin_delete", self._label(), pk, before, None)


class ReadOnlyAdmin(AuditedAdmin):
    """For records written only by services (events, merges, figures): view and search."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.site_header = _("eCRM back office")
admin.site.site_title = _("eCRM back office")
admin.site.index_title = _("Administration")
admin.site.site_url = "/"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("object_type", "action")
    search_fields = ("=object_id", "=actor_label")
    date_hierarchy = None
    ordering = ("-pk",)
