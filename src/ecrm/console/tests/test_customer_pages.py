"""Customer pages: search, the Customer 360 page, edits, consent, contacts and merges."""

import datetime as dt

import pytest

from ecrm.console import keyset
from ecrm.contacts.models import Contact
from ecrm.core.audit import Actor
from ecrm.customers import api as customers
from ecrm.customers.models import Customer, Merge
from ecrm.customers.tests import factories as f
from ecrm.customers.web import timeline
from ecrm.events import api as events
from ecrm.orders.models import Order
from ecrm.staff.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """张伟 (with phone and email), 王芳 and 李娜, created in that order."""
    zhang = f.customer("张伟", phone="13812345678", email="zhang.wei@example.com")
    wang = f.customer("王芳", phone="13900001111")
    li = f.customer("李娜", email="lina@example.com")
    return zhang, wang, li


@pytest.mark.parametrize(
    "query, who",
    [
        ("张伟", "张伟"),
        ("zhangwei", "张伟"),
        ("Zhang Wei", "张伟"),
        ("zw", "张伟"),
        ("wangf", "王芳"),
        ("138 1234 5678", "张伟"),
        ("+8613900001111", "王芳"),
        ("LINA@example.com", "李娜"),
    ],
)
def test_search_by_hanzi_pinyin_initials_phone_and_email(agent_client, shop, query, who):
    """The search box finds the one matching profile by any of its keys."""
    response = agent_client.get("/customers/", {"q": query})

    assert response.status_code == 200
    assert [c.name for c in response.context["page"].items] == [who]


@pytest.mark.parametrize(
    "query, who",
    [
        ("Zhāng Wěi", ["张伟"]),  # tone marks, as a pinyin keyboard writes them
        ("zhang1 wei3", ["张伟"]),  # tone numbers
        ("wang2 fang1", ["王芳"]),
        ("zhang.wei", ["张伟"]),  # the start of an e-mail address, without its @
        ("LINA", ["李娜"]),
        ("lina@exa", ["李娜"]),
    ],
)
def test_search_by_pinyin_with_tones_and_by_the_start_of_an_email(agent_client, shop, query, who):
    """Names' pinyin keys carry no tones, so ``Zhāng Wěi`` and ``zhang1 wei3`` found
    nobody; nor did an address's start typed without its @ (``zhang.wei``)."""
    response = agent_client.get("/customers/", {"q": query})

    assert [c.name for c in response.context["page"].items] == who


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("@example.com", ["李娜", "张伟"]),  # newest first
        ("@EXAMPLE.COM", ["李娜", "张伟"]),
        ("@qq.com", []),
        ("@", []),
    ],
)
def test_search_by_an_email_domain(agent_client, shop, query, who):
    """ "@example.com" found nobody: an address was only matched from its start."""
    response = agent_client.get("/customers/", {"q": query})
    assert [c.name for c in response.context["page"].items] == who


def test_search_by_pinyin_with_u_umlaut(agent_client):
    """pypinyin writes 吕 as ``lv``: ``Lǚ`` and ``lü`` are the same syllable."""
    lv = f.customer("吕布")
    f.customer("卢布")

    found = [
        [c.pk for c in agent_client.get("/customers/", {"q": q}).context["page"].items]
        for q in ("Lǚ Bù", "lü bu", "lv3 bu4")
    ]

    assert found == [[lv.pk], [lv.pk], [lv.pk]]


def test_search_by_id(agent_client, shop):
    """``#<id>`` finds that profile."""
    zhang = shop[0]

    response = agent_client.get("/customers/", {"q": f"#{zhang.pk}"})

    assert [c.pk for c in response.context["page"].items] == [zhang.pk]


def test_htmx_search_returns_only_the_results_fragment(agent_client, shop):
    """Live search (htmx) gets the results card, not a whole page."""
    response = agent_client.get(
        "/customers/", {"q": "zw"}, headers={"HX-Request": "true", "HX-Target": "results"}
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<div class="card" id="results">')
    assert "<html" not in body
    assert "张伟" in body


def test_customer_list_pages_with_next_link_and_no_count(
    agent_client, django_assert_max_num_queries
):
    """51 profiles: the first page shows 50 and an ``after`` link to the 51st."""
    made = [customers.create_customer(profile={"name": f"顾客{i}"}) for i in range(51)]

    with django_assert_max_num_queries(6):
        first = agent_client.get("/customers/")
    cursor = first.context["page"].next_cursor
    second = agent_client.get("/customers/", {"after": cursor})

    assert len(first.context["page"].items) == 50
    assert cursor == made[1].pk
    assert f"after={made[1].pk}" in first.content.decode()
    assert [c.pk for c in second.context["page"].items] == [made[0].pk]
    assert second.context["page"].next_cursor is None


def test_customer_360_shows_profile_identities_figures_and_timeline(agent_client):
    """One page: profile, identities, consents, figures and a newest-first timeline."""
    zhang = f.customer("张伟", user_id="u-1", phone="13812345678", city="深圳")
    order = f.order(
        zhang.pk, "SO-1", total="299.00", placed_at=dt.datetime(2025, 11, 11, 2, tzinfo=dt.UTC)
    )
    events.ingest(
        [
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": "u-1",
                "messageId": "m-1",
                "timestamp": "2025-11-10T08:00:00Z",
                "properties": {"name": "小米手环 8"},
            }
        ]
    )
    customers.set_consent(zhang.pk, "sms", "granted", source="test", actor=Actor("t"))
    contact = Contact.objects.create(
        customer=zhang,
        channel="phone",
        direction="in",
        summary="咨询发货",
        occurred_at=dt.datetime(2025, 11, 12, tzinfo=dt.UTC),
        created_at=dt.datetime(2025, 11, 12, tzinfo=dt.UTC),
    )

    response = agent_client.get(f"/customers/{zhang.pk}/")

    ctx = response.context
    items = ctx["panel"]["items"]
    assert response.status_code == 200
    assert [(i.kind, i.pk) for i in items] == [
        ("contact", contact.pk),
        ("order", order.pk),
        ("event", items[2].pk),
    ]
    assert items[2].title == "Product Viewed"
    assert sorted((i.kind, i.value) for i in ctx["identities"]) == [
        ("phone", "+8613812345678"),
        ("user_id", "u-1"),
    ]
    assert {r["channel"]: r["consent"].status for r in ctx["consents"] if r["consent"]} == {
        "sms": "granted"
    }
    assert ctx["figures"].order_count == 1
    assert "小米手环 8" in response.content.decode()


@pytest.mark.parametrize(
    "tab, field", [("orders", "external_id"), ("contacts", "summary"), ("returns", "external_id")]
)
def test_customer_360_tabs_page_orders_contacts_and_returns(agent_client, tab, field):
    """Each tab lists its records newest first; the htmx request gets only the panel."""
    zhang = f.customer("张伟")
    f.order(zhang.pk, "SO-1", placed_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    f.order(zhang.pk, "SO-2", placed_at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC))

    response = agent_client.get(
        f"/customers/{zhang.pk}/",
        {"tab": tab},
        headers={"HX-Request": "true", "HX-Target": "panel"},
    )

    expected = {"orders": ["SO-2", "SO-1"], "contacts": [], "returns": []}[tab]
    assert [getattr(r, field) for r in response.context["panel"]["rows"]] == expected
    assert response.content.decode().lstrip().startswith('<div id="panel" data-tab="' + tab)


def test_timeline_pages_through_items_sharing_one_timestamp(agent_client):
    """Keyset pages of the merged timeline repeat and skip nothing, even at equal times."""
    zhang = f.customer("张伟", user_id="u-1")
    at = dt.datetime(2025, 6, 18, 12, tzinfo=dt.UTC)
    orders = [f.order(zhang.pk, f"SO-{i}", placed_at=at) for i in range(3)]
    contacts = [
        Contact.objects.create(
            customer=zhang,
            channel="chat",
            direction="in",
            summary=str(i),
            occurred_at=at,
            created_at=at,
        )
        for i in range(2)
    ]
    events.ingest(
        [
            {
                "type": "track",
                "event": f"E{i}",
                "userId": "u-1",
                "messageId": f"m-{i}",
                "timestamp": "2025-06-18T12:00:00Z",
            }
            for i in range(3)
        ]
    )

    seen, cursor = [], None
    for _ in range(4):
        items, nxt = timeline.timeline(zhang.pk, keyset.decode(cursor, ranked=True), limit=2)
        seen += [(i.kind, i.pk) for i in items]
        cursor = nxt
    response = agent_client.get(f"/customers/{zhang.pk}/", {"before": "garbage"})

    event_ids = sorted(pk for kind, pk in seen if kind == "event")
    assert seen == (
        [("order", o.pk) for o in reversed(orders)]
        + [("contact", c.pk) for c in reversed(contacts)]
        + [("event", pk) for pk in reversed(event_ids)]
    )
    assert len(event_ids) == 3
    assert cursor is None
    assert len(response.context["panel"]["items"]) == 8


def test_edit_profile_saves_and_audits(agent_client):
    """A valid edit goes through update_profile and redirects to the 360 page."""
    zhang = f.customer("张伟")

    response = agent_client.post(
        f"/customers/{zhang.pk}/edit/",
        {
            "name": "张伟",
            "phone": "138 0013 8000",
            "gender": "m",
            "city": "杭州",
            "attributes": '{"vip": "gold"}',
        },
    )

    zhang.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{zhang.pk}/"
    assert (zhang.phone, zhang.gender, zhang.city, zhang.attributes) == (
        "+8613800138000",
        "m",
        "杭州",
        {"vip": "gold"},
    )


def test_edit_profile_shows_the_error_next_to_the_field(agent_client):
    """An invalid mobile re-renders the form with the error on ``phone`` (in the console's
    default language, Chinese); nothing changes."""
    zhang = f.customer("张伟", city="深圳")

    response = agent_client.post(
        f"/customers/{zhang.pk}/edit/", {"name": "张伟", "phone": "12", "city": "北京"}
    )

    zhang.refresh_from_db()
    assert response.status_code == 200
    assert response.context["form"].errors == {"phone": ["'12' 不是有效的电话号码"]}
    assert zhang.city == "深圳"


def test_edit_profile_shows_every_fields_error_at_once(agent_client):
    """A bad mobile, email and birthday are all named in one answer, not one per attempt."""
    zhang = f.customer("张伟", city="深圳")
    agent_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = agent_client.post(
        f"/customers/{zhang.pk}/edit/",
        {
            "name": "<b>张伟</b>",
            "phone": "12345",
            "email": "not-an-email",
            "birthday": "1990-13-01",
            "city": "北京",
        },
    )

    zhang.refresh_from_db()
    assert response.context["form"].errors == {
        "birthday": ["Enter a valid date."],
        "email": ["'not-an-email' is not an e-mail address"],
        "phone": ["'12345' is not a valid phone number"],
    }
    assert (zhang.name, zhang.city) == ("张伟", "深圳")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_edit_page_shows_the_birthday_as_the_date_picker_reads_it(agent_client, language):
    """Chinese formats dates as 2001/01/15, which a date picker rejects and shows empty: a
    save then erased the birthday."""
    zhang = f.customer("张伟", birthday=dt.date(2001, 1, 15))
    agent_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language

    page = agent_client.get(f"/customers/{zhang.pk}/edit/").content.decode()

    assert 'type="date" name="birthday" value="2001-01-15"' in page


def test_edit_profile_refuses_a_birthday_in_the_future(agent_client):
    zhang = f.customer("张伟", birthday=dt.date(2001, 1, 15))
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()

    response = agent_client.post(
        f"/customers/{zhang.pk}/edit/", {"name": "张伟", "birthday": later}
    )

    zhang.refresh_from_db()
    assert response.context["form"].errors == {"birthday": ["不能晚于今天"]}
    assert zhang.birthday == dt.date(2001, 1, 15)


def test_edit_profile_errors_speak_the_consoles_language(agent_client):
    """The console's default is Chinese (above); in English the same error is in English,
    as the API gives it."""
    zhang = f.customer("张伟", city="深圳")
    agent_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = agent_client.post(
        f"/customers/{zhang.pk}/edit/", {"name": "张伟", "phone": "12", "city": "北京"}
    )

    assert response.context["form"].errors == {"phone": ["'12' is not a valid phone number"]}


def test_edit_page_lists_the_current_custom_attributes(agent_client):
    """The attributes box adds or replaces keys, so the page shows what the profile holds
    (escaped), in the console's language."""
    zhang = f.customer("张伟")
    Customer.objects.filter(pk=zhang.pk).update(attributes={"会员等级": "<b>金卡</b>"})

    page = agent_client.get(f"/customers/{zhang.pk}/edit/").content.decode()

    assert "当前自定义属性" in page
    assert "<dt>会员等级</dt><dd>&lt;b&gt;金卡&lt;/b&gt;</dd>" in page


def test_edit_profile_refuses_attributes_that_are_not_json(agent_client):
    """Bad JSON in custom attributes is an error on that field."""
    zhang = f.customer("张伟")

    response = agent_client.post(f"/customers/{zhang.pk}/edit/", {"attributes": "{nope"})

    assert response.context["form"].errors == {
        "attributes": ["不是有效的 JSON：此处应为双引号括起的键名"]
    }


@pytest.mark.parametrize(
    ("attributes", "language", "error"),
    [
        ('{"score": NaN}', "en", "NaN is not a number that can be stored."),
        ('{"score": -Infinity}', "en", "-Infinity is not a number that can be stored."),
        ('{"score": 1e999}', "zh-hans", "1e999 不是可以保存的数字。"),
    ],
)
def test_edit_profile_refuses_numbers_no_database_stores(signed_in, attributes, language, error):
    """Python's JSON reader takes NaN, Infinity and 1e999 (as infinity); SQLite's JSON
    check and PostgreSQL's jsonb refuse them: saving the profile was a 500."""
    client = signed_in(Role.SERVICE_AGENT)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    zhang = f.customer("张伟")

    response = client.post(
        f"/customers/{zhang.pk}/edit/", {"name": "张伟", "attributes": attributes}
    )

    zhang.refresh_from_db()
    assert (response.status_code, response.context["form"].errors) == (
        200,
        {"attributes": [error]},
    )
    assert zhang.attributes == {}


def test_consent_change_with_htmx_returns_the_consent_card(agent_client):
    """Granting a channel updates the consent and re-renders only that card."""
    zhang = f.customer("张伟")

    response = agent_client.post(
        f"/customers/{zhang.pk}/consent/",
        {"channel": "email", "status": "granted"},
        headers={"HX-Request": "true"},
    )

    assert response.content.decode().lstrip().startswith('<div class="card" id="consents">')
    assert {
        r["channel"]: r["consent"].status for r in response.context["consents"] if r["consent"]
    } == {"email": "granted"}


def test_log_contact_lands_on_the_profile(agent_client):
    """A service agent logs a call; it is stored with the agent as employee."""
    zhang = f.customer("张伟")

    response = agent_client.post(
        f"/customers/{zhang.pk}/contacts/",
        {"channel": "phone", "direction": "in", "summary": "询问双十一优惠"},
    )

    contact = Contact.objects.get(customer=zhang)
    assert response.status_code == 302
    assert (contact.summary, contact.employee_id) == ("询问双十一优惠", agent_client.user.pk)


def test_log_contact_without_summary_is_refused_on_that_field(agent_client):
    """An empty summary: 400 with the error on ``summary``, nothing stored."""
    zhang = f.customer("张伟")

    response = agent_client.post(
        f"/customers/{zhang.pk}/contacts/", {"channel": "phone", "direction": "in", "summary": ""}
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["summary"]
    assert Contact.objects.count() == 0


def test_merge_through_the_console_repoints_everything(agent_client):
    """Pick, confirm, merge: the survivor holds both profiles' orders and contacts."""
    zhang = f.customer("张伟", user_id="u-1")
    dup = f.customer("张伟", user_id="u-2", phone="13812345678")
    f.order(zhang.pk, "A-1")
    f.order(dup.pk, "B-1")
    f.order(dup.pk, "B-2")
    Contact.objects.create(
        customer=dup,
        channel="sms",
        direction="out",
        summary="hi",
        occurred_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )

    pick = agent_client.get(f"/customers/{zhang.pk}/merge/", {"q": "13812345678"})
    confirm = agent_client.get(f"/customers/{zhang.pk}/merge/{dup.pk}/")
    done = agent_client.post(f"/customers/{zhang.pk}/merge/{dup.pk}/")

    merge = Merge.objects.get()
    assert [c.pk for c in pick.context["candidates"]] == [dup.pk]
    assert (confirm.context["source"].pk, confirm.context["target"].pk) == (dup.pk, zhang.pk)
    assert done.status_code == 302
    assert done["Location"] == f"/customers/{zhang.pk}/"
    assert (merge.source_id, merge.target_id, merge.actor_label) == (dup.pk, zhang.pk, "agent")
    assert merge.moved["orders.order"] == 2
    assert merge.moved["contacts.contact"] == 1
    assert sorted(Order.objects.filter(customer=zhang).values_list("external_id", flat=True)) == [
        "A-1",
        "B-1",
        "B-2",
    ]
    assert Customer.objects.get(pk=dup.pk).merged_into_id == zhang.pk


def test_merged_away_profile_redirects_to_the_survivor_with_a_notice(agent_client):
    """Opening the folded profile sends staff to the surviving one and says why."""
    zhang, dup = f.customer("张伟"), f.customer("张伟")
    customers.merge_customers(dup.pk, zhang.pk, actor=Actor("t"))

    response = agent_client.get(f"/customers/{dup.pk}/", follow=True)

    assert response.redirect_chain == [(f"/customers/{zhang.pk}/", 302)]
    assert f"客户 #{dup.pk} 已并入 #{zhang.pk}" in response.content.decode()


def test_order_list_of_a_merged_away_customer_shows_the_survivors_orders(agent_client):
    """A link kept from before the merge listed nothing; now it follows the merge, keeps
    the other filters and says why."""
    zhang, dup = f.customer("张伟"), f.customer("张伟")
    f.order(zhang.pk, "A-1")
    f.order(dup.pk, "B-1")
    customers.merge_customers(dup.pk, zhang.pk, actor=Actor("t"))

    response = agent_client.get(
        "/orders/", {"customer": dup.pk, "status": "paid", "before": "x"}, follow=True
    )

    assert response.redirect_chain == [(f"/orders/?customer={zhang.pk}&status=paid", 302)]
    assert sorted(r.external_id for r in response.context["rows"]) == ["A-1", "B-1"]
    assert f"客户 #{dup.pk} 已并入 #{zhang.pk}，现显示保留档案的订单。" in response.content.decode()


def test_order_list_of_an_unknown_customer_is_empty_not_an_error(agent_client):
    f.order(f.customer("张伟").pk, "A-1")
    response = agent_client.get("/orders/", {"customer": 987654})
    assert (response.status_code, list(response.context["rows"])) == (200, [])


def test_merge_picker_jumps_to_confirm_for_an_id(agent_client):
    """Typing ``#<id>`` in the merge picker goes straight to the confirm screen."""
    zhang, wang = f.customer("张伟"), f.customer("王芳")

    response = agent_client.get(f"/customers/{zhang.pk}/merge/", {"q": f"#{wang.pk}"})

    assert response["Location"] == f"/customers/{zhang.pk}/merge/{wang.pk}/"


def test_merging_a_profile_already_merged_elsewhere_is_refused(agent_client):
    """A source merged into a third profile cannot be merged again: message, no change."""
    zhang, wang, dup = f.customer("张伟"), f.customer("王芳"), f.customer("张伟")
    customers.merge_customers(dup.pk, wang.pk, actor=Actor("t"))

    confirm = agent_client.get(f"/customers/{zhang.pk}/merge/{dup.pk}/")
    response = agent_client.post(f"/customers/{zhang.pk}/merge/{dup.pk}/", follow=True)

    assert confirm.context["problem"] == f"客户 #{dup.pk} 已并入 #{wang.pk}"
    assert response.redirect_chain == [(f"/customers/{zhang.pk}/merge/{dup.pk}/", 302)]
    assert [str(m) for m in response.context["messages"]] == [f"客户 #{dup.pk} 已并入 #{wang.pk}"]
    assert Merge.objects.count() == 1
    assert Customer.objects.get(pk=dup.pk).merged_into_id == wang.pk


def test_the_confirm_page_gives_the_services_reasons(agent_client):
    """Itself, or a merged-away target: the same words ``merge_customers`` refuses with."""
    zhang, dup = f.customer("张伟"), f.customer("张伟")
    customers.merge_customers(dup.pk, zhang.pk, actor=Actor("t"))

    itself = agent_client.get(f"/customers/{zhang.pk}/merge/{zhang.pk}/")
    merged = agent_client.get(f"/customers/{dup.pk}/merge/{zhang.pk}/", HTTP_ACCEPT_LANGUAGE="en")

    assert itself.context["problem"] == "客户不能与自身合并"
    assert merged.context["problem"] == f"customer #{dup.pk} was already merged into #{zhang.pk}"


def test_possible_duplicates_share_an_unverified_phone(agent_client):
    """Two live profiles with the same mobile are offered as possible duplicates."""
    zhang = f.customer("张伟", phone="13812345678")
    twin = f.customer("张 伟", phone="13812345678")
    f.customer("王芳", phone="13900001111")

    response = agent_client.get(f"/customers/{zhang.pk}/")

    assert [c.pk for c in response.context["duplicates"]] == [twin.pk]


@pytest.mark.parametrize("role", [Role.ANALYST, Role.SALES_REP])
def test_roles_without_merge_permission_get_403(signed_in, role):
    """Analysts and sales reps cannot open or post the merge screens."""
    client = signed_in(role)
    zhang, dup = f.customer("张伟"), f.customer("张伟")

    assert client.get(f"/customers/{zhang.pk}/merge/").status_code == 403
    assert client.get(f"/customers/{zhang.pk}/merge/{dup.pk}/").status_code == 403
    assert client.post(f"/customers/{zhang.pk}/merge/{dup.pk}/").status_code == 403
    assert Merge.objects.count() == 0


def test_analyst_reads_but_cannot_edit_consent_or_log_contacts(analyst_client):
    """Analysts view the 360 page; every write is 403 and leaves the profile unchanged."""
    zhang = f.customer("张伟")

    assert analyst_client.get(f"/customers/{zhang.pk}/").status_code == 200
    assert analyst_client.get(f"/customers/{zhang.pk}/edit/").status_code == 403
    assert (
        analyst_client.post(
            f"/customers/{zhang.pk}/consent/", {"channel": "sms", "status": "granted"}
        ).status_code
        == 403
    )
    assert (
        analyst_client.post(
            f"/customers/{zhang.pk}/contacts/",
            {"channel": "sms", "direction": "in", "summary": "x"},
        ).status_code
        == 403
    )
    assert Contact.objects.count() == 0


def test_marketer_cannot_log_contacts_but_sales_rep_can(signed_in):
    """LOG_CONTACTS: sales reps have it, marketers do not."""
    zhang = f.customer("张伟")
    marketer, rep = signed_in(Role.MARKETER), signed_in(Role.SALES_REP)
    form = {"channel": "visit", "direction": "out", "summary": "拜访"}

    assert marketer.post(f"/customers/{zhang.pk}/contacts/", form).status_code == 403
    assert rep.post(f"/customers/{zhang.pk}/contacts/", form).status_code == 302
    assert Contact.objects.count() == 1


NASTY = "<script>alert('x')</script>'; DROP TABLE customers;--"


def test_names_with_html_and_sql_are_shown_escaped(agent_client):
    """A hostile name is stored verbatim and rendered escaped on every page showing it."""
    evil = f.customer(NASTY)
    f.order(evil.pk, "X-1")
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&#x27;; DROP TABLE customers;--"

    pages = [
        agent_client.get("/customers/"),
        agent_client.get(f"/customers/{evil.pk}/"),
        agent_client.get("/orders/"),
        agent_client.get("/"),
    ]

    assert Customer.objects.get(pk=evil.pk).name == NASTY
    assert [escaped in p.content.decode() for p in pages] == [True, True, True, True]
    assert ["<script>alert(" in p.content.decode() for p in pages] == [False] * 4
