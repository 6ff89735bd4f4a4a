"""``ecrm bench --only analytics``: report and dashboard latency over a mix of dimension
combinations, the per-customer refresh that follows an order, and the full rebuild.

A copied dataset has no read model yet: the section rebuilds it first when it is missing
(or with ``--rebuild``) and reports that time as the rebuild figure; otherwise it quotes the
last rebuild's time. Queries run in-process through ``queries.run_report`` (what the console
page, the API and the CLI call), each request several times, most recent periods first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from ecrm.bench.rules import Figure, median, percentile

TITLE = "Analytics: reports and dashboards"
TARGETS = (
    ("analytics_report", "Multi-dimensional report query, p95 over a mix", "ms", "<=", 1_000),
    (
        "analytics_report_customers",
        "Report query with distinct customers by a non-time dimension, p95",
        "ms",
        "<=",
        1_000,
    ),
    (
        "analytics_dashboard",
        "Dashboard query (members, funnel, cohorts, staff), p95",
        "ms",
        "<=",
        1_000,
    ),
    ("analytics_refresh", "Read-model refresh after one customer's order, p95", "ms", "<=", 50),
    (
        "analytics_rebuild",
        "`ecrm analytics rebuild` (facts, cubes, activity, members)",
        "s",
        "<=",
        1_800,
    ),
)
ROUNDS = 3
COMMAND = "ecrm bench --only analytics"


def _mix(latest_year: str, latest_month: str, segment_ids: list[int]) -> list[dict]:
    """Report requests an analyst makes, from the top level down."""
    mix = [
        {"dimensions": ["year"]},
        {"dimensions": ["month"], "measures": ["revenue", "orders", "customers", "margin"]},
        {"dimensions": ["quarter", "channel"], "measures": ["revenue", "orders", "discounts"]},
        {"dimensions": ["region"], "measures": ["revenue", "orders", "customers", "service_cost"]},
        {"dimensions": ["city"], "filters": {"region": ["广东省"]}},
        {"dimensions": ["category"], "measures": ["revenue", "orders", "customers", "margin"]},
        {
            "dimensions": ["category", "region"],
            "measures": ["revenue", "margin"],
            "filters": {"year": [latest_year]},
        },
        {"dimensions": ["department", "store"], "measures": ["revenue", "orders", "returns"]},
        {"dimensions": ["employee"], "measures": ["orders", "revenue", "contacts", "service_cost"]},
        {"dimensions": ["channel", "month"], "filters": {"year": [latest_year]}},
        {
            "dimensions": ["day"],
            "filters": {"month": [latest_month]},
            "measures": ["revenue", "orders", "customers"],
        },
        {"dimensions": ["week", "channel"], "filters": {"month": [latest_month]}},
        {
            "dimensions": ["city", "employee"],
            "filters": {"month": [latest_month]},
            "measures": ["revenue", "orders"],
        },
        {
            "dimensions": ["region", "channel"],
            "measures": ["revenue", "orders", "customers"],
            "filters": {"quarter": [f"{latest_year}-Q1"]},
        },
        {
            "measures": ["revenue", "orders", "customers", "margin", "returns", "service_cost"],
            "filters": {"year": [latest_year]},
        },
    ]
    for segment_id in segment_ids[:2]:
        mix.append(
            {
                "dimensions": ["channel"],
                "filters": {"segment": [str(segment_id)], "month": [latest_month]},
                "measures": ["revenue", "orders", "customers"],
            }
        )
    return mix


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def _figure(key: str, latencies: list[float], detail: str) -> Figure:
    return Figure(
        key,
        percentile(latencies, 0.95),
        median=median(latencies),
        p95=percentile(latencies, 0.95),
        detail=detail,
        command=COMMAND,
    )


def measure(options, say: Callable[[str], None]) -> list[Figure]:
    from django.db import connection

    from ecrm.analytics import queries, rules, services
    from ecrm.analytics.models import ActivityCell, CustomerCell, Fact, Snapshot

    figures: list[Figure] = []
    snapshot = Snapshot.objects.filter(part="all").first()
    if snapshot is None or options.rebuild:
        say("analytics 1/4 building the read model (this dataset has none yet) …")
        timings = services.rebuild(progress=say)
        parts = ", ".join(f"{k} {v:.0f} s" for k, v in timings.items() if k != "total")
        detail = f"{Fact.objects.count():,} facts; {parts}"
        figures.append(
            Figure(
                "analytics_rebuild",
                timings["total"],
                detail=detail,
                command="ecrm analytics rebuild",
            )
        )
    else:
        figures.append(
            Figure(
                "analytics_rebuild",
                snapshot.seconds,
                detail=f"the last rebuild, at {snapshot.built_at:%Y-%m-%d %H:%M} UTC "
                f"(rerun with --rebuild to measure again)",
                command="ecrm analytics rebuild",
            )
        )

    months = queries.funnel_periods("m")
    latest = months[0] if months else None
    latest_year = str(latest.year) if latest else "2025"
    latest_month = rules.period_label("month", latest) if latest else "2025-01"
    try:
        from ecrm.segments import api as segments

        segment_ids = [s.id for s in segments.segment_choices()]
    except ImportError:
        segment_ids = []
    mix = _mix(latest_year, latest_month, segment_ids)
    say(f"analytics 2/4 {len(mix)} report requests × {ROUNDS} rounds …")
    # Distinct customers counted on the facts (not from the activity cells) are the slow
    # kind: they get a figure of their own.
    plain: list[float] = []
    distinct: list[float] = []
    slowest: dict[str, float] = {}
    for _round in range(ROUNDS):
        for request in mix:
            parsed = rules.parse_report(request)
            ms = _timed(lambda parsed=parsed: queries.run_report(parsed))
            on_facts = "customers" in parsed.measures and (
                parsed.levels_used or parsed.time_level in ("week", "day")
            )
            (distinct if on_facts else plain).append(ms)
            name = "×".join(parsed.dimensions) or "totals"
            if parsed.filters or parsed.time_filters:
                name += " (filtered)"
            if "customers" in parsed.measures:
                name += " +customers"
            slowest[name] = max(slowest.get(name, 0), ms)
    ranked = sorted(slowest.items(), key=lambda kv: -kv[1])
    worst = ", ".join(f"{k} {v:.0f} ms" for k, v in ranked[:4])
    figures.append(
        _figure(
            "analytics_report",
            plain,
            f"{len(plain)} queries answered from the cubes (and activity cells for customers "
            f"by period): time, geography, category, channel, organisation; {ROUNDS} rounds; "
            f"slowest of all: {worst}",
        )
    )
    if distinct:
        figures.append(
            _figure(
                "analytics_report_customers",
                distinct,
                f"{len(distinct)} queries whose distinct customers by a dimension come from "
                f"{CustomerCell.objects.count():,} customer cells (exact counts per path, "
                f"grain and period) or, where no cell answers, are counted on "
                f"{Fact.objects.filter(kind='o').count():,} order facts through one covering "
                "index over (kind, day)",
            )
        )

    say("analytics 3/4 dashboards …")
    grains = ("m", "q", "y")
    dashboards = {
        "members": queries.members,
        "funnel": lambda: queries.funnel("m", latest) if latest else None,
        "activity": lambda: [queries.activity_series(g) for g in grains],
        "cohorts": lambda: queries.cohorts(18),
        "staff": lambda: (
            queries.staff_kpis(rules.add_months(latest, -11), None) if latest else None
        ),
        "headline": queries.headline,
    }
    board: list[float] = []
    worst_board: dict[str, float] = {}
    for _round in range(ROUNDS):
        for name, work in dashboards.items():
            ms = _timed(work)
            board.append(ms)
            worst_board[name] = max(worst_board.get(name, 0), ms)
    figures.append(
        _figure(
            "analytics_dashboard",
            board,
            f"{len(board)} queries over {len(dashboards)} dashboards × {ROUNDS}; "
            f"{ActivityCell.objects.count():,} activity cells; slowest: "
            + ", ".join(
                f"{k} {v:.0f} ms" for k, v in sorted(worst_board.items(), key=lambda kv: -kv[1])[:3]
            ),
        )
    )

    say("analytics 4/4 per-customer refresh …")
    rng = random.Random(options.seed)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id FROM analytics_fact WHERE kind = 'o' AND customer_id IS NOT NULL "
            "AND source_id > (SELECT MAX(source_id) - 200000 FROM analytics_fact WHERE kind = 'o') "
            "LIMIT 5000"
        )
        candidates = [row[0] for row in cursor.fetchall()]
    picks = rng.sample(candidates, min(len(candidates), max(20, options.requests // 5)))
    refresh = [_timed(lambda cid=cid: services.refresh_customers([cid])) for cid in picks]
    figures.append(
        _figure(
            "analytics_refresh",
            refresh,
            f"refresh_customers([id]) for {len(refresh)} recent buyers, one at a time: "
            "subtract, rewrite, add (the worker's per-minute refresh_pending does this for "
            "the customers flows.orders_changed marked; the order's own transaction only "
            "inserts the mark)",
        )
    )
    return figures
