"""The database itself (core.database): planner statistics, hourly from the worker."""

import pytest
from django.db import connection

from ecrm.core import database, tasks
from ecrm.customers import api as customers

pytestmark = pytest.mark.django_db


def _stats(table: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = %s ORDER BY idx", [table])
        return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_sqlite_gets_statistics_for_every_index():
    for n in range(3):
        customers.create_customer(profile={"name": f"客户{n}", "email": f"c{n}@example.com"})

    assert tasks.refresh_planner_statistics.call_local() is True

    stats = dict(_stats("customers_identity"))
    assert stats["identity_value_idx"] == "3 1"
    assert stats["identity_customer_idx"] == "3 1 1"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_postgresql_is_left_to_autovacuum_unless_asked():
    assert database.refresh_planner_statistics() is False
    assert database.refresh_planner_statistics(postgresql=True) is True
