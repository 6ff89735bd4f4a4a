"""The background worker runs queued jobs in a separate process: on the SQLite queue of the
embedded default, and on Redis when REDIS_URL is set."""

import os
import socket
import subprocess
import sys
import time

import pytest
from django.db import connection

from ecrm.customers.tests import factories
from ecrm.figures.models import CustomerFigures

REDIS_URL = os.environ.get("ECRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgresql://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def _env(tmp_path, broker):
    env = {**os.environ, "DATABASE_URL": _database_url(), "ECRM_DATA_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    if broker == "redis":
        env["REDIS_URL"] = REDIS_URL
    return env


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["sqlite", "redis"])
def test_worker_process_runs_a_queued_job(tmp_path, broker):
    if broker == "redis" and not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:"):
        pytest.skip("in-memory SQLite cannot be shared with a worker process")
    customer = factories.customer(name="队列")
    factories.order(customer.pk, "Q-1", total="42.00")
    CustomerFigures.objects.all().delete()
    env = _env(tmp_path, broker)
    if broker == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    enqueue = (
        f"from ecrm.figures.tasks import refresh_customers; refresh_customers([{customer.pk}])"
    )
    subprocess.run(
        [sys.executable, "-m", "ecrm", "shell", "-c", enqueue],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "ecrm", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not CustomerFigures.objects.exists():
            time.sleep(0.2)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=15)[0].decode()
    figures = CustomerFigures.objects.filter(customer_id=customer.pk).values_list(
        "order_count", "revenue"
    )
    assert list(figures) == [(1, __import__("decimal").Decimal("42.0000"))], output
