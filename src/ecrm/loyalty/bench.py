"""``ecrm bench --only loyalty``: awarding points set-based, checkout quote and redeem
through the real server, and 50 concurrent redemptions against one balance.

The section installs a 20-rule programme (the demo's 15 rules and 5 more order rules)
and empties the ledger first, so every run awards the whole dataset's orders again; how
long that preparation took is reported. Awarding counts every earning order evaluated
(load, evaluate over columns, write) per second; the clean-up after it (expiry of old
lots, points copies, tiers) is timed separately in the detail.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ecrm.bench import measure as bench
from ecrm.bench.rules import Figure, median, percentile

TITLE = "Loyalty: points"
TARGETS = (
    ("loyalty_award", "Awarding points, set-based, 20 active rules", "orders/s", ">=", 20_000),
    ("loyalty_quote", "Points quote `POST /api/loyalty/checkout/quote`, p95", "ms", "<=", 20),
    ("loyalty_redeem", "Points redeem `POST /api/loyalty/checkout/redeem`, p95", "ms", "<=", 20),
    (
        "loyalty_race",
        "Points overspent by 50 concurrent redemptions of one balance",
        "points",
        "<=",
        0,
    ),
)
BENCH_USER = "bench-loyalty"
WARMUP = 10
EXTRA_RULES = [
    (
        "周末加赠",
        "周六周日下单加赠20分。",
        {
            "version": 1,
            "event": "order_completed",
            "when": {"weekdays": [6, 7]},
            "award": {"type": "fixed", "points": 20},
            "cap": {"points": 100, "period": "month"},
        },
    ),
    (
        "数码品类",
        "数码类商品每消费10元再得1分。",
        {
            "version": 1,
            "event": "order_completed",
            "when": {"categories": ["数码"]},
            "award": {"type": "per_amount", "points": 1, "per": 10, "basis": "matching_lines"},
        },
    ),
    (
        "金卡钻石专享",
        "金卡、钻石会员每单加赠30分。",
        {
            "version": 1,
            "event": "order_completed",
            "when": {"tiers": ["gold", "diamond"]},
            "award": {"type": "fixed", "points": 30},
        },
    ),
    (
        "华为品牌",
        "购买华为商品加赠100分。",
        {
            "version": 1,
            "event": "order_completed",
            "when": {"brands": ["华为"]},
            "award": {"type": "fixed", "points": 100},
            "priority": 7,
            "group": "brand",
        },
    ),
    (
        "年度第十单",
        "一年内的第10笔订单奖励500分。",
        {
            "version": 1,
            "event": "order_completed",
            "when": {"nth_order": {"n": 10, "period": "year"}},
            "award": {"type": "fixed", "points": 500},
        },
    ),
]


def _token() -> str:
    from django.contrib.auth import get_user_model

    from ecrm.staff import api as staff
    from ecrm.staff.models import Role

    user = get_user_model().objects.filter(username=BENCH_USER).first()
    if user is None:
        user = staff.create_staff(BENCH_USER, secrets.token_urlsafe(16), Role.ADMIN)
    return staff.create_api_token(user, "bench")


def _prepare() -> None:
    from django.db import connection

    from ecrm.core.audit import SYSTEM
    from ecrm.loyalty import presets, services

    with connection.cursor() as cursor:
        for table in (
            "loyalty_pointsdebit",
            "loyalty_pointsentry",
            "loyalty_tierchange",
            "loyalty_membership",
        ):
            cursor.execute(f"DELETE FROM {table}")
    services.install_programme(
        actor=SYSTEM,
        settings=presets.DEMO_SETTINGS,
        tiers=presets.DEMO_TIERS,
        rule_list=[*presets.DEMO_RULES, *EXTRA_RULES],
        enabled=True,
    )


def _post_all(url: str, token: str, bodies: list[dict]) -> tuple[list[float], int]:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    times, failed = [], 0
    deadline = time.monotonic() + 300
    for body in bodies:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        r = session.post(url, json=body, timeout=bench.HTTP_TIMEOUT)
        times.append((time.perf_counter() - started) * 1000)
        if r.status_code >= 300:
            failed += 1
    return times, failed


def _latency(key: str, times: list[float], failed: int, what: str) -> Figure:
    if not times:
        return Figure(key, None, detail="not measured: no members to ask for")
    if failed == len(times):
        return Figure(key, None, detail=f"not measured: every request failed ({failed})")
    p95 = percentile(times, 0.95)
    return Figure(
        key,
        p95,
        median=median(times),
        p95=p95,
        detail=f"{len(times):,} sequential {what} after {WARMUP} warm-up; {failed} non-2xx",
    )


def _race(url: str, token: str, customer_id: int, stamp: str) -> Figure:
    """50 threads each redeem 30 points of a 1,000-point balance at the same moment."""
    import requests

    from ecrm.core.audit import SYSTEM
    from ecrm.loyalty import api, services

    balance = api.balance(customer_id)
    if balance != 1_000:
        services.adjust_points(customer_id, 1_000 - balance, reason="bench", actor=SYSTEM)
    start = threading.Barrier(50)
    codes: list[int] = []

    def redeem(i: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        start.wait()
        r = session.post(
            url,
            json={"customer_id": customer_id, "points": 30, "reference": f"race-{stamp}-{i}"},
            timeout=bench.HTTP_TIMEOUT,
        )
        codes.append(r.status_code)

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = codes.count(200)
    final = api.balance(customer_id)
    overspent = max(0, ok * 30 - 1_000) + max(0, -final)
    return Figure(
        "loyalty_race",
        overspent,
        detail=(
            f"50 threads × 30 points against 1,000: {ok} accepted, {codes.count(409)} refused "
            f"with 409, final balance {final}"
        ),
    )


def measure(options, say: Callable[[str], None]) -> list[Figure]:
    from django.conf import settings
    from django.db import connection

    from ecrm.loyalty import bulk
    from ecrm.loyalty.models import Membership

    figures: list[Figure] = []
    say("loyalty 1/4 installing the 20-rule programme, emptying the ledger …")
    started = time.perf_counter()
    _prepare()
    prepared = time.perf_counter() - started
    say("loyalty 2/4 awarding every order, set-based …")
    result = bulk.award_all(progress=say)
    work = result.seconds.get("load", 0) + result.seconds.get("evaluate", 0)
    work += result.seconds.get("write", 0)
    figures.append(
        Figure(
            "loyalty_award",
            result.orders / work if work else None,
            detail=(
                f"{result.orders:,} earning orders ({result.awarded_orders:,} earned "
                f"{result.points:,} points) in {work:.1f} s: load "
                f"{result.seconds.get('load', 0):.1f} s, evaluate "
                f"{result.seconds.get('evaluate', 0):.1f} s, write "
                f"{result.seconds.get('write', 0):.1f} s; then expiry, points and "
                f"tiers of {Membership.objects.count():,} members "
                f"{result.seconds.get('settle', 0):.1f} s (of which expiry "
                f"{result.seconds.get('expire', 0):.1f} s); preparation {prepared:.1f} s"
            ),
            command="ecrm bench --only loyalty",
        )
    )
    ids = list(
        Membership.objects.filter(points__gte=2_000)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)[: options.requests + WARMUP + 1]
    )
    if connection.vendor == "sqlite":
        connection.close()  # the server's process opens its own
    token = _token()
    stamp = f"{int(time.time())}-{secrets.token_hex(3)}"
    data_dir = settings.ECRM["DATA_DIR"]
    with bench.server(Path(data_dir)) as srv:
        quote_url = srv.url + "/api/loyalty/checkout/quote"
        redeem_url = srv.url + "/api/loyalty/checkout/redeem"
        if len(ids) < 2:
            return figures + [
                Figure(k, None, detail="not measured: no members with points")
                for k in ("loyalty_quote", "loyalty_redeem", "loyalty_race")
            ]
        race_member, members = ids[0], ids[1:]
        say(f"loyalty 3/4 quote and redeem: {len(members):,} requests each …")
        quotes = [{"customer_id": c, "order_total": "500.00"} for c in members]
        _post_all(quote_url, token, quotes[:WARMUP])
        times, failed = _post_all(quote_url, token, quotes[WARMUP:])
        figures.append(_latency("loyalty_quote", times, failed, "quotes"))
        redeems = [
            {"customer_id": c, "points": 100, "reference": f"bench-{stamp}-{c}"} for c in members
        ]
        _post_all(redeem_url, token, redeems[:WARMUP])
        times, failed = _post_all(redeem_url, token, redeems[WARMUP:])
        figures.append(_latency("loyalty_redeem", times, failed, "redemptions of 100 points"))
        say("loyalty 4/4 50 concurrent redemptions against one balance …")
        figures.append(_race(redeem_url, token, race_member, stamp))
    return figures
