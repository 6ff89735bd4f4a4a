"""``segment_fields`` and ``segment_facts``: the value fields segments can test."""

import pytest

from ecrm.customers.models import Customer
from ecrm.value import api
from ecrm.value.tests.shop import NOW, buyers

pytestmark = pytest.mark.django_db

NAMES = [
    "rfm_group",
    "r",
    "f",
    "m",
    "dormant",
    "low_return",
    "p_alive",
    "expected_purchases",
    "expected_order_value",
    "clv",
    "margin",
    "profit",
]


def test_field_names_and_types_are_stable():
    fields = api.segment_fields()
    assert list(fields) == NAMES
    assert [fields[n]["type"] for n in NAMES] == [
        "text",
        "number",
        "number",
        "number",
        "bool",
        "bool",
        "number",
        "number",
        "number",
        "number",
        "number",
        "number",
    ]
    assert [code for code, _label in fields["rfm_group"]["choices"]][:3] == [
        "champions",
        "loyal",
        "potential_loyalists",
    ]


def test_expressions_annotate_customers_and_match_the_facts():
    """Every expression annotates live customers with the same value ``segment_facts``
    gives; a customer no run scored has None everywhere."""
    ids = buyers()
    api.compute_rfm(now=NOW, window_days=365)
    api.score_customers(now=NOW, horizon_days=365, discount_rate=0.1)
    api.compute_profit(now=NOW)
    fields = api.segment_fields()
    rows = Customer.objects.annotate(**{n: e["expression"] for n, e in fields.items()})
    by_id = {row.pk: {n: getattr(row, n) for n in NAMES} for row in rows}
    for pk in ids.values():
        facts = api.segment_facts(pk)
        annotated = {
            n: (None if v is None else float(v) if fields[n]["type"] == "number" else v)
            for n, v in by_id[pk].items()
        }
        annotated = {
            n: (bool(v) if fields[n]["type"] == "bool" and v is not None else v)
            for n, v in annotated.items()
        }
        assert annotated == facts
    assert api.segment_facts(ids["never"]) == dict.fromkeys(NAMES)
    champions = Customer.objects.annotate(g=fields["rfm_group"]["expression"]).filter(g="champions")
    assert sorted(champions.values_list("pk", flat=True)) == sorted(
        pk for pk in ids.values() if api.segment_facts(pk)["rfm_group"] == "champions"
    )


def test_segments_testing_scores_follow_a_new_run_once_the_worker_rebuilt_them(
    django_capture_on_commit_callbacks,
):
    """A run that rescores everyone queues a rebuild of the segments that test scores (not
    of the others) for when it commits; before, they waited for the nightly rebuild."""
    from huey.contrib.djhuey import HUEY

    from ecrm.core import audit
    from ecrm.segments import services as segments
    from ecrm.segments.models import Member, MembershipChange
    from ecrm.value.models import CustomerScore

    buyers()
    actor = audit.Actor("test")
    champions = segments.save_segment(
        name="champions",
        definition={
            "version": 1,
            "match": {"score": "rfm_group", "op": "eq", "value": "champions"},
        },
        actor=actor,
    )
    profiles = segments.save_segment(
        name="named",
        definition={"version": 1, "match": {"profile": "name", "op": "is_set"}},
        actor=actor,
    )
    assert not Member.objects.filter(segment=champions).exists()  # nobody scored yet
    profile_changes = MembershipChange.objects.filter(segment=profiles).count()

    immediate, HUEY.immediate = HUEY.immediate, True  # the worker's job runs in line
    try:
        with django_capture_on_commit_callbacks(execute=True):
            api.compute_rfm(now=NOW)
    finally:
        HUEY.immediate = immediate

    scored = set(
        CustomerScore.objects.filter(rfm_group="champions").values_list("customer_id", flat=True)
    )
    members = set(Member.objects.filter(segment=champions).values_list("customer_id", flat=True))
    assert members == scored
    assert len(members) == 5
    assert MembershipChange.objects.filter(segment=profiles).count() == profile_changes


def test_refreshing_every_score_queues_one_rebuild_of_the_score_segments(monkeypatch):
    """``refresh_all`` runs RFM, predictions and profit one after another: each changes the
    scores, and the segments that test them are rebuilt once, after the last run."""
    from ecrm.segments import api as segments

    queued: list[str] = []
    monkeypatch.setattr(segments, "queue_rebuild_reading", queued.append)
    buyers()
    done = api.refresh_all(now=NOW)
    assert (done.rfm, done.profit) == (40, 40)
    assert queued == [segments.SCORE]
    api.compute_rfm(now=NOW)  # a run on its own still queues its rebuild
    assert queued == [segments.SCORE, segments.SCORE]
