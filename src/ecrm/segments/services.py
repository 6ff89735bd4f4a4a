"""Segment writes: one function per write, each owning its transaction."""

from __future__ import annotations

from django.db import transaction

from ecrm.core import audit, clock
from ecrm.segments import rules
from ecrm.segments.models import Segment, SegmentVersion


class SegmentError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
        self.message = message


def save_segment(
    *,
    name: str,
    definition: dict,
    actor: audit.Actor,
    description: str = "",
    segment_id: int | None = None,
) -> Segment:
    """Create a segment, or save a new version of one; the definition is validated first.

    Saving the same definition again changes name or description but adds no version.
    Raises ``rules.DefinitionError`` (with the JSON path) or ``SegmentError``.
    """
    rules.validate(definition)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise SegmentError("name", "is required, at most 120 characters")
    now = clock.now()
    with transaction.atomic():
        clash = Segment.objects.filter(name=name).exclude(pk=segment_id).exists()
        if clash:
            raise SegmentError("name", f"a segment named {name!r} exists")
        if segment_id is None:
            segment = Segment.objects.create(
                name=name,
                description=description,
                definition=definition,
                version=1,
                created_at=now,
                created_by_id=actor.user_id,
                updated_at=now,
                updated_by_id=actor.user_id,
            )
            before = None
        else:
            segment = Segment.objects.select_for_update().get(pk=segment_id)
            before = {"name": segment.name, "version": segment.version}
            if segment.definition != definition:
                segment.version += 1
                segment.definition = definition
            segment.name, segment.description = name, description
            segment.updated_at, segment.updated_by_id = now, actor.user_id
            segment.save()
        if not SegmentVersion.objects.filter(segment=segment, version=segment.version).exists():
            SegmentVersion.objects.create(
                segment=segment,
                version=segment.version,
                definition=definition,
                created_at=now,
                created_by_id=actor.user_id,
            )
        audit.record(
            actor,
            "create" if before is None else "update",
            "segment",
            segment.pk,
            before,
            {"name": segment.name, "version": segment.version, "definition": definition},
        )
    return segment
