"""The console in a real browser: Debian's chromium driven by Playwright.

Logs in, finds 张伟 by pinyin, opens the Customer 360 page, merges a duplicate profile
from the console and checks the surviving profile lists both customers' orders.
Screenshots go to /tmp/console-*.png. Skipped where /usr/bin/chromium is absent.
"""

import datetime as dt
import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the
# test around it are synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def browser_page():
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        # ORM calls made while Playwright's loop runs use their own connection (Django
        # keys connections by async context): close it before the test database goes.
        connections.close_all()
        context.close()
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_login_search_by_pinyin_open_360_and_merge(live_server, browser_page, staff_factory):
    """A service agent finds 张伟 by "zhangwei", merges his duplicate and sees all orders."""
    from playwright.sync_api import expect

    from ecrm.customers.models import Customer, Merge
    from ecrm.customers.tests import factories as f
    from ecrm.staff.models import Role

    staff_factory("agent", Role.SERVICE_AGENT, password="agent-pass-123")
    zhang = f.customer(
        "张伟", phone="13812345678", email="zhang.wei@example.com", province="广东省", city="深圳市"
    )
    dup = f.customer("张伟", phone="13812345678", province="广东省", city="深圳市")
    f.customer("王芳", phone="13900001111")
    f.order(
        zhang.pk, "SO-1001", total="299.00", placed_at=dt.datetime(2025, 11, 11, 2, tzinfo=dt.UTC)
    )
    f.order(
        dup.pk, "SO-2002", total="1299.00", placed_at=dt.datetime(2025, 6, 18, 2, tzinfo=dt.UTC)
    )
    page = browser_page

    page.goto(f"{live_server.url}/login/")
    page.screenshot(path="/tmp/console-login.png")
    page.fill("#id_username", "agent")
    page.fill("#id_password", "agent-pass-123")
    page.click("button.primary[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "仪表盘"

    page.goto(f"{live_server.url}/customers/")
    page.locator("main input[name=q]").fill("zhangwei")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r".*q=zhangwei.*"))
    page.screenshot(path="/tmp/console-search.png", full_page=True)

    page.click(f"#results a[href='/customers/{zhang.pk}/']")
    page.wait_for_url(f"{live_server.url}/customers/{zhang.pk}/")
    assert "张伟" in page.locator("h1").inner_text()
    assert page.get_by_text("疑似重复").count() == 1
    page.screenshot(path="/tmp/console-customer-360.png", full_page=True)

    page.click(f"a[href='/customers/{zhang.pk}/merge/{dup.pk}/']")
    page.wait_for_url(f"{live_server.url}/customers/{zhang.pk}/merge/{dup.pk}/")
    page.screenshot(path="/tmp/console-merge-confirm.png", full_page=True)
    page.click("button.danger")
    page.wait_for_url(f"{live_server.url}/customers/{zhang.pk}/")

    assert "已并入" in page.locator(".messages").inner_text()
    page.click("nav.tabs a[data-tab=orders]")
    page.locator("#panel[data-tab=orders]").wait_for()
    orders = page.locator("#panel tbody tr td:first-child").all_inner_texts()
    assert orders == ["SO-1001", "SO-2002"]
    page.screenshot(path="/tmp/console-merged.png", full_page=True)

    merge = Merge.objects.get()
    assert (merge.source_id, merge.target_id, merge.actor_label) == (dup.pk, zhang.pk, "agent")
    assert Customer.objects.get(pk=dup.pk).merged_into_id == zhang.pk

    page.goto(f"{live_server.url}/customers/{dup.pk}/")
    page.wait_for_url(f"{live_server.url}/customers/{zhang.pk}/")


@pytest.mark.django_db(transaction=True)
def test_dashboard_chart_reads_buyers_as_counts_and_the_repeat_rate_as_percent(
    live_server, browser_page, staff_factory
):
    """The home page's bars (buyers) and line (repeat-purchase rate, second axis) each read
    in their own format: on the axes and in the tooltip. Counts are grouped by three."""
    from ecrm.analytics import api as analytics
    from ecrm.customers.tests import factories as f
    from ecrm.staff.models import Role

    staff_factory("boss", Role.ADMIN, password="boss-pass-123")
    now = dt.datetime.now(dt.UTC)
    for n in range(4):
        buyer = f.customer(f"客户{n}")
        f.order(buyer.pk, f"A-{n}", placed_at=now - dt.timedelta(days=40))
        if n % 2:
            f.order(buyer.pk, f"B-{n}", placed_at=now)
    analytics.rebuild()
    page = browser_page

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "boss-pass-123")
    page.click("button.primary[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.wait_for_function(
        "window.echarts && echarts.getInstanceByDom(document.querySelector('.chart'))"
    )
    formats = page.evaluate(
        """() => {
          const o = echarts.getInstanceByDom(document.querySelector('.chart')).getOption();
          const line = o.series.find(s => s.type === 'line');
          return [o.yAxis[0].axisLabel.formatter(1234), o.yAxis[1].axisLabel.formatter(0.5),
                  o.tooltip[0].valueFormatter(1234), line.tooltip.valueFormatter(0.5),
                  o.yAxis.map(a => 'ecrmFormat' in a)];
        }"""
    )
    page.screenshot(path="/tmp/console-dashboard.png", full_page=True)

    assert formats == ["1,234", "50%", "1,234", "50%", [False, False]]
