"""The segments JSON API: definitions, preview, members, changes, sizes, static lists,
and 400s that name the JSON path of a bad node."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ecrm.customers.tests import factories
from ecrm.staff import api as staff
from ecrm.staff.models import Role

pytestmark = pytest.mark.django_db

GUANGDONG = {"version": 1, "match": {"all": [{"profile": "province", "op": "eq", "value": "广东"}]}}


@pytest.fixture
def call(client, admin_user):
    token = staff.create_api_token(admin_user, "test")

    def _call(method, path, body=None, token=token):
        response = getattr(client, method)(
            path,
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        return response.status_code, (response.json() if response.content else None)

    return _call


def test_create_read_update_and_delete(call):
    a = factories.customer(name="甲", province="广东")
    b = factories.customer(name="乙", province="北京")
    status, body = call("post", "/api/segments", {"name": "广东", "definition": GUANGDONG})
    assert (status, body["size"], body["version"], body["kind"]) == (201, 1, 1, "rules")
    pk = body["id"]
    beijing = {"version": 1, "match": {"profile": "province", "op": "in", "value": ["北京"]}}
    status, body = call("patch", f"/api/segments/{pk}", {"definition": beijing})
    assert (status, body["version"], body["size"], body["name"]) == (200, 2, 1, "广东")
    assert [v["version"] for v in body["versions"]] == [2, 1]
    status, body = call("get", f"/api/segments/{pk}/members")
    assert (status, [m["customer_id"] for m in body["items"]], body["next"]) == (200, [b.pk], None)
    status, body = call("get", f"/api/segments/{pk}/changes")
    assert [(c["customer_id"], c["kind"], c["reason"]) for c in body["items"]] == [
        (b.pk, "entered", "rebuild"),
        (a.pk, "left", "rebuild"),
        (a.pk, "entered", "rebuild"),
    ]
    status, body = call("get", f"/api/segments/{pk}/sizes")
    assert [s["size"] for s in body] == [1, 1]
    status, body = call("get", "/api/segments")
    assert [(s["name"], s["size"]) for s in body] == [("广东", 1)]
    assert call("delete", f"/api/segments/{pk}") == (204, None)
    assert call("get", f"/api/segments/{pk}")[0] == 404


def test_invalid_definition_is_a_400_naming_the_path(call):
    bad = {"version": 1, "match": {"all": [{"figure": "revenue", "op": "contains", "value": 1}]}}
    status, body = call("post", "/api/segments", {"name": "bad", "definition": bad})
    assert (status, body["field"]) == (400, "definition.match.all[0].op")
    assert body["error"].startswith("match.all[0].op: 'contains' is not one of eq, ne")
    status, body = call("post", "/api/segments/preview", {"definition": {"version": 1}})
    assert (status, body) == (400, {"error": "match: is required", "field": "definition.match"})
    empty = {"version": 1, "match": {"any": []}}
    status, body = call("post", "/api/segments/preview", {"definition": empty})
    assert (status, body["field"]) == (400, "definition.match.any")
    unknown = {"version": 1, "match": {"profile": "shoe_size", "op": "eq", "value": "42"}}
    status, body = call("post", "/api/segments/preview", {"definition": unknown})
    assert (status, body["field"]) == (400, "definition.match.profile")


def test_a_condition_naming_its_field_by_a_list_is_a_400_not_a_500(call):
    """``"profile": []`` was looked up in a dict: TypeError (unhashable), a 500."""
    bad = {"version": 1, "match": {"profile": [], "op": "eq", "value": "深圳"}}
    known = (
        "name, gender, birthday, birthday_month, country, province, city, "
        "registration_channel, registered_at, is_anonymous"
    )
    expected = (
        400,
        {
            "error": f"match.profile: unknown profile field []; known: {known}",
            "field": "definition.match.profile",
        },
    )
    assert call("post", "/api/segments/preview", {"definition": bad}) == expected
    assert call("post", "/api/segments", {"name": "bad", "definition": bad}) == expected
    assert call("get", "/api/segments") == (200, [])


def test_an_operand_the_database_cannot_compare_is_a_400_naming_it(call):
    """It reached the query and failed there (OverflowError): a 400 naming no field."""
    late = {"profile": "registered_at", "op": "gt", "value": "9999-12-31T23:00:00-08:00"}
    assert call("post", "/api/segments/preview", {"definition": {"version": 1, "match": late}}) == (
        400,
        {
            "error": "match.value: must be a date from 1900-01-01 to 2999-12-31",
            "field": "definition.match.value",
        },
    )
    big = {"attribute": "vip", "op": "eq", "value": 10**30}
    assert call("post", "/api/segments/preview", {"definition": {"version": 1, "match": big}}) == (
        400,
        {
            "error": "match.value: must be at most 9,223,372,036,854,775,807",
            "field": "definition.match.value",
        },
    )


def test_an_upload_with_a_line_of_thousands_of_digits_rejects_the_line(call, client, admin_user):
    """Read as a customer id, a 5,000-digit line raised ValueError (int() refuses past
    4,300 digits): the upload answered 500."""
    status, segment = call("post", "/api/segments", {"name": "VIP", "kind": "static"})
    token = staff.create_api_token(admin_user, "upload")
    data = ("customer_id\n" + "9" * 5000 + "\n").encode()
    response = client.post(
        f"/api/segments/{segment['id']}/upload",
        {"file": SimpleUploadedFile("ids.csv", data, content_type="text/csv")},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert (response.status_code, response.json()) == (
        200,
        {
            "kind": "customer_id",
            "lines": 1,
            "added": 0,
            "already": 0,
            "rejects": [
                {"line": 2, "value": "9" * 5000, "reason": "a customer id is a whole number"}
            ],
        },
    )


def test_an_upload_without_its_file_names_the_file(call, client, admin_user):
    """The error said "file.file: Field required": ninja's location of a file parameter
    is ("file", "file"), and only the part names were dropped."""
    status, segment = call("post", "/api/segments", {"name": "VIP", "kind": "static"})
    token = staff.create_api_token(admin_user, "upload")
    response = client.post(
        f"/api/segments/{segment['id']}/upload",
        {"note": "no file"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": "file: Field required", "field": "file"},
    )


def test_preview_of_an_unsaved_definition(call):
    ids = [factories.customer(name=n, province="广东").pk for n in ("甲", "乙", "丙")]
    factories.customer(name="丁", province="北京")
    status, body = call("post", "/api/segments/preview", {"definition": GUANGDONG, "sample": 2})
    assert (status, body) == (200, {"size": 3, "sample": ids[:2]})


def test_static_list_by_hand_and_upload(call, client):
    a = factories.customer(name="甲", user_id="u-a")
    b = factories.customer(name="乙")
    status, body = call("post", "/api/segments", {"name": "VIP", "kind": "static"})
    pk = body["id"]
    assert call("post", f"/api/segments/{pk}/members", {"customer_ids": [b.pk]}) == (
        200,
        {"added": 1, "removed": 0, "unchanged": 0},
    )
    status, body = call("post", f"/api/segments/{pk}/members", {"customer_ids": [999999]})
    assert (status, body) == (
        400,
        {"error": "customer_ids: no customer #999999", "field": "customer_ids"},
    )
    token = staff.create_api_token(staff.create_staff("m", "pass-word-123", Role.MARKETER), "t")

    upload = SimpleUploadedFile("list.csv", b"user_id\nu-a\nu-zzz\n", content_type="text/csv")
    response = client.post(
        f"/api/segments/{pk}/upload", {"file": upload}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.json() == {
        "kind": "user_id",
        "lines": 2,
        "added": 1,
        "already": 0,
        "rejects": [{"line": 3, "value": "u-zzz", "reason": "no customer has it"}],
    }
    status, body = call("post", f"/api/segments/{pk}/members/remove", {"customer_ids": [b.pk]})
    assert body == {"added": 0, "removed": 1, "unchanged": 0}
    status, body = call("get", f"/api/segments/{pk}/members")
    assert [m["customer_id"] for m in body["items"]] == [a.pk]


def test_an_analyst_may_look_but_not_change(call):
    analyst = staff.create_staff("ana", "pass-word-123", Role.ANALYST)
    token = staff.create_api_token(analyst, "t")
    assert call("get", "/api/segments", token=token) == (200, [])
    status, body = call(
        "post", "/api/segments", {"name": "x", "definition": GUANGDONG}, token=token
    )
    assert (status, body["error"]) == (403, "your role does not allow manage segments")
