"""Two real server processes take concurrent batches that share visitors: every request is
answered 200, every event is stored once, and every anonymous id has one owner."""

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from django.db import connection

from ecrm.core import audit
from ecrm.customers.models import Identity
from ecrm.events import keys
from ecrm.events.models import Event


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgresql://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _batch(client: int, round_: int) -> dict:
    items = []
    for i in range(30):
        item = {
            "type": "track",
            "event": "Product Viewed",
            "anonymousId": f"shared-{i % 7}",
            "messageId": f"c{client}-r{round_}-{i}",
            "properties": {"product_id": "P1"},
        }
        if round_ % 2:
            item["userId"] = f"user-{i % 7}"
        items.append(item)
    return {"batch": items}


@pytest.mark.django_db(transaction=True)
def test_two_server_processes_share_visitors_without_errors(tmp_path):
    key = keys.create_write_key("race", actor=audit.SYSTEM)[1]
    port = _free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "DATABASE_URL": _database_url(), "ECRM_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
         "-b", f"127.0.0.1:{port}", "ecrm.config.wsgi"],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1/batch"
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        "Content-Type": "application/json",
    }
    statuses: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=5)
                break
            except requests.RequestException:  # not listening yet, or slow to answer
                time.sleep(0.2)

        def client(number: int) -> None:
            session = requests.Session()
            for round_ in range(6):
                body = json.dumps(_batch(number, round_))
                statuses.append(
                    session.post(url, data=body, headers=headers, timeout=60).status_code
                )

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert statuses == [200] * 36, log.read_text()[-3000:]
    assert Event.objects.count() == 6 * 6 * 30
    owners: dict[str, set[int]] = {}
    for value, customer_id in Identity.objects.filter(kind="anonymous_id").values_list(
        "value", "customer_id"
    ):
        owners.setdefault(value, set()).add(customer_id)
    assert {v: len(ids) for v, ids in owners.items()} == {f"shared-{i}": 1 for i in range(7)}
