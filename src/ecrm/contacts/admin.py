from django.contrib import admin

from ecrm.contacts.models import Contact
from ecrm.core.admin import AuditedAdmin


@admin.register(Contact)
class ContactAdmin(AuditedAdmin):
    list_display = ("occurred_at", "customer", "channel", "direction", "employee")
    list_filter = ("channel", "direction")
    search_fields = ("=customer__id",)
    raw_id_fields = ("customer", "employee")
    readonly_fields = ("customer", "created_at")
    ordering = ("-pk",)

    def has_add_permission(self, request, obj=None):
        # New contacts are logged on the customer's page in the console.
        return False
