"""The console's segment pages: the rule builder (live size, errors on the bad node, save as
a version), the list and detail pages, static lists by hand and by upload."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.utils import translation

from ecrm.core.audit import SYSTEM
from ecrm.customers.tests import factories
from ecrm.segments import rules, services
from ecrm.segments.models import Member, Segment
from ecrm.segments.web import builder
from ecrm.staff.models import Role

NESTED = {
    "version": 1,
    "match": {
        "all": [
            {"profile": "province", "op": "in", "value": ["广东", "广西"]},
            {
                "any": [
                    {"figure": "days_since_last_order", "op": "gte", "value": 60},
                    {"not": {"consent": "email", "status": "denied"}},
                ]
            },
            {
                "event": "Product Viewed",
                "where": {"category_prefix": "家电"},
                "count": {"op": "gte", "value": 3},
                "within_days": 30,
            },
            {"attribute": "vip", "op": "eq", "value": True},
            {"figure": "revenue", "op": "between", "value": [100, 500.5]},
        ]
    },
}


def _form(root: builder.Node, **extra) -> QueryDict:
    """The POST a browser sends for the tree as the builder rendered it."""
    data = QueryDict(mutable=True)
    for key, value in extra.items():
        data[key] = value

    def walk(node, parent):
        data.appendlist("node", node.id)
        data[f"kind_{node.id}"] = node.kind
        data[f"parent_{node.id}"] = parent
        for name in ("field", "op", "value", "value2", "value_type", "status", "name"):
            data[f"{name}_{node.id}"] = getattr(node, name)
        for name in ("category", "count_op", "count_value", "days"):
            data[f"{name}_{node.id}"] = getattr(node, name)
        for child in node.children:
            walk(child, node.id)

    walk(root, "")
    return data


def test_a_definition_round_trips_through_the_builder_form():
    """Definition -> tree -> form -> tree -> the same definition (pure, no database)."""
    tree = builder.from_definition(NESTED)
    again = builder.from_form(_form(tree))
    definition, _paths = builder.to_definition(again, {})
    assert definition == NESTED


def test_buttons_add_wrap_and_remove_nodes():
    root = builder.from_definition(
        {"version": 1, "match": {"all": [{"consent": "sms", "status": "granted"}]}}
    )
    builder.apply(root, "add:n0:figure")
    builder.apply(root, "group:n0:any")
    builder.apply(root, "not:n1")
    builder.apply(root, "switch:n0")
    definition, _ = builder.to_definition(root, {})
    assert definition["match"] == {
        "any": [
            {"not": {"consent": "sms", "status": "granted"}},
            {"figure": "order_count", "op": "gte", "value": 1},
            {"any": [{"profile": "province", "op": "eq", "value": ""}]},
        ]
    }
    builder.apply(root, "remove:n3")
    builder.apply(root, "not:n5")  # unwrap the NOT again
    definition, _ = builder.to_definition(root, {})
    assert definition["match"] == {
        "any": [
            {"consent": "sms", "status": "granted"},
            {"figure": "order_count", "op": "gte", "value": 1},
        ]
    }


def test_an_error_is_placed_on_the_bad_node():
    """The rest of the path below the node (never translated) comes before the reason, which
    is in the active language: the console's default, Chinese, or English."""
    root = builder.from_definition(
        {
            "version": 1,
            "match": {"all": [{"any": [{"profile": "birthday_month", "op": "eq", "value": 13}]}]},
        }
    )
    definition, paths = builder.to_definition(root, {})
    with pytest.raises(rules.DefinitionError) as caught:
        rules.validate(definition)
    node = builder.place_error(root, paths, caught.value)
    assert (node.kind, node.field, node.error) == (
        "profile",
        "birthday_month",
        "value: 月份必须是 1 到 12",
    )
    with translation.override("en"):
        builder.place_error(root, paths, caught.value)
    assert node.error == "value: a month is 1 to 12"


@pytest.fixture
def marketer(client, staff_factory):
    client.force_login(staff_factory("mk", Role.MARKETER))
    return client


@pytest.mark.django_db
def test_builder_previews_live_and_saves_a_version(marketer):
    ids = [factories.customer(name=n, province="广东").pk for n in ("甲", "乙")]
    factories.customer(name="丙", province="北京")
    tree = builder.from_definition(
        {"version": 1, "match": {"all": [{"profile": "province", "op": "eq", "value": "广东"}]}}
    )
    response = marketer.post("/segments/builder/", _form(tree, name="广东"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-size="2"' in html
    assert f"#{ids[0]}" in html
    leaf = tree.children[0].id
    bad = _form(tree, name="广东")
    bad[f"field_{leaf}"] = "birthday_month"
    bad[f"op_{leaf}"] = "eq"
    bad[f"value_{leaf}"] = "13"
    html = marketer.post("/segments/builder/", bad, HTTP_HX_REQUEST="true").content.decode()
    assert f'class="seg-leaf invalid" data-node="{leaf}"' in html
    assert '<div class="seg-error">value: 月份必须是 1 到 12</div>' in html
    saved = marketer.post("/segments/builder/", _form(tree, name="广东", action="save"))
    segment = Segment.objects.get(name="广东")
    assert saved.status_code == 302 and saved["Location"] == f"/segments/{segment.pk}/"
    assert (segment.version, segment.definition) == (1, builder.to_definition(tree, {})[0])
    assert (
        sorted(Member.objects.filter(segment=segment).values_list("customer_id", flat=True)) == ids
    )
    page = marketer.get(f"/segments/{segment.pk}/").content.decode()
    assert 'data-size="2"' in page and "甲" in page
    listing = marketer.get("/segments/").content.decode()
    assert "广东" in listing


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "error"),
    [("zh-hans", "value: 月份必须是 1 到 12"), ("en", "value: a month is 1 to 12")],
)
def test_a_builder_error_speaks_the_consoles_language(marketer, language, error):
    """The bad node shows the rest of its path and the reason in the console's language."""
    tree = builder.from_definition(
        {"version": 1, "match": {"all": [{"profile": "birthday_month", "op": "eq", "value": 13}]}}
    )

    response = marketer.post(
        "/segments/builder/",
        _form(tree, name="十三月"),
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert f'<div class="seg-error">{error}</div>' in response.content.decode()


@pytest.mark.django_db
def test_a_count_too_large_for_any_shop_is_named_as_such(marketer):
    """Eleven digits typed for an order count: the bound, not "must be a whole number"."""
    tree = builder.from_definition(
        {"version": 1, "match": {"all": [{"figure": "order_count", "op": "gte", "value": 1}]}}
    )
    form = _form(tree, name="大客户")
    form[f"value_{tree.children[0].id}"] = "99999999999"

    response = marketer.post(
        "/segments/builder/", form, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert '<div class="seg-error">value: must be at most 1,000,000,000</div>' in (
        response.content.decode()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "error"),
    [("zh-hans", "必须填写，最多 120 个字符"), ("en", "is required, at most 120 characters")],
)
def test_a_static_list_without_a_name_is_refused_in_the_consoles_language(
    marketer, language, error
):
    """The error sits under the name field, without the field's name; nothing is saved."""
    response = marketer.post(
        "/segments/new/static/", {"name": " ", "description": ""}, HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 200
    assert f'<ul class="errorlist"><li>{error}</li></ul>' in response.content.decode()
    assert Segment.objects.count() == 0


@pytest.mark.django_db
def test_adding_a_condition_of_the_chosen_kind(marketer):
    tree = builder.Node(builder.ROOT, "all")
    form = _form(tree, name="x", action="addkind:n0")
    form["add_kind_n0"] = "consent"
    html = marketer.post("/segments/builder/", form, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="kind_n1" value="consent"' in html
    assert 'data-size="0"' in html


@pytest.mark.django_db
def test_static_list_in_the_console(marketer):
    a = factories.customer(name="甲", email="a@example.com")
    b = factories.customer(name="乙")
    response = marketer.post("/segments/new/static/", {"name": "VIP", "description": ""})
    segment = Segment.objects.get(name="VIP")
    assert response["Location"] == f"/segments/{segment.pk}/"
    url = f"/segments/{segment.pk}/members/"
    marketer.post(url, {"what": "add", "customer_ids": f"#{b.pk}"})
    upload = SimpleUploadedFile("l.csv", b"email\na@example.com\nx@example.com\n")
    marketer.post(url, {"what": "upload", "file": upload})
    rejects = marketer.get(f"/segments/{segment.pk}/rejects/")
    assert [(line, value) for line, value, _ in rejects.context["rejects"]] == [
        (3, "x@example.com")
    ]
    clean = SimpleUploadedFile("m.csv", b"email\na@example.com\n")
    marketer.post(url, {"what": "upload", "file": clean})
    assert marketer.get(f"/segments/{segment.pk}/rejects/").context["rejects"] == []
    marketer.post(url, {"what": "remove", "customer_id": str(b.pk)})
    assert list(Member.objects.filter(segment=segment).values_list("customer_id", flat=True)) == [
        a.pk
    ]


ZH_REJECTS = [
    (3, "nobody@example.com", "没有对应的客户"),
    (4, "", "email 为空"),
    (5, "not-an-email", "email: 'not-an-email' 不是电子邮件地址"),
    (6, "twin@example.com", "对应多个客户（{twins}）"),
]
EN_REJECTS = [
    (3, "nobody@example.com", "no customer has it"),
    (4, "", "email is empty"),
    (5, "not-an-email", "email: 'not-an-email' is not an e-mail address"),
    (6, "twin@example.com", "names several customers ({twins})"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("uploaded_in", "shown_in", "expected"),
    [("zh-hans", "zh-hans", ZH_REJECTS), ("en", "en", EN_REJECTS), ("en", "zh-hans", ZH_REJECTS)],
)
def test_upload_rejects_speak_the_language_of_the_page(marketer, uploaded_in, shown_in, expected):
    """Each rejected line's reason is shown in the language of the rejects page, whatever
    the language of the console that uploaded the file."""
    factories.customer(name="甲", email="a@example.com")
    twins = [factories.customer(name=n, email="twin@example.com").pk for n in ("乙", "丙")]
    segment = services.save_segment(name="VIP", kind="static", actor=SYSTEM)
    data = (
        b"email,note\na@example.com,\nnobody@example.com,\n,x\nnot-an-email,\ntwin@example.com,\n"
    )
    marketer.post(
        f"/segments/{segment.pk}/members/",
        {"what": "upload", "file": SimpleUploadedFile("l.csv", data)},
        HTTP_ACCEPT_LANGUAGE=uploaded_in,
    )

    response = marketer.get(f"/segments/{segment.pk}/rejects/", HTTP_ACCEPT_LANGUAGE=shown_in)

    listing = ", ".join(f"#{pk}" for pk in twins)
    rows = [(line, value, reason.format(twins=listing)) for line, value, reason in expected]
    assert response.context["rejects"] == rows
    line, value, reason = rows[0]
    assert f"<td>{value}</td><td>{reason}</td>" in response.content.decode()


@pytest.mark.django_db
def test_an_analyst_sees_segments_but_cannot_build(client, staff_factory):
    services.save_segment(
        name="all",
        definition={"version": 1, "match": {"figure": "order_count", "op": "gte", "value": 0}},
        actor=SYSTEM,
    )
    client.force_login(staff_factory("an", Role.ANALYST))
    assert client.get("/segments/").status_code == 200
    assert client.get("/segments/new/").status_code == 403


@pytest.mark.django_db
def test_customer_numbers_no_database_holds_are_refused_not_a_500(marketer):
    """A superscript two is a digit to ``str.isdigit`` and not to ``int``; a number beyond
    BIGINT overflowed SQLite's driver. Both once answered 500."""
    segment = services.save_segment(name="VIP", kind="static", actor=SYSTEM)
    url = f"/segments/{segment.pk}/members/"

    odd = marketer.post(
        url, {"what": "add", "customer_ids": "12 \u00b2"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    huge = marketer.post(
        url,
        {"what": "add", "customer_ids": "99999999999999999999999"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    removed = marketer.post(url, {"what": "remove", "customer_id": "99999999999999999999999"})

    assert "give customer numbers, e.g. 12 345 6789" in odd.content.decode()
    assert "give customer numbers, e.g. 12 345 6789" in huge.content.decode()
    assert removed.status_code == 302
    assert not Member.objects.filter(segment=segment).exists()


@pytest.mark.django_db
def test_an_uploaded_customer_number_may_carry_a_hash_as_in_the_console():
    """``#12`` names customer 12 (``customers.find_customers``); a missing ``#99999`` is
    missing, not "not a whole number"."""
    a = factories.customer(name="甲")
    segment = services.save_segment(name="VIP", kind="static", actor=SYSTEM)
    data = f"customer_id\n#{a.pk}\n#99999\n#x\n".encode()

    result = services.upload_members(segment.pk, data, actor=SYSTEM)

    assert result.added == 1
    assert [(r.line, r.value, str(r.reason)) for r in result.rejects] == [
        (3, "#99999", "no customer has it"),
        (4, "#x", "a customer id is a whole number"),
    ]
