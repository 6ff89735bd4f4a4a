from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin
from ecrm.events.models import Event, WriteKey


@admin.register(WriteKey)
class WriteKeyAdmin(ReadOnlyAdmin):
    """Keys are created and revoked in the console, which shows a new key once."""

    list_display = ("name", "prefix", "created_at", "revoked_at")
    exclude = ("key_hash",)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The event store is append-only."""

    list_display = ("timestamp", "type", "name", "customer", "channel", "message_id")
    search_fields = ("=message_id", "=customer__id", "=user_id", "=anonymous_id")
    raw_id_fields = ("customer", "write_key")
    ordering = ("-pk",)
