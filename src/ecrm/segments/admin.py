from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin, ReadOnlyInline
from ecrm.segments.models import Segment, SegmentVersion


class SegmentVersionInline(ReadOnlyInline):
    model = SegmentVersion
    fields = ("version", "created_at", "created_by", "definition")
    ordering = ("-version",)


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    """Segments are saved through ``segments.services.save_segment``, which validates the
    definition and keeps every version; the back office only reads them."""

    list_display = ("name", "version", "updated_at", "updated_by")
    search_fields = ("name",)
    inlines = (SegmentVersionInline,)


@admin.register(SegmentVersion)
class SegmentVersionAdmin(ReadOnlyAdmin):
    list_display = ("segment", "version", "created_at", "created_by")
    list_filter = ("segment",)
