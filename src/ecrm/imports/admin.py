from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin
from ecrm.imports.models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "kind",
        "file_name",
        "status",
        "rows_read",
        "rows_accepted",
        "rows_rejected",
    )
    list_filter = ("kind", "status")
    ordering = ("-pk",)
