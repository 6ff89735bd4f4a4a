"""Saving segments keeps every definition; the CLI preview names bad JSON paths."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from ecrm.core.audit import SYSTEM
from ecrm.core.models import AuditEntry
from ecrm.customers.tests import factories
from ecrm.segments import services
from ecrm.segments.models import Segment, SegmentVersion
from ecrm.segments.rules import DefinitionError

pytestmark = pytest.mark.django_db

GUANGDONG = {"version": 1, "match": {"all": [{"profile": "province", "op": "eq", "value": "广东"}]}}
BUYERS = {"version": 1, "match": {"all": [{"figure": "order_count", "op": "gte", "value": 1}]}}


def test_saving_versions_every_changed_definition():
    """v1 on create; a changed definition makes v2; a rename alone adds no version."""
    segment = services.save_segment(name="广东", definition=GUANGDONG, actor=SYSTEM)
    services.save_segment(
        name="广东 buyers", definition=BUYERS, actor=SYSTEM, segment_id=segment.pk
    )
    services.save_segment(
        name="Guangdong buyers", definition=BUYERS, actor=SYSTEM, segment_id=segment.pk
    )
    segment.refresh_from_db()
    assert (segment.name, segment.version, segment.definition) == ("Guangdong buyers", 2, BUYERS)
    versions = list(
        SegmentVersion.objects.filter(segment=segment)
        .order_by("version")
        .values_list("version", "definition")
    )
    assert versions == [(1, GUANGDONG), (2, BUYERS)]
    assert list(
        AuditEntry.objects.filter(object_type="segment").order_by("pk").values_list("action")
    ) == [("create",), ("update",), ("update",)]


def test_invalid_definition_writes_nothing():
    """The path of the bad node is in the error and no row is written."""
    bad = {"version": 1, "match": {"all": [{"figure": "order_count", "op": "like", "value": 1}]}}
    with pytest.raises(DefinitionError) as caught:
        services.save_segment(name="bad", definition=bad, actor=SYSTEM)
    assert caught.value.path == "match.all[0].op"
    assert (Segment.objects.count(), SegmentVersion.objects.count()) == (0, 0)


def test_duplicate_name_is_refused():
    """Two segments cannot share a name."""
    services.save_segment(name="广东", definition=GUANGDONG, actor=SYSTEM)
    with pytest.raises(services.SegmentError) as caught:
        services.save_segment(name="广东", definition=BUYERS, actor=SYSTEM)
    assert (caught.value.field_name, Segment.objects.count()) == ("name", 1)


def test_cli_preview_prints_size_and_sample(tmp_path):
    """`ecrm segment preview FILE` prints the exact size and the first ids."""
    ids = [factories.customer(name=n, province="广东").pk for n in ("甲", "乙", "丙")]
    factories.customer(name="丁", province="北京")
    path = tmp_path / "seg.json"
    path.write_text(json.dumps(GUANGDONG), encoding="utf-8")
    out = io.StringIO()
    call_command("segment", "preview", str(path), "--sample", "2", stdout=out)
    assert out.getvalue() == f"size: 3\nsample: {ids[0]} {ids[1]}\n"


def test_cli_preview_names_the_bad_path(tmp_path):
    """An invalid definition is refused with the file and the JSON path."""
    path = tmp_path / "seg.json"
    path.write_text(json.dumps({"version": 1, "match": {"any": []}}), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("segment", "preview", str(path))
    assert str(caught.value) == f"{path}: match.any: an empty group matches nothing useful"


def test_cli_preview_names_the_line_of_bad_json(tmp_path):
    """Broken JSON is reported with its line number."""
    path = tmp_path / "seg.json"
    path.write_text('{\n  "version": 1,\n  "match": \n}\n', encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("segment", "preview", str(path))
    assert str(caught.value) == f"{path}:4: not JSON: Expecting value"
