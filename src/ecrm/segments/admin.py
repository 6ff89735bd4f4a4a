from django.contrib import admin

from ecrm.core.admin import ReadOnlyAdmin, ReadOnlyInline
from ecrm.segments.models import Member, MembershipChange, Segment, SegmentSize, SegmentVersion


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


@admin.register(MembershipChange)
class MembershipChangeAdmin(ReadOnlyAdmin):
    """The append-only log of entries and exits (written by ``segments.services``)."""

    list_display = ("segment", "customer_id", "kind", "at", "reason")
    list_filter = ("kind", "reason", "segment")
    show_full_result_count = False


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    """Who is in a segment now (kept by ``segments.services``)."""

    list_display = ("segment", "customer_id", "entered_at")
    list_filter = ("segment",)
    show_full_result_count = False


@admin.register(SegmentSize)
class SegmentSizeAdmin(ReadOnlyAdmin):
    list_display = ("segment", "at", "size")
    list_filter = ("segment",)
