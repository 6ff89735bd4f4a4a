"""``ecrm bench --only promotions``: checkout coupon quote and redeem through the real server.

A fresh campaign is made for each run (shared code, no limits, so every redeem succeeds),
sequential requests measure the latency a checkout sees, then 4 client threads race 400
redeems for a campaign limited to 100 uses and the uses past the limit are counted (0 is
the only acceptable answer). The campaigns are ended afterwards.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

from ecrm.bench import measure as bench
from ecrm.bench.rules import Figure, median, percentile

TITLE = "Promotions: coupons at checkout"
TARGETS = (
    ("coupon_quote", "Coupon quote `POST /api/checkout/coupons/quote`, p95", "ms", "<=", 20),
    ("coupon_redeem", "Coupon redeem `POST /api/checkout/coupons/redeem`, p95", "ms", "<=", 20),
    ("coupon_race", "Uses past a coupon's limit, 4 threads × 100 redeems for 100 uses", "uses",
     "<=", 0),
)  # fmt: skip
BENCH_USER = "bench-promotions"
WARMUP = 10


def _token() -> str:
    from django.contrib.auth import get_user_model

    from ecrm.staff import api as staff
    from ecrm.staff.models import Role

    user = get_user_model().objects.filter(username=BENCH_USER).first()
    if user is None:
        user = staff.create_staff(BENCH_USER, secrets.token_urlsafe(16), Role.ADMIN)
    return staff.create_api_token(user, "bench")


def _campaign(stamp: str, code: str, **limits):
    from ecrm.core.audit import SYSTEM
    from ecrm.promotions import services

    definition = {
        "discount": {"kind": "percent", "value": "10", "max_discount": "100"},
        "min_spend": "50",
        "currency": "CNY",
        "codes": "shared",
        **limits,
    }
    return services.save_campaign(
        name=f"bench {code} {stamp}", definition=definition, code=code, actor=SYSTEM
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
        return Figure(key, None, detail="not measured: no customers to ask for")
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


def _race(url: str, token: str, customer_ids: list[int], stamp: str) -> tuple[int, int]:
    """4 threads × 100 redeems of a code limited to 100 uses; returns (accepted, 409s)."""
    import requests

    counts = {"ok": 0, "refused": 0, "other": 0}
    lock = threading.Lock()

    def client(n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for i in range(100):
            body = {
                "code": f"RACE{stamp}",
                "customer_id": customer_ids[(n * 100 + i) % len(customer_ids)],
                "currency": "CNY",
                "subtotal": "199.00",
                "order_ref": f"BENCH-RACE-{stamp}-{n}-{i}",
            }
            status = session.post(url, json=body, timeout=bench.HTTP_TIMEOUT).status_code
            with lock:
                key = "ok" if status in (200, 201) else "refused" if status == 409 else "other"
                counts[key] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts["ok"], counts["refused"]


def measure(options, say: Callable[[str], None]) -> list[Figure]:
    from pathlib import Path

    from django.conf import settings

    from ecrm.core.audit import SYSTEM
    from ecrm.promotions import services
    from ecrm.promotions.models import CouponCampaign, Redemption

    data_dir = Path(settings.ECRM["DATA_DIR"])
    stamp = secrets.token_hex(3).upper()
    started = time.perf_counter()
    sample = bench.samples(max(options.requests, 50))
    ids = sample.customer_ids[: options.requests]
    open_campaign = _campaign(stamp, f"BENCH{stamp}")
    race_campaign = _campaign(stamp, f"RACE{stamp}", limit_total=100)
    token = _token()
    prepared = time.perf_counter() - started
    carts = [
        {"code": f"BENCH{stamp}", "customer_id": cid, "currency": "CNY",
         "subtotal": f"{100 + (i % 50) * 7}.00", "shipping": "10.00"}
        for i, cid in enumerate(ids)
    ]  # fmt: skip
    figures = []
    say(f"promotions: {len(carts)} quotes and {len(carts)} redeems through gunicorn …")
    with bench.server(data_dir) as srv:
        quote_url = srv.url + "/api/checkout/coupons/quote"
        redeem_url = srv.url + "/api/checkout/coupons/redeem"
        _post_all(quote_url, token, carts[:WARMUP])
        times, failed = _post_all(quote_url, token, carts)
        figures.append(_latency("coupon_quote", times, failed, "quotes"))
        warm = [{**c, "order_ref": f"BENCH-W-{stamp}-{i}"} for i, c in enumerate(carts[:WARMUP])]
        _post_all(redeem_url, token, warm)
        bodies = [{**c, "order_ref": f"BENCH-{stamp}-{i}"} for i, c in enumerate(carts)]
        times, failed = _post_all(redeem_url, token, bodies)
        figures.append(_latency("coupon_redeem", times, failed, "redeems (each a new order)"))
        say("promotions: 4 threads race 400 redeems for 100 uses …")
        accepted, refused = _race(redeem_url, token, ids or [1], stamp)
    uses = CouponCampaign.objects.get(pk=race_campaign.pk).uses
    stored = Redemption.objects.filter(campaign=race_campaign, state="redeemed").count()
    over = max(uses - 100, stored - 100, 0)
    figures.append(
        Figure(
            "coupon_race",
            over,
            detail=(
                f"{accepted} accepted, {refused} refused with 409, campaign uses {uses}, "
                f"redemptions stored {stored}; setup {prepared:.1f} s"
            ),
        )
    )
    for campaign in (open_campaign, race_campaign):
        services.set_campaign_status(campaign.pk, "ended", actor=SYSTEM)
    return figures
