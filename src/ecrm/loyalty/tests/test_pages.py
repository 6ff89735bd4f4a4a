"""Console pages: the programme, the structured rule editor with errors on the field, the
simulator, members and a member's ledger with an audited adjustment."""

import pytest
from django.test import Client

from ecrm.core import clock
from ecrm.core.models import AuditEntry
from ecrm.loyalty import api, queries
from ecrm.loyalty.models import EarningRule
from ecrm.loyalty.tests.factories import customer, day, order, programme
from ecrm.staff.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: day(2025, 3, 1))


@pytest.fixture
def signed_in(staff_factory):
    def make(role):
        client = Client()
        client.force_login(staff_factory(f"{role}-1", role))
        return client

    return make


def test_every_page_renders_for_a_marketer(signed_in):
    programme()
    c = customer()
    order(c.pk, "SO-1", 300, at=day(2025, 2, 1))
    client = signed_in(Role.MARKETER)
    rule = EarningRule.objects.get()
    for url in (
        "/loyalty/",
        "/loyalty/rules/",
        "/loyalty/rules/new/",
        f"/loyalty/rules/{rule.pk}/",
        "/loyalty/simulator/",
        "/loyalty/members/",
        f"/loyalty/members/{c.pk}/",
        f"/customers/{c.pk}/",
    ):
        response = client.get(url)
        assert (url, response.status_code) == (url, 200)
    page = client.get(f"/customers/{c.pk}/").content.decode()
    assert 'id="loyalty-panel"' in page and 'data-balance="300"' in page


def test_the_rule_editor_saves_a_version_and_shows_errors_by_field(signed_in):
    programme()
    client = signed_in(Role.MARKETER)
    base = {
        "name": "双十一加赠",
        "event": "order_completed",
        "festivals": ["double11"],
        "award_type": "fixed",
        "award_points": "100",
        "priority": "5",
        "active": "on",
        "cap_period": "month",
        "nth_period": "ever",
        "award_basis": "order",
    }
    response = client.post("/loyalty/rules/new/", base)
    assert response.status_code == 302
    rule = EarningRule.objects.get(name="双十一加赠")
    assert rule.definition == {
        "version": 1,
        "event": "order_completed",
        "when": {"festivals": ["double11"]},
        "award": {"type": "fixed", "points": 100},
        "priority": 5,
    }
    bad = {**base, "name": "坏", "event": "daily_sign_in", "amount_min": "100"}
    response = client.post("/loyalty/rules/new/", bad)
    assert response.status_code == 200
    assert response.context["form"].errors["amount_min"] == ["仅适用于已完成的订单"]


# A rule form's fields besides those a test is about: 5 points per completed order.
RULE_FORM = {
    "event": "order_completed",
    "award_type": "fixed",
    "award_points": "5",
    "award_basis": "order",
    "priority": "0",
    "cap_period": "month",
    "nth_period": "ever",
}


def test_a_bad_item_of_a_list_is_named_by_its_position_not_its_json_path(signed_in):
    """A third currency of two letters: on the currencies field, as item 3."""
    programme()
    client = signed_in(Role.MARKETER)
    form = {**RULE_FORM, "name": "外币订单", "currencies": "CNY, usd，EU"}

    response = client.post("/loyalty/rules/new/", form, HTTP_ACCEPT_LANGUAGE="en")

    assert response.context["form"].errors == {
        "currencies": ["item 3: 'EU' is not an ISO 4217 currency code such as CNY"]
    }


def test_points_per_an_amount_of_0_is_refused_on_its_field(signed_in):
    """It was saved as 'per 1'."""
    programme()
    client = signed_in(Role.MARKETER)
    form = {
        **RULE_FORM,
        "name": "零元积分",
        "award_type": "per_amount",
        "award_points": "1",
        "award_per": "0",
    }

    response = client.post("/loyalty/rules/new/", form)

    assert response.status_code == 200
    assert response.context["form"].errors == {"award_per": ["确保该值大于或等于0.01。"]}
    assert not EarningRule.objects.filter(name="零元积分").exists()


@pytest.mark.parametrize(
    ("language", "error"),
    [
        ("zh-hans", "仅适用于已完成的订单"),
        ("en", "applies to completed orders only"),
    ],
)
def test_a_rule_editor_error_speaks_the_consoles_language(signed_in, language, error):
    """The refusal is on its field, in the console's language, without the JSON path
    (when.amount) nobody typed; nothing is saved."""
    programme()
    client = signed_in(Role.MARKETER)
    form = {**RULE_FORM, "name": "签到加赠", "event": "daily_sign_in", "amount_min": "100"}

    response = client.post("/loyalty/rules/new/", form, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert f"<li>{error}</li>" in response.content.decode()
    assert not EarningRule.objects.filter(name="签到加赠").exists()


@pytest.mark.parametrize(
    ("language", "error"),
    [
        ("zh-hans", "第一个等级面向所有会员，门槛必须是 0"),
        ("en", "the first tier is for every member: 0"),
    ],
)
def test_a_refused_tier_ladder_speaks_the_consoles_language(signed_in, language, error):
    """A ladder whose first tier does not start at 0 is refused on that row's threshold,
    without the JSON path."""
    programme()
    client = signed_in(Role.ADMIN)
    form = {
        "what": "tiers",
        "tiers-TOTAL_FORMS": "1",
        "tiers-INITIAL_FORMS": "0",
        "tiers-0-code": "silver",
        "tiers-0-name": "银卡",
        "tiers-0-threshold": "1000",
    }

    response = client.post("/loyalty/", form, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert response.context["tiers"].forms[0].errors == {"threshold": [error]}
    assert (
        '<ul class="errorlist" id="id_tiers-0-threshold_error">'
        f"<li>{error}</li></ul></td>" in response.content.decode()
    )
    assert "tiers[0]" not in response.content.decode()


def _tier_rows(rows, initial=3):
    form = {
        "what": "tiers",
        "tiers-TOTAL_FORMS": str(len(rows)),
        "tiers-INITIAL_FORMS": str(initial),
    }
    for i, row in enumerate(rows):
        form.update({f"tiers-{i}-{k}": v for k, v in row.items()})
    return form


SAVED_TIERS = [
    {"code": "member", "name": "普通会员", "threshold": "0"},
    {"code": "silver", "name": "银卡", "threshold": "1000", "multiplier": "1.5"},
    {"code": "gold", "name": "金卡", "threshold": "5000", "multiplier": "2"},
]


def test_clearing_every_tier_code_is_refused_and_keeps_the_ladder(signed_in):
    """Blank codes remove saved tiers; removing all of them left members without a tier
    and said "Tiers saved."."""
    programme()
    client = signed_in(Role.ADMIN)
    rows = [{**t, "code": ""} for t in SAVED_TIERS]

    response = client.post("/loyalty/", _tier_rows(rows))

    assert response.status_code == 200
    assert list(response.context["tiers"].non_form_errors()) == [
        "至少保留一个等级：每位会员都属于一个等级"
    ]
    assert [t.code for t in queries.tier_defs()] == ["member", "silver", "gold"]
    assert "清空已保存等级的代码即删除该等级" in response.content.decode()


def test_a_new_tier_row_without_a_code_is_an_error_on_its_code(signed_in):
    """A new row with a name but no code was dropped without a word; an empty extra row
    is still ignored."""
    programme()
    client = signed_in(Role.ADMIN)
    rows = [*SAVED_TIERS, {"name": "钻石", "threshold": "20000"}, {}]

    response = client.post("/loyalty/", _tier_rows(rows))

    assert response.status_code == 200
    assert [f.errors for f in response.context["tiers"].forms] == [
        {},
        {},
        {},
        {"code": ["这个字段是必填项。"]},
        {},
    ]
    assert [t.code for t in queries.tier_defs()] == ["member", "silver", "gold"]


@pytest.mark.parametrize(
    ("rows", "row", "errors"),
    [
        (
            [SAVED_TIERS[0], {**SAVED_TIERS[1], "discount_percent": "150"}, SAVED_TIERS[2]],
            1,
            {"discount_percent": ["不能大于 100"]},
        ),
        (
            [*SAVED_TIERS[:2], {**SAVED_TIERS[2], "threshold": "800"}],
            2,
            {"threshold": ["必须高于上一个等级"]},
        ),
        (
            [*SAVED_TIERS[:2], {**SAVED_TIERS[2], "code": "silver"}],
            2,
            {"code": ["等级 'silver' 重复了"]},
        ),
        (
            [SAVED_TIERS[0], {**SAVED_TIERS[1], "name": ""}, SAVED_TIERS[2]],
            1,
            {"name": ["这个字段是必填项。"]},
        ),
        (
            [SAVED_TIERS[0], {**SAVED_TIERS[1], "threshold": ""}, SAVED_TIERS[2]],
            1,
            {"threshold": ["这个字段是必填项。"]},
        ),
        (  # the second row is removed: the third is the ladder's second tier
            [SAVED_TIERS[0], {**SAVED_TIERS[1], "code": ""}, {**SAVED_TIERS[2], "threshold": "0"}],
            2,
            {"threshold": ["必须高于上一个等级"]},
        ),
    ],
)
def test_a_refused_tier_is_shown_on_its_row_and_field(signed_in, rows, row, errors):
    """Refusals of the ladder read 'tiers[1].discount_percent: ...' above the table; they
    are on the row and field now, and nothing is saved."""
    programme()
    client = signed_in(Role.ADMIN)

    response = client.post("/loyalty/", _tier_rows(rows))

    assert response.status_code == 200
    forms = response.context["tiers"].forms
    assert [f.errors for f in forms] == [errors if i == row else {} for i in range(3)]
    assert list(response.context["tiers"].non_form_errors()) == []
    assert "tiers[" not in response.content.decode()
    assert [t.threshold for t in queries.tier_defs()] == [0, 1000, 5000]


def test_activity_mappings_without_a_colon_are_refused_and_nothing_is_saved(signed_in):
    """'no colon here' in place of the mappings said "Settings saved." and dropped them."""
    programme()
    client = signed_in(Role.ADMIN)
    shown = client.get("/loyalty/").context["form"].initial
    form = {k: v for k, v in shown.items() if v is not None}
    before = queries.setup().settings

    response = client.post(
        "/loyalty/", {**form, "what": "settings", "event_names": "no colon here"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "event_names": ["第 1 行:'no colon here' 缺少冒号，请写成 活动类型: 事件名, 事件名"]
    }
    assert queries.setup().settings == before


def test_the_rule_list_reads_one_point_and_tenure_in_english(signed_in):
    programme(
        rule_list=[
            (
                "老会员",
                "",
                {
                    "version": 1,
                    "event": "order_completed",
                    "when": {"tenure_years": {"min": 3}},
                    "award": {"type": "per_amount", "points": 1, "per": 1},
                },
            )
        ]
    )
    client = signed_in(Role.MARKETER)

    response = client.get("/loyalty/rules/", HTTP_ACCEPT_LANGUAGE="en")

    assert [r["text"] for r in response.context["rows"]] == [
        "When an order is completed by members of at least 3 years: earn 1 point per 1 spent."
    ]


def test_the_simulator_page_explains(signed_in):
    programme()
    c = customer()
    client = signed_in(Role.ANALYST)
    query = {"customer_id": c.pk, "event": "order_completed", "amount": "88.80", "currency": "CNY"}
    reasons = {}
    for language in ("zh-hans", "en"):
        response = client.get("/loyalty/simulator/", query, HTTP_ACCEPT_LANGUAGE=language)
        assert response.context["sim"].evaluation.points == 88
        reasons[language] = [o.reason for o in response.context["sim"].evaluation.outcomes]
    assert reasons == {
        "zh-hans": ["消费 88 × 1 CNY × 1 分"],
        "en": ["88 × 1 CNY spent × 1 point"],  # one point: singular
    }


@pytest.mark.parametrize(
    ("query", "field", "error"),
    [
        ({"lines": "P-1 abc"}, "lines", "第 1 行:abc 不是金额"),
        ({"lines": "P-1 NaN"}, "lines", "第 1 行:NaN 不是金额"),
        ({"lines": "P-1 Infinity"}, "lines", "第 1 行:Infinity 不是金额"),
        ({"lines": "P-1 10\nP-2 1e999999"}, "lines", "第 2 行:不能大于 9999999999999"),
        ({"lines": "P-1 -5"}, "lines", "第 1 行:不能为负数"),
        ({"amount": "1e30"}, "amount", "不能大于 9999999999999"),
        ({"currency": "Z1"}, "currency", "'Z1' 不是 ISO 4217 币种代码（如 CNY）"),
    ],
)
def test_the_simulator_refuses_an_amount_or_currency_it_cannot_count(
    signed_in, query, field, error
):
    """Non-finite or huge amounts were a 500 (``money_units`` could not convert them);
    now they are an error on their field, like an amount that is not a number."""
    programme()
    c = customer()
    client = signed_in(Role.ADMIN)
    base = {"customer_id": c.pk, "event": "order_completed", "currency": "CNY"}

    response = client.get("/loyalty/simulator/", {**base, **query})

    assert response.status_code == 200
    assert response.context["sim"] is None
    assert response.context["form"].errors == {field: [error]}


def test_a_service_agent_adjusts_points_and_it_is_audited(signed_in):
    programme()
    c = customer()
    order(c.pk, "SO-1", 300, at=day(2025, 2, 1))
    agent = signed_in(Role.SERVICE_AGENT)
    response = agent.post(f"/loyalty/members/{c.pk}/adjust/", {"points": "-500", "reason": "x"})
    assert response.status_code == 400
    huge = {"points": str(10**20), "reason": "x"}  # was a 500 (an integer SQLite cannot hold)
    response = agent.post(f"/loyalty/members/{c.pk}/adjust/", huge)
    assert response.status_code == 400
    assert "须在 -100,000,000 到 100,000,000 之间" in response.content.decode()
    response = agent.post(f"/loyalty/members/{c.pk}/adjust/", {"points": "50", "reason": "补偿"})
    assert response.status_code == 302
    assert api.balance(c.pk) == 350
    assert (
        AuditEntry.objects.filter(action="adjust_points", actor_label="service_agent-1").count()
        == 1
    )
    analyst = signed_in(Role.ANALYST)
    assert (
        analyst.post(f"/loyalty/members/{c.pk}/adjust/", {"points": "5", "reason": "x"}).status_code
        == 403
    )
