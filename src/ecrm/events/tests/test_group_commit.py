"""Group commit: concurrent tracking requests share commits and each is answered after its
own data is durable; one failing request does not take the others down."""

import base64
import datetime as dt
import json
import threading
from concurrent.futures import Future

import pytest
import requests
from django.conf import settings

from ecrm.core import audit
from ecrm.events import keys, rules, writer
from ecrm.events.models import Event


@pytest.fixture
def group_commit():
    settings.ECRM["GROUP_COMMIT"] = True
    yield
    settings.ECRM["GROUP_COMMIT"] = False
    writer._WRITER.close_connection()


def _batch(client: int, n: int) -> dict:
    return {
        "batch": [
            {"type": "track", "event": "Product Viewed", "anonymousId": f"v-{client}-{i % 3}",
             "messageId": f"gc-{client}-{i}", "timestamp": "2026-11-11T01:00:00Z",
             "properties": {"product_id": f"P{i % 5}", "name": "商品"}}
            for i in range(n)
        ]
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_are_all_stored_once(live_server, group_commit):
    key = keys.create_write_key("gc", actor=audit.SYSTEM)[1]
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    statuses: list[int] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        session = requests.Session()
        for round_ in range(3):
            body = _batch(number * 10 + round_, 20)
            r = session.post(
                f"{live_server.url}/v1/batch",
                data=json.dumps(body),
                headers={"Authorization": auth, "Content-Type": "application/json"},
                timeout=30,
            )
            with lock:
                statuses.append(r.status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 18
    assert Event.objects.count() == 6 * 3 * 20
    assert Event.objects.values("customer_id").distinct().count() == 6 * 3 * 3


@pytest.mark.django_db(transaction=True)
def test_a_failing_request_gets_its_own_error_and_the_others_commit():
    received = dt.datetime(2026, 11, 11, tzinfo=dt.UTC)
    good = rules.batch_messages(_batch(1, 4), received_at=received, currency="CNY")
    other = rules.batch_messages(_batch(2, 4), received_at=received, currency="CNY")
    futures = [Future(), Future(), Future()]
    group = [(good, None, futures[0]), (None, None, futures[1]), (other, None, futures[2])]
    writer._Writer._commit(group)
    writer._FOLLOW_UPS.close_connection()  # its checkpoint, while the database is ours
    assert (futures[0].result().accepted, futures[2].result().accepted) == (4, 4)
    assert isinstance(futures[1].exception(), TypeError)
    assert Event.objects.count() == 8


def test_follow_ups_queue_what_gathered_as_one_job_and_checkpoint_the_log(monkeypatch):
    """Beside the writer, the re-checks of groups handed over while the thread was busy go
    out as one job naming each customer once, and a commit is followed by a checkpoint of
    the log (SQLite), also before the connection is closed."""
    from ecrm import flows

    jobs: list[list[int]] = []
    checkpoints: list[bool] = []
    monkeypatch.setattr(flows, "queue_gathered", jobs.append)
    monkeypatch.setattr(flows, "checkpoint_wal", lambda: checkpoints.append(True))
    follow = writer._FollowUps()
    for item in ([3, 1], writer._COMMITTED, [2, 3], writer._COMMITTED):
        follow._queue.put(item)  # all waiting before the thread takes the first
    follow._ensure_thread()
    follow.close_connection()
    assert (jobs, checkpoints) == ([[1, 2, 3]], [True])
    follow.send([9])
    follow.close_connection()
    assert (jobs, checkpoints) == ([[1, 2, 3], [9]], [True])  # nothing committed since


def test_the_queue_running_jobs_in_line_keeps_them_on_the_writer(monkeypatch):
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)
    assert writer._FollowUps.inline() is True
    monkeypatch.setattr(HUEY, "immediate", False)
    assert writer._FollowUps.inline() is False
