"""``ecrm bench --only segments``: counting segments and re-checking one customer.

The section saves 20 rule segments (every kind of condition the demo data can answer:
profile, custom attributes, figures, days since, consent, behaviour windows, RFM scores
and loyalty when those domains have data), builds each set-based (timed: that is what
saving a new version and the scheduled refresh do), then measures

* an exact count of a segment over profile, attributes and derived figures,
* an exact count of the issue's behaviour segment ("viewed 家电 at least 3 times in the
  last 30 days and no order in 60 days"),
* the live re-check after one customer's event: the segments reading behaviour or
  "last seen" evaluated for that customer with the in-memory predicate and the membership
  diff written, each in its own transaction, for 300 random customers.

Segments named ``bench: …`` from an earlier run are deleted first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from django.db import transaction

from ecrm.bench.rules import Figure, median, percentile

TITLE = "Segments"
TARGETS = (
    ("segment_count", "Segment count over profile, attributes and figures", "s", "<=", 1),
    ("segment_count_behaviour", "Segment count with a 30-day behaviour condition", "s", "<=", 5),
    ("segment_recheck", "Per-event re-check of 20 active segments, p95", "ms", "<=", 10),
    ("segment_build", "Full build of one segment (set-based), slowest of 20", "s", "<=", 60),
)
PREFIX = "bench: "
RUNS = 5
RECHECKS = 300


def _rules(*conditions) -> dict:
    return {"version": 1, "match": {"all": list(conditions)}}


def _views(days: int, prefix: str | None = None, at_least: int = 1, event="Product Viewed"):
    node = {"event": event, "within_days": days, "count": {"op": "gte", "value": at_least}}
    if prefix:
        node["where"] = {"category_prefix": prefix}
    return node


ATTRIBUTES_AND_FIGURES = _rules(
    {"profile": "province", "op": "in", "value": ["广东省", "浙江省", "江苏省", "上海市"]},
    {"attribute": "member_level", "op": "in", "value": ["金卡会员", "银卡会员"]},
    {"figure": "revenue", "op": "gte", "value": 500},
    {"figure": "days_since_last_order", "op": "lte", "value": 180},
)
BEHAVIOUR = _rules(
    _views(30, "家电", 3),
    {"figure": "days_since_last_order", "op": "gte", "value": 60},
)
OTHERS = [
    ("广东女性", _rules({"profile": "province", "op": "eq", "value": "广东省"},
                      {"profile": "gender", "op": "eq", "value": "f"})),
    ("金卡会员", _rules({"attribute": "member_level", "op": "eq", "value": "金卡会员"})),
    ("高价值", _rules({"figure": "revenue", "op": "gte", "value": 3000})),
    ("复购客户", _rules({"figure": "order_count", "op": "gte", "value": 3})),
    ("90天未购", _rules({"figure": "order_count", "op": "gte", "value": 1},
                      {"figure": "days_since_last_order", "op": "gt", "value": 90})),
    ("7天活跃", _rules({"figure": "days_since_last_seen", "op": "lte", "value": 7})),
    ("邮件可触达", _rules({"consent": "email", "status": "granted"})),
    ("短信拒收", _rules({"consent": "sms", "status": "denied"})),
    ("近30天浏览美妆", _rules(_views(30, "美妆"))),
    ("近7天加购未下单", _rules(_views(7, event="Product Added"),
                          {"not": _views(7, event="Checkout Started")})),
    ("近14天浏览食品3次", _rules(_views(14, "食品", 3))),
    ("3月生日", _rules({"profile": "birthday_month", "op": "eq", "value": 3})),
    ("App 注册", _rules({"profile": "registration_channel", "op": "eq", "value": "app"})),
    ("一线城市", _rules({"profile": "city", "op": "in",
                       "value": ["北京市", "上海市", "广州市", "深圳市"]})),
    ("退货较多", _rules({"figure": "return_count", "op": "gte", "value": 2})),
    ("沉睡高价值", _rules({"figure": "revenue", "op": "gte", "value": 1000},
                       {"figure": "days_since_last_order", "op": "gte", "value": 180})),
    ("首页常客", _rules({"page": "首页", "within_days": 30, "count": {"op": "gte", "value": 5}})),
    ("任意或", {"version": 1, "match": {"any": [
        {"attribute": "member_level", "op": "eq", "value": "钻石会员"},
        {"figure": "average_order_value", "op": "gte", "value": 800}]}}),
]  # fmt: skip


def _cpu_note() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return "SQLite runs in this process: the rest of the time is waiting for a core or the disk"
    return "the client side only: the rest is the round trips and the server's work"


def measure(options, say: Callable[[str], None]) -> list[Figure]:
    from ecrm.core import audit, clock
    from ecrm.segments import api, fields, queries, services
    from ecrm.segments.models import Segment

    stale = list(Segment.objects.filter(name__startswith=PREFIX).values_list("pk", flat=True))
    if stale:
        say(f"segments: deleting {len(stale)} segments of an earlier run …")
        for pk in stale:
            services.delete_segment(pk, actor=audit.SYSTEM)
    now = clock.now()
    figures: list[Figure] = []

    cpu: dict[str, float] = {}

    def count(definition, key: str = "") -> tuple[int, list[float]]:
        compiled = fields.validate(definition)
        times, cpus, size = [], [], 0
        for _ in range(RUNS):
            started, used = time.perf_counter(), time.process_time()
            size = queries.live_customers().filter(queries.to_q(compiled, now)).count()
            times.append(time.perf_counter() - started)
            cpus.append(time.process_time() - used)
        cpu[key] = median(cpus)
        return size, times

    say("segments: 1/4 counting a segment over profile, attributes and figures …")
    size, times = count(ATTRIBUTES_AND_FIGURES, "figures")
    figures.append(
        Figure(
            "segment_count",
            median(times),
            median=median(times),
            p95=max(times),
            detail=(
                f"province in 4, member_level in 2, revenue >= 500, days since last order "
                f"<= 180: {size:,} members; exact COUNT, {RUNS} runs (p95 column: slowest); "
                f"CPU time of this process {cpu['figures']:.2f} s ({_cpu_note()})"
            ),
        )
    )
    say("segments: 2/4 counting the 30-day behaviour segment …")
    size, times = count(BEHAVIOUR, "behaviour")
    figures.append(
        Figure(
            "segment_count_behaviour",
            median(times),
            median=median(times),
            p95=max(times),
            detail=(
                f"viewed 家电 >= 3 times in 30 days and no order in 60 days: {size:,} members "
                f"(without the order condition: {count(_rules(_views(30, '家电', 3)))[0]:,}); "
                f"{RUNS} runs; CPU time {cpu['behaviour']:.2f} s"
            ),
        )
    )

    say("segments: 3/4 saving and building 20 segments …")
    definitions = [("家电浏览未购", BEHAVIOUR), ("江浙沪粤会员", ATTRIBUTES_AND_FIGURES), *OTHERS]
    builds: list[tuple[float, str, int]] = []
    for name, definition in definitions:
        segment = services.save_segment(
            name=PREFIX + name, definition=definition, actor=audit.SYSTEM, build=False
        )
        started = time.perf_counter()
        result = services.build_segment(segment.pk)
        builds.append((time.perf_counter() - started, name, result.size))
    slowest = max(builds)
    total = sum(b[0] for b in builds)
    figures.append(
        Figure(
            "segment_build",
            slowest[0],
            median=median([b[0] for b in builds]),
            p95=slowest[0],
            detail=(
                f"{len(builds)} segments built from empty in {total:.0f} s; slowest "
                f"{slowest[1]} ({slowest[2]:,} members); query into a temporary table, "
                "then enters and leaves diffed and logged in 4 statements"
            ),
        )
    )

    say(f"segments: 4/4 re-checking {RECHECKS} customers after an event …")
    from ecrm.customers.models import Customer

    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(7)
    ids = [rng.randint(1, top) for _ in range(RECHECKS)]
    times, cpus, moved, evaluated = [], [], 0, 0
    for cid in ids[:10]:  # warm-up: the segment cache and the connection
        with transaction.atomic():
            api.on_events([cid])
    for cid in ids:
        # Timed inside the transaction, as it runs inside the ingesting request's: the
        # commit belongs to the event, not to the re-check.
        with transaction.atomic():
            started, used = time.perf_counter(), time.process_time()
            result = api.on_events([cid])
            times.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - used) * 1000)
        moved += result.entered + result.left
        evaluated = result.segments
    orders_times = []
    for cid in ids[:100]:
        with transaction.atomic():
            started = time.perf_counter()
            api.on_orders([cid])
            orders_times.append((time.perf_counter() - started) * 1000)
    figures.append(
        Figure(
            "segment_recheck",
            percentile(times, 0.95),
            median=median(times),
            p95=percentile(times, 0.95),
            detail=(
                f"{RECHECKS} random customers, {evaluated} of the 20 segments read behaviour "
                f"or last seen; in-memory predicate over the customer's facts, membership "
                f"diff written (commit not included: it is the event's); {moved} entered or "
                f"left; CPU time of this process median {median(cpus):.1f} ms, p95 "
                f"{percentile(cpus, 0.95):.1f} ms ({_cpu_note()}). After an order (all "
                f"figure segments too): median {median(orders_times):.1f} ms, p95 "
                f"{percentile(orders_times, 0.95):.1f} ms"
            ),
        )
    )
    return figures
