"""The demo shop's programme: set up as a marketer would, then run over the demo orders."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from ecrm.core import audit, clock
from ecrm.loyalty import bulk, presets, services
from ecrm.loyalty.models import Membership

ACTOR = audit.Actor("demo")
SPECIAL_SHARE = 0.01  # 模范会员: one member in a hundred
LAUNCHED_DAYS_AGO = 240
ACTIVE_SAMPLE = 600  # members who also review, sign in and answer surveys


def load_demo(
    *, seed: int = 42, progress: Callable[[str], None] = lambda message: None
) -> bulk.BulkResult:
    started = time.perf_counter()
    progress("  loyalty programme: tiers, rules, members and points …")
    # The shop launched its programme eight months ago: older orders earn nothing.
    launched = (timezone.localdate() - dt.timedelta(days=LAUNCHED_DAYS_AGO)).isoformat()
    services.install_programme(
        actor=ACTOR,
        settings={**presets.DEMO_SETTINGS, "starts_on": launched},
        tiers=presets.DEMO_TIERS,
        rule_list=presets.DEMO_RULES,
        enabled=False,
    )
    services.save_programme(actor=ACTOR, enabled=True)
    now = clock.now()
    # Members join with their first paid order; a few early ones become 模范会员 first.
    result = bulk.award_all(now=now, progress=progress)
    rng = random.Random(seed)
    ids = list(Membership.objects.order_by("customer_id").values_list("customer_id", flat=True))
    special = sorted(rng.sample(ids, int(len(ids) * SPECIAL_SHARE))) if ids else []
    for start in range(0, len(special), 10_000):
        Membership.objects.filter(customer_id__in=special[start : start + 10_000]).update(
            special=True
        )
    sample = sorted(rng.sample(ids, min(ACTIVE_SAMPLE, len(ids))))
    activities = []
    for customer_id in sample:
        for k in range(rng.randint(0, 6)):
            kind = rng.choice(
                [
                    "daily_sign_in",
                    "daily_sign_in",
                    "review_written",
                    "survey_answered",
                    "activity_joined",
                ]
            )
            at = now - dt.timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
            activities.append(
                services.Activity(customer_id, kind, f"demo-{customer_id}-{k}", at, kind)
            )
    with transaction.atomic():  # one commit for the sample, not one per member
        services.record_activities(activities)
        for customer_id in sample[: len(sample) // 4]:
            balance = Membership.objects.get(customer_id=customer_id).points
            if balance >= 500:
                services.spend_points(
                    customer_id,
                    rng.randrange(100, balance // 2, 100) if balance >= 400 else 100,
                    source="checkout",
                    source_ref=f"demo-ck-{customer_id}",
                    reason="下单抵扣",
                    actor=ACTOR,
                )
    progress(
        f"  loyalty: {result.joined:,} members, {result.awarded_orders:,} orders earned "
        f"{result.points:,} points, {time.perf_counter() - started:.0f} s"
    )
    return result
