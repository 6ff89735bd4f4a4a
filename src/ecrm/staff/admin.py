from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from ecrm.core.admin import AuditedAdmin
from ecrm.staff.models import ApiToken, Department, StaffProfile


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    extra = 0
    max_num = 1


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(AuditedAdmin, UserAdmin):
    inlines = (StaffProfileInline,)
    list_display = ("username", "email", "is_active", "is_staff", "last_login")


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(StaffProfile)
class StaffProfileAdmin(AuditedAdmin):
    list_display = ("user", "role", "department", "display_name")
    list_filter = ("role", "department")
    search_fields = ("user__username", "display_name")
    autocomplete_fields = ()
    raw_id_fields = ("user",)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("name", "user", "prefix", "created_at", "revoked_at")
    readonly_fields = ("token_hash", "prefix", "created_at")
    fields = ("name", "user", "prefix", "created_at", "revoked_at")
    raw_id_fields = ("user",)

    def has_add_permission(self, request, obj=None):
        # Tokens are minted by the API so the secret can be shown once.
        return False
