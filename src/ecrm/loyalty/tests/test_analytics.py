"""Member analytics: growth, composition, staff KPI, points flows and liability, exactly."""

import datetime as dt
from decimal import Decimal

import pytest

from ecrm.core import clock
from ecrm.loyalty import analytics, services
from ecrm.loyalty.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def shop(monkeypatch):
    """a, b join in November through employee wang at 上海店; c joined in October via li.
    a earns 1,000 points by hand, orders 500 (500 points by the spend rule), spends 300."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    f.programme()
    a, b, c = f.customer("甲"), f.customer("乙"), f.customer("丙")
    services.join(
        a.pk,
        actor=f.ACTOR,
        channel="store",
        recruited_by="wang",
        store="上海店",
        at=f.day(2026, 11, 2),
    )
    services.join(
        b.pk,
        actor=f.ACTOR,
        channel="store",
        recruited_by="wang",
        store="上海店",
        at=f.day(2026, 11, 3),
    )
    services.join(c.pk, actor=f.ACTOR, channel="app", recruited_by="li", at=f.day(2026, 10, 1))
    services.award_points(
        a.pk,
        1000,
        source="staff",
        source_ref="gift",
        reason="开业礼",
        actor=f.ACTOR,
        at=f.day(2026, 11, 5),
    )
    f.order(a.pk, "SO-1", "500", at=f.day(2026, 11, 10))
    services.spend_points(a.pk, 300, source="reward", source_ref="r1", reason="券", actor=f.ACTOR)
    return a, b, c


def test_overview(shop):
    p = analytics.period("2026-11-01", "2026-11-20")
    o = analytics.overview(p)
    assert (o.members, o.new_members, o.members_at_start, o.active_members) == (3, 2, 1, 1)
    assert (o.issued, o.redeemed, o.expired, o.redemption_rate) == (1500, 300, 0, 0.2)
    assert (o.points_outstanding, o.liability) == (1200, Decimal("12.00"))


def test_series_by_day_and_month(shop):
    days = analytics.series(analytics.period("2026-11-01", "2026-11-20"))
    assert len(days) == 20
    assert [(r.bucket.day, r.new_members, r.members) for r in days[:4]] == [
        (1, 0, 1),
        (2, 1, 2),
        (3, 1, 3),
        (4, 0, 3),
    ]
    assert (sum(r.issued for r in days), days[4].issued, days[-1].redeemed) == (1500, 1000, 300)
    months = analytics.series(analytics.period("2026-09-01", "2026-11-20", "month"))
    assert [(r.bucket, r.new_members, r.members) for r in months] == [
        (dt.date(2026, 9, 1), 0, 0),
        (dt.date(2026, 10, 1), 1, 1),
        (dt.date(2026, 11, 1), 2, 3),
    ]


def test_breakdowns_and_staff_kpi(shop):
    p = analytics.period("2026-11-01", "2026-11-20")
    assert [(b.key, b.label, b.members, b.new_members, b.points) for b in analytics.by_tier(p)] == [
        ("member", "普通会员", 3, 2, 1200),
        ("silver", "银卡", 0, 0, 0),
        ("gold", "金卡", 0, 0, 0),
    ]
    assert [(b.key, b.members, b.new_members) for b in analytics.by_channel(p)] == [
        ("store", 2, 2),
        ("app", 1, 0),
    ]
    kpis = [
        (k.employee, k.new_members, k.buyers, k.revenue, k.points_held)
        for k in analytics.staff_kpis(p)
    ]
    assert kpis == [("wang", 2, 1, Decimal("500.00"), 1200)]


def test_bad_periods_name_the_field():
    with pytest.raises(analytics.PeriodError) as caught:
        analytics.period("2026-11-20", "2026-11-01")
    assert caught.value.field == "start"
    with pytest.raises(analytics.PeriodError) as caught:
        analytics.period("", "", "hour")
    assert caught.value.field == "by"
    assert analytics.period("2026-01-01", "2026-11-20").grain == "week"
    assert analytics.period("2025-01-01", "2026-11-20").grain == "month"


def test_page_and_csv_export(shop, client, staff_factory):
    staff_factory("an", "analyst", password="pass-word-123")
    client.login(username="an", password="pass-word-123")
    page = client.get("/loyalty/analytics/?start=2026-11-01&end=2026-11-20").content.decode()
    assert 'data-figure="members">3<' in page
    assert 'data-employee="wang"' in page
    response = client.get("/loyalty/analytics/?start=2026-11-01&end=2026-11-20&export=staff")
    assert response.content.decode("utf-8-sig").splitlines() == [
        "employee,new_members,buyers,revenue,points_held",
        "wang,2,1,500.00,1200",
    ]
    bad = client.get("/loyalty/analytics/?start=nope")
    assert bad.status_code == 200
    assert "&#x27;nope&#x27; 不是日期（YYYY-MM-DD）" in bad.content.decode()


def test_a_bad_period_is_named_in_the_pages_language(shop, client, staff_factory):
    staff_factory("an", "analyst", password="pass-word-123")
    client.login(username="an", password="pass-word-123")
    wrong = "/loyalty/analytics/?start=2026-11-20&end=2026-11-01"
    assert "不能晚于结束日期" in client.get(wrong, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(wrong, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "must not be after the end" in english
    longest = client.get("/loyalty/analytics/?start=2020-01-01&end=2026-11-20").content.decode()
    assert "一份报表最多涵盖 1098 天" in longest


def test_series_buckets_by_the_shops_midnight(shop):
    """Asia/Shanghai is UTC+8: 15:55 UTC is still the 6th there, 16:05 UTC the 7th."""
    a = shop[0]
    for minute, ref in ((55, "late"), (65, "early")):
        services.award_points(
            a.pk,
            7,
            source="staff",
            source_ref=ref,
            reason="边界",
            actor=f.ACTOR,
            at=dt.datetime(2026, 11, 6, 15, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute),
        )
    days = analytics.series(analytics.period("2026-11-05", "2026-11-08"))
    assert [(r.bucket.day, r.issued) for r in days] == [(5, 1000), (6, 7), (7, 7), (8, 0)]


def test_series_puts_the_last_microsecond_before_midnight_on_the_day_before(shop):
    """16:00:00 UTC is midnight in Asia/Shanghai: the movement a microsecond before it
    belongs to the 6th, the one at it to the 7th (SQLite groups the stored text)."""
    a = shop[0]
    midnight = dt.datetime(2026, 11, 6, 16, 0, tzinfo=dt.UTC)
    for points, ref, at in (
        (3, "before", midnight - dt.timedelta(microseconds=1)),
        (4, "at", midnight),
    ):
        services.award_points(
            a.pk, points, source="staff", source_ref=ref, reason="边界", actor=f.ACTOR, at=at
        )
    days = analytics.series(analytics.period("2026-11-06", "2026-11-07"))
    assert [(r.bucket.day, r.issued) for r in days] == [(6, 3), (7, 4)]
