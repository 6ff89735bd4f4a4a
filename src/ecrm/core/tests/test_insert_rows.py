"""``core.tables.insert_rows``: rows appended in one stream, several rows per statement on
request."""

import pytest
from django.db import IntegrityError, connection, transaction

from ecrm.core import tables

pytestmark = pytest.mark.django_db


@pytest.fixture
def scratch():
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE scratch_rows "
            "(a INTEGER NOT NULL UNIQUE, b TEXT, c REAL, d TEXT NOT NULL)"
        )
    yield "scratch_rows"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE scratch_rows")


def _content(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a, b, c, d FROM {table} ORDER BY a")
        return cursor.fetchall()


@pytest.mark.parametrize("grouped", [False, True])
def test_every_row_in_order_with_the_shared_values(scratch, grouped):
    # Two full groups and a part of one, with text that needs quoting or marks.
    count = 2 * tables.ROWS_PER_STATEMENT + 5
    texts = ["王芳", "it's", "100%", "%s", None, "a?b"]
    rows = [(n, texts[n % len(texts)], n / 4) for n in range(count)]
    same = {"d": "双十一 50% 'off'"}
    tables.insert_rows(scratch, ("a", "b", "c"), rows, same=same, grouped=grouped)
    assert _content(scratch) == [(a, b, c, "双十一 50% 'off'") for a, b, c in rows]


def test_fewer_rows_than_a_group(scratch):
    tables.insert_rows(scratch, ("a", "d"), [(1, "x"), (2, "y")], grouped=True)
    assert _content(scratch) == [(1, None, None, "x"), (2, None, None, "y")]


def test_a_bad_row_fails_the_transaction_and_leaves_nothing(scratch):
    count = tables.ROWS_PER_STATEMENT + 10
    rows = [(n, "x") for n in range(count)] + [(3, "again")]  # a's UNIQUE in the last group
    with pytest.raises(IntegrityError), transaction.atomic():
        tables.insert_rows(scratch, ("a", "d"), rows, grouped=True)
    assert _content(scratch) == []
