"""Console pages of promotions: forms save through the services and show errors by field."""

import pytest

from ecrm.customers.tests import factories as people
from ecrm.promotions import services
from ecrm.promotions.models import CouponCampaign, Reward
from ecrm.promotions.tests import factories

pytestmark = pytest.mark.django_db

FORM = {
    "name": "双十一满减",
    "codes": "shared",
    "code": "double11",
    "discount_kind": "fixed",
    "discount_value": "30",
    "min_spend": "199",
    "currency": "CNY",
    "limit_per_customer": "1",
}


@pytest.fixture
def marketer(client, staff_factory):
    staff_factory("mk", "marketer", password="pass-word-123")
    client.login(username="mk", password="pass-word-123")
    return client


def test_create_a_campaign_in_the_console(marketer):
    response = marketer.post("/promotions/coupons/new/", FORM)
    campaign = CouponCampaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/promotions/coupons/{campaign.pk}/"
    assert (campaign.definition["discount"]["value"], campaign.definition["min_spend"]) == (
        "30.00",
        "199.00",
    )
    page = marketer.get(f"/promotions/coupons/{campaign.pk}/").content.decode()
    assert "DOUBLE11" in page
    listing = marketer.get("/promotions/coupons/").content.decode()
    assert f'data-campaign="{campaign.pk}"' in listing


def test_a_bad_value_is_shown_on_its_field(marketer):
    response = marketer.post("/promotions/coupons/new/", {**FORM, "discount_value": "12.345"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"discount_value": ["小数超过两位"]}
    assert CouponCampaign.objects.count() == 0


@pytest.mark.parametrize(
    ("language", "error"), [("zh-hans", "小数超过两位"), ("en", "has more than two decimals")]
)
def test_a_bad_value_speaks_the_consoles_language(marketer, language, error):
    """The reason sits under the field, without the JSON path, in the console's language."""
    response = marketer.post(
        "/promotions/coupons/new/",
        {**FORM, "discount_value": "12.345"},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert f'<ul class="errorlist"><li>{error}</li></ul>' in response.content.decode()
    assert CouponCampaign.objects.count() == 0


def test_edit_keeps_the_code_and_versions_the_terms(marketer):
    campaign = factories.campaign()
    response = marketer.post(
        f"/promotions/coupons/{campaign.pk}/edit/", {**FORM, "min_spend": "299"}
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.version, campaign.definition["min_spend"]) == (2, "299.00")


def test_try_a_cart_answers_with_the_reason(marketer):
    campaign = factories.campaign()
    buyer = people.customer()
    page = marketer.post(
        f"/promotions/coupons/{campaign.pk}/quote/", {"customer_id": buyer.pk, "subtotal": "50"}
    ).content.decode()
    assert 'data-reason="min_spend"' in page
    page = marketer.post(
        f"/promotions/coupons/{campaign.pk}/quote/", {"customer_id": buyer.pk, "subtotal": "250"}
    ).content.decode()
    assert 'data-applies="yes"' in page


def test_issue_generate_and_export_codes(marketer):
    campaign = factories.campaign(name="新人券", code="", codes="unique")
    buyer = people.customer()
    marketer.post(f"/promotions/coupons/{campaign.pk}/issue/", {"customer_id": buyer.pk})
    response = marketer.post(f"/promotions/coupons/{campaign.pk}/codes/", {"count": 3})
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert (response["Content-Type"], len(lines), lines[0]) == (
        "text/csv; charset=utf-8", 4, "code,campaign",
    )  # fmt: skip
    export = marketer.get(f"/promotions/coupons/{campaign.pk}/export.csv")
    rows = export.content.decode("utf-8-sig").strip().splitlines()
    assert len(rows) == 5
    assert [r.split(",")[1] for r in rows[1:]].count(str(buyer.pk)) == 1


def test_rewards_page_saves_and_names_a_bad_field(marketer):
    response = marketer.post(
        "/promotions/rewards/", {"name": "券", "kind": "coupon", "points": 100, "active": "on"}
    )
    assert response.context["form"].errors == {"campaign_id": ["优惠券兑换礼需要一券一码的活动"]}
    response = marketer.post(
        "/promotions/rewards/",
        {"name": "保温杯", "kind": "gift", "points": 800, "gift_sku": "CUP", "active": "on"},
    )
    assert response.status_code == 302
    assert list(Reward.objects.values_list("name", "points")) == [("保温杯", 800)]


@pytest.mark.parametrize(
    ("language", "error"),
    [
        ("zh-hans", "优惠券兑换礼需要一券一码的活动"),
        ("en", "a coupon reward needs a unique-code campaign"),
    ],
)
def test_a_refused_reward_speaks_the_consoles_language(marketer, language, error):
    """A coupon reward without a campaign: the service's refusal sits under the campaign
    field in the console's language; nothing is saved."""
    response = marketer.post(
        "/promotions/rewards/",
        {"name": "券", "kind": "coupon", "points": 100, "active": "on"},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert f'<ul class="errorlist"><li>{error}</li></ul>' in response.content.decode()
    assert Reward.objects.count() == 0


def test_referrals_page_lists_and_saves_the_programme(marketer):
    referrer = people.customer(name="推荐人")
    friend = people.customer(name="朋友")
    services.claim_referral(friend.pk, services.referral_code_of(referrer.pk))
    page = marketer.get("/promotions/referrals/").content.decode()
    assert "推荐人" in page and "朋友" in page
    response = marketer.post(
        "/promotions/referrals/",
        {
            "referrer_points": 800,
            "referee_points": 300,
            "min_order_total": "99",
            "qualifying_statuses": ["paid", "delivered"],
            "landing_url": "https://shop.example.cn/welcome",
            "cookie_days": 30,
        },
    )
    assert response.status_code == 302
    terms = services.programme()
    assert (terms.referrer_points, terms.qualifying_statuses) == (800, ("paid", "delivered"))


def test_an_analyst_cannot_open_coupons(client, staff_factory):
    staff_factory("an", "analyst", password="pass-word-123")
    client.login(username="an", password="pass-word-123")
    assert client.get("/promotions/coupons/").status_code == 403


def test_pages_speak_chinese_by_default(marketer):
    factories.campaign()
    page = marketer.get("/promotions/coupons/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "优惠券活动:规则、限制、预算与使用情况。" in page
    assert "立减 20.00,满 100.00 可用" in page
