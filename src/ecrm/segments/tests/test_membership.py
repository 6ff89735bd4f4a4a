"""Membership kept current: builds, live re-checks after events, orders and profile changes,
the scheduled refresh of time-dependent segments, merges, and the exact change log."""

import datetime as dt

import pytest
from django.core.management import call_command

from ecrm.core import clock
from ecrm.core.audit import SYSTEM
from ecrm.customers import api as customers
from ecrm.customers.tests import factories
from ecrm.events import api as events
from ecrm.segments import api, services
from ecrm.segments.models import Member, MembershipChange, SegmentSize

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def pinned(monkeypatch):
    """The clock stands at ``moment["at"]``; tests move it forward."""
    moment = {"at": NOW}
    monkeypatch.setattr(clock, "now", lambda: moment["at"])
    return moment


def _rules(*conditions):
    return {"version": 1, "match": {"all": list(conditions)}}


GUANGDONG = _rules({"profile": "province", "op": "eq", "value": "广东"})
BUYERS = _rules({"figure": "order_count", "op": "gte", "value": 1})
VIEWERS = _rules(
    {
        "event": "Product Viewed",
        "where": {"category_prefix": "家电"},
        "count": {"op": "gte", "value": 2},
        "within_days": 30,
    }
)
LAPSED = _rules(
    {"figure": "order_count", "op": "gte", "value": 1},
    {"figure": "days_since_last_order", "op": "gte", "value": 60},
)
EMAILABLE = _rules({"consent": "email", "status": "granted"})


def _save(name, definition, **kw):
    return services.save_segment(name=name, definition=definition, actor=SYSTEM, **kw)


def _log(segment):
    return list(
        MembershipChange.objects.filter(segment_id=segment.pk)
        .order_by("pk")
        .values_list("customer_id", "kind", "reason", "at")
    )


def _members(segment):
    return sorted(
        Member.objects.filter(segment_id=segment.pk).values_list("customer_id", flat=True)
    )


def test_saving_builds_and_a_new_version_rebuilds(pinned):
    """Creating builds the members set-based; a new version logs who left and who entered."""
    gz = factories.customer(name="甲", province="广东")
    bj = factories.customer(name="乙", province="北京")
    factories.customer(name="丙", province="广西")
    segment = _save("广东", GUANGDONG)
    assert _members(segment) == [gz.pk]
    later = NOW + dt.timedelta(hours=1)
    pinned["at"] = later
    _save(
        "广东",
        _rules({"profile": "province", "op": "in", "value": ["北京"]}),
        segment_id=segment.pk,
    )
    assert _members(segment) == [bj.pk]
    assert _log(segment) == [
        (gz.pk, "entered", "rebuild", NOW),
        (gz.pk, "left", "rebuild", later),
        (bj.pk, "entered", "rebuild", later),
    ]
    assert list(
        SegmentSize.objects.filter(segment_id=segment.pk).order_by("pk").values_list("at", "size")
    ) == [(NOW, 1), (later, 1)]
    assert Member.objects.get(segment_id=segment.pk).entered_at == later


def test_a_profile_change_moves_a_customer_in_and_out(pinned):
    """update_profile re-checks the profile segments of that customer, and only those."""
    customer = factories.customer(name="甲", province="北京")
    guangdong = _save("广东", GUANGDONG)
    buyers = _save("buyers", BUYERS)
    customers.update_profile(customer.pk, {"province": "广东"}, actor=SYSTEM)
    assert _log(guangdong) == [(customer.pk, "entered", "profile", NOW)]
    pinned["at"] = NOW + dt.timedelta(minutes=5)
    customers.update_profile(customer.pk, {"province": "上海"}, actor=SYSTEM)
    assert _log(guangdong) == [
        (customer.pk, "entered", "profile", NOW),
        (customer.pk, "left", "profile", NOW + dt.timedelta(minutes=5)),
    ]
    assert (_members(guangdong), _log(buyers)) == ([], [])


def test_consent_change_is_a_profile_change():
    customer = factories.customer(name="甲")
    segment = _save("emailable", EMAILABLE)
    customers.set_consent(customer.pk, "email", "granted", source="test", actor=SYSTEM)
    assert _log(segment) == [(customer.pk, "entered", "profile", NOW)]
    customers.set_consent(customer.pk, "email", "denied", source="test", actor=SYSTEM)
    assert _log(segment)[1:] == [(customer.pk, "left", "profile", NOW)]


def test_an_order_moves_a_customer_into_buyers():
    customer = factories.customer(name="甲")
    other = factories.customer(name="乙")
    segment = _save("buyers", BUYERS)
    factories.order(customer.pk, "SO-1", placed_at=NOW - dt.timedelta(days=1))
    assert _members(segment) == [customer.pk]
    assert _log(segment) == [(customer.pk, "entered", "order", NOW)]
    assert api.is_member(segment.pk, customer.pk) is True
    assert api.is_member(segment.pk, other.pk) is False
    assert [s.name for s in api.segments_of(customer.pk)] == ["buyers"]
    assert list(api.member_ids(segment.pk)) == [customer.pk]


def _viewed(user, message_id, category, at):
    return {
        "type": "track",
        "event": "Product Viewed",
        "userId": user,
        "messageId": message_id,
        "timestamp": at.isoformat(),
        "properties": {"product_id": "P-1", "category": category},
    }


def test_event_rechecks_committed_together_go_to_the_worker_as_one_job(
    monkeypatch, django_capture_on_commit_callbacks
):
    """The tracking writer commits many requests at once: their re-checks reach the queue as
    one job naming every customer once; a request rolled back queues nothing. Outside the
    block every commit queues its own job, as before."""
    from django.db import transaction

    from ecrm.segments import tasks

    jobs: list[list[int]] = []
    monkeypatch.setattr(tasks, "recheck_after_events", jobs.append)
    with api.events_rechecks_gathered():
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                api.queue_events_recheck([3, 1])
            with pytest.raises(RuntimeError), transaction.atomic():
                api.queue_events_recheck([7])
                raise RuntimeError("this request failed")
            with transaction.atomic():
                api.queue_events_recheck([2, 3, None])
        assert jobs == []
    assert jobs == [[1, 2, 3]]
    with django_capture_on_commit_callbacks(execute=True):
        api.queue_events_recheck([5])
        api.queue_events_recheck([4, 5])
    assert jobs == [[1, 2, 3], [5], [4, 5]]


def test_tracked_events_move_a_customer_in_and_time_moves_them_out(
    pinned, django_capture_on_commit_callbacks
):
    """The second 家电 view enters the customer (reason event) once the worker's re-check,
    queued when the events commit, has run; when the views age out of the 30-day window the
    scheduled refresh logs the exit (reason schedule)."""
    from huey.contrib.djhuey import HUEY

    customer = factories.customer(name="甲", user_id="u-1")
    segment = _save("家电 viewers", VIEWERS)
    first = NOW - dt.timedelta(days=3)
    immediate, HUEY.immediate = HUEY.immediate, True  # the worker's job runs in line
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.ingest([_viewed("u-1", "m-1", "家电/冰箱", first)])
            events.ingest([_viewed("u-1", "m-2", "服装/女装", first)])
        assert _log(segment) == []
        with django_capture_on_commit_callbacks(execute=False) as queued:
            events.ingest([_viewed("u-1", "m-3", "家电/电视", NOW - dt.timedelta(days=1))])
        assert _log(segment) == []  # nothing before the events' transaction commits
        for callback in queued:
            callback()
    finally:
        HUEY.immediate = immediate
    assert _log(segment) == [(customer.pk, "entered", "event", NOW)]
    pinned["at"] = NOW + dt.timedelta(days=28)
    services.refresh_segments()
    assert _members(segment) == []
    assert _log(segment)[-1] == (customer.pk, "left", "schedule", NOW + dt.timedelta(days=28))
    sizes = SegmentSize.objects.filter(segment_id=segment.pk).order_by("pk")
    assert list(sizes.values_list("size", flat=True)) == [0, 0]


def test_refresh_touches_only_segments_that_age(pinned):
    """`ecrm segment refresh` rebuilds the time-dependent ones; --all every rule segment."""
    customer = factories.customer(name="甲", province="广东")
    factories.order(customer.pk, "SO-1", placed_at=NOW - dt.timedelta(days=59))
    lapsed = _save("lapsed", LAPSED)
    guangdong = _save("广东", GUANGDONG)
    assert _members(lapsed) == []
    pinned["at"] = NOW + dt.timedelta(days=1)
    call_command("segment", "refresh")
    assert _log(lapsed) == [(customer.pk, "entered", "schedule", NOW + dt.timedelta(days=1))]
    assert SegmentSize.objects.filter(segment_id=guangdong.pk).count() == 1
    call_command("segment", "refresh", "--all")
    assert SegmentSize.objects.filter(segment_id=guangdong.pk).count() == 2


def test_static_list_add_remove_and_upload(tmp_path):
    """By hand and by CSV; unknown or ambiguous lines are rejected with line and reason."""
    a = factories.customer(name="甲", email="a@example.com", user_id="u-a")
    b = factories.customer(name="乙", phone="13812345678")
    c = factories.customer(name="丙")
    vip = _save("VIP", None, kind="static")
    assert services.add_members(vip.pk, [a.pk, c.pk], actor=SYSTEM).added == 2
    assert services.remove_members(vip.pk, [c.pk, b.pk], actor=SYSTEM).removed == 1
    data = b"email,note\nA@Example.com,x\nnobody@example.com,y\n,\nnot-an-email,z\n"
    result = services.upload_members(vip.pk, data, actor=SYSTEM)
    assert (result.kind, result.lines, result.added, result.already) == ("email", 3, 0, 1)
    assert [(r.line, r.value) for r in result.rejects] == [
        (3, "nobody@example.com"),
        (5, "not-an-email"),
    ]
    assert [str(r.reason) for r in result.rejects] == [
        "no customer has it",
        "email: 'not-an-email' is not an e-mail address",
    ]
    mobiles = "mobile\n+86 138 1234 5678\n".encode("gb18030")
    assert services.upload_members(vip.pk, mobiles, actor=SYSTEM).added == 1
    assert _members(vip) == [a.pk, b.pk]
    assert [(cid, kind, reason) for cid, kind, reason, _ in _log(vip)] == [
        (a.pk, "entered", "manual"),
        (c.pk, "entered", "manual"),
        (c.pk, "left", "manual"),
        (b.pk, "entered", "manual"),
    ]


def test_upload_with_an_unknown_column_is_refused():
    vip = _save("VIP", None, kind="static")
    with pytest.raises(services.SegmentError) as caught:
        services.upload_members(vip.pk, b"wechat\nabc\n", actor=SYSTEM)
    assert caught.value.message == (
        "line 1: 'wechat' is not one of customer_id, email, mobile, user_id"
    )


def test_a_merge_carries_static_lists_and_rechecks_rules():
    """The merged-away profile leaves everything; the survivor takes its static places and
    enters rule segments its new data qualifies for."""
    source = factories.customer(name="甲", province="广东", user_id="u-s")
    target = factories.customer(name="", user_id="u-t")
    vip = _save("VIP", None, kind="static")
    guangdong = _save("广东", GUANGDONG)
    services.add_members(vip.pk, [source.pk], actor=SYSTEM)
    customers.merge_customers(source.pk, target.pk, actor=SYSTEM)
    assert (_members(vip), _members(guangdong)) == ([target.pk], [target.pk])
    assert [(cid, kind, reason) for cid, kind, reason, _ in _log(vip)] == [
        (source.pk, "entered", "manual"),
        (target.pk, "entered", "merge"),
        (source.pk, "left", "merge"),
    ]
    assert [(cid, kind, reason) for cid, kind, reason, _ in _log(guangdong)] == [
        (source.pk, "entered", "rebuild"),
        (source.pk, "left", "merge"),
        (target.pk, "entered", "profile"),
    ]


def test_recheck_reads_only_segments_that_depend_on_the_change():
    customer = factories.customer(name="甲", province="广东")
    _save("广东", GUANGDONG)
    _save("buyers", BUYERS)
    _save("viewers", VIEWERS)
    assert api.on_events([customer.pk]).segments == 1
    assert api.on_profiles([customer.pk]).segments == 1
    assert api.on_orders([customer.pk]).segments == 2


def test_delete_removes_members_and_history():
    factories.customer(name="甲", province="广东")
    segment = _save("广东", GUANGDONG)
    services.delete_segment(segment.pk, actor=SYSTEM)
    assert (Member.objects.count(), MembershipChange.objects.count()) == (0, 0)
    assert SegmentSize.objects.count() == 0


def test_changes_since_feeds_triggers():
    """Campaigns poll the log by id."""
    a = factories.customer(name="甲", province="广东")
    segment = _save("广东", GUANGDONG)
    first = api.changes_since(0)
    assert [(e.segment_id, e.customer_id, e.kind, e.reason) for e in first] == [
        (segment.pk, a.pk, "entered", "rebuild")
    ]
    assert api.changes_since(first[-1].id) == []


def test_refresh_names_an_unknown_or_static_segment():
    from django.core.management import CommandError

    vip = _save("VIP", None, kind="static")
    with pytest.raises(CommandError) as caught:
        call_command("segment", "refresh", "999999")
    assert str(caught.value) == "no segment #999999"
    with pytest.raises(CommandError) as caught:
        call_command("segment", "refresh", str(vip.pk))
    assert str(caught.value) == "kind: a static list is changed by hand, not built"
