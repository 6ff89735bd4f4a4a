"""JSON API for segments: definitions (versioned), preview, members, change log, size
history, static lists. An invalid definition is a 400 naming the JSON path of the bad node
(``{"error": "match.all[1].op: ...", "field": "definition.match.all[1].op"}``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from ecrm.config.api import Key, require
from ecrm.core.audit import Actor
from ecrm.segments import fields, queries, services
from ecrm.segments.models import Segment, SegmentKind, SegmentVersion
from ecrm.staff import rules as perms

router = Router(tags=["segments"])


class SegmentIn(Schema):
    name: str
    description: str = ""
    kind: str = Field(SegmentKind.RULES, description="rules or static")
    definition: dict[str, Any] | None = Field(
        None, description="the rule tree (docs/SEGMENTS.md); none for a static list"
    )


class SegmentPatch(Schema):
    name: str | None = None
    description: str | None = None
    definition: dict[str, Any] | None = Field(None, description="a new version when changed")


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    version: int
    definition: dict[str, Any]
    size: int
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentVersionOut(Schema):
    version: int
    definition: dict[str, Any]
    created_at: dt.datetime


class SegmentDetail(SegmentOut):
    versions: list[SegmentVersionOut]


class PreviewIn(Schema):
    definition: dict[str, Any]
    sample: int = Field(20, ge=0, le=200)


class PreviewOut(Schema):
    size: int
    sample: list[int]


class SegmentMemberOut(Schema):
    customer_id: int
    entered_at: dt.datetime
    name: str
    email: str
    phone: str
    city: str


class MemberPage(Schema):
    items: list[SegmentMemberOut]
    next: int | None = Field(None, description="pass as ?after= for the next page")


class ChangeOut(Schema):
    id: int
    customer_id: int
    kind: str
    at: dt.datetime
    reason: str


class ChangePage(Schema):
    items: list[ChangeOut]
    next: int | None = Field(None, description="pass as ?before= for older changes")


class SizeOut(Schema):
    at: dt.datetime
    size: int


class CustomersIn(Schema):
    customer_ids: list[Key] = Field(..., min_length=1, max_length=10_000)


class ListChangeOut(Schema):
    added: int
    removed: int
    unchanged: int


class RejectOut(Schema):
    line: int
    value: str
    reason: str


class UploadOut(Schema):
    kind: str
    lines: int
    added: int
    already: int
    rejects: list[RejectOut]


class BuildOut(Schema):
    segment_id: int
    entered: int
    left: int
    size: int


def _out(segment: Segment, size: int | None = None) -> dict:
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "kind": segment.kind,
        "version": segment.version,
        "definition": segment.definition,
        "size": queries.size_of(segment.pk) if size is None else size,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _detail(segment: Segment) -> dict:
    versions = SegmentVersion.objects.filter(segment=segment).order_by("-version")
    return {
        **_out(segment),
        "versions": list(versions.values("version", "definition", "created_at")),
    }


@router.get("", response=list[SegmentOut], summary="Every segment with its current size")
def list_segments(request):
    require(request, perms.VIEW_CUSTOMERS)
    segments = list(queries.segments_list())
    sizes = queries.sizes([s.pk for s in segments])
    return [_out(s, sizes[s.pk]) for s in segments]


@router.post("", response={201: SegmentDetail}, summary="Create a segment (built at once)")
def create(request, payload: SegmentIn):
    require(request, perms.MANAGE_SEGMENTS)
    segment = services.save_segment(
        name=payload.name,
        description=payload.description,
        kind=payload.kind,
        definition=payload.definition,
        actor=Actor.of(request.user),
    )
    return Status(201, _detail(segment))


@router.post("/preview", response=PreviewOut, summary="Size and sample of an unsaved definition")
def preview(request, payload: PreviewIn):
    require(request, perms.VIEW_CUSTOMERS)
    result = queries.preview(fields.validate(payload.definition), sample=payload.sample)
    return {"size": result.size, "sample": list(result.sample)}


@router.get("/{int:segment_id}", response=SegmentDetail, summary="A segment with its versions")
def read(request, segment_id: int):
    require(request, perms.VIEW_CUSTOMERS)
    return _detail(get_object_or_404(Segment, pk=segment_id))


@router.patch(
    "/{int:segment_id}",
    response=SegmentDetail,
    summary="Rename, describe, or save a new version of the definition (rebuilt at once)",
)
def update(request, segment_id: int, payload: SegmentPatch):
    require(request, perms.MANAGE_SEGMENTS)
    segment = get_object_or_404(Segment, pk=segment_id)
    segment = services.save_segment(
        segment_id=segment.pk,
        name=segment.name if payload.name is None else payload.name,
        description=segment.description if payload.description is None else payload.description,
        kind=segment.kind,
        definition=segment.definition if payload.definition is None else payload.definition,
        actor=Actor.of(request.user),
    )
    return _detail(segment)


@router.delete("/{int:segment_id}", response={204: None}, summary="Delete a segment")
def delete(request, segment_id: int):
    require(request, perms.MANAGE_SEGMENTS)
    get_object_or_404(Segment, pk=segment_id)
    services.delete_segment(segment_id, actor=Actor.of(request.user))
    return Status(204, None)


@router.get("/{int:segment_id}/members", response=MemberPage, summary="Members (keyset pages)")
def members(request, segment_id: int, after: Key = 0, limit: int = Query(50, ge=1, le=1000)):
    require(request, perms.VIEW_CUSTOMERS)
    get_object_or_404(Segment, pk=segment_id)
    items, nxt = queries.member_page(segment_id, after=after, limit=limit)
    return {"items": [i.__dict__ for i in items], "next": nxt}


@router.get(
    "/{int:segment_id}/changes", response=ChangePage, summary="Entries and exits, newest first"
)
def changes(
    request, segment_id: int, before: Key | None = None, limit: int = Query(50, ge=1, le=1000)
):
    require(request, perms.VIEW_CUSTOMERS)
    get_object_or_404(Segment, pk=segment_id)
    items, nxt = queries.change_page(segment_id, before=before, limit=limit)
    return {"items": [i.__dict__ for i in items], "next": nxt}


@router.get("/{int:segment_id}/sizes", response=list[SizeOut], summary="Size history")
def sizes(request, segment_id: int):
    require(request, perms.VIEW_CUSTOMERS)
    get_object_or_404(Segment, pk=segment_id)
    return [{"at": at, "size": size} for at, size in queries.size_history(segment_id)]


@router.post("/{int:segment_id}/refresh", response=BuildOut, summary="Rebuild a rule segment now")
def refresh(request, segment_id: int):
    require(request, perms.MANAGE_SEGMENTS)
    get_object_or_404(Segment, pk=segment_id)
    return services.build_segment(segment_id, reason="manual").__dict__


@router.post(
    "/{int:segment_id}/members", response=ListChangeOut, summary="Add customers to a static list"
)
def add_members(request, segment_id: int, payload: CustomersIn):
    require(request, perms.MANAGE_SEGMENTS)
    get_object_or_404(Segment, pk=segment_id)
    result = services.add_members(segment_id, payload.customer_ids, actor=Actor.of(request.user))
    return result.__dict__


@router.post(
    "/{int:segment_id}/members/remove",
    response=ListChangeOut,
    summary="Remove customers from a static list",
)
def remove_members(request, segment_id: int, payload: CustomersIn):
    require(request, perms.MANAGE_SEGMENTS)
    get_object_or_404(Segment, pk=segment_id)
    result = services.remove_members(segment_id, payload.customer_ids, actor=Actor.of(request.user))
    return result.__dict__


@router.post(
    "/{int:segment_id}/upload",
    response=UploadOut,
    summary="Add the customers a CSV names (first column: customer_id, email, mobile or user_id)",
)
def upload(request, segment_id: int, file: File[UploadedFile]):
    require(request, perms.MANAGE_SEGMENTS)
    get_object_or_404(Segment, pk=segment_id)
    if file.size and file.size > services.MAX_UPLOAD_BYTES:
        raise services.SegmentError(
            "file", services.TOO_LARGE, size=services.MAX_UPLOAD_BYTES // (1024 * 1024)
        )
    result = services.upload_members(segment_id, file.read(), actor=Actor.of(request.user))
    return {
        "kind": result.kind,
        "lines": result.lines,
        "added": result.added,
        "already": result.already,
        "rejects": [
            {"line": r.line, "value": r.value, "reason": str(r.reason)} for r in result.rejects
        ],
    }
