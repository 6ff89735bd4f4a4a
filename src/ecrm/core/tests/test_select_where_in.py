"""``core.tables.select_where_in``: one statement for any number of keys."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecrm.core import tables
from ecrm.customers.models import Customer, Identity
from ecrm.customers.tests import factories

pytestmark = pytest.mark.django_db


def test_rows_of_the_given_keys_that_meet_the_condition_in_one_statement():
    wang = factories.customer(name="王芳", email="wang@example.com")
    li = factories.customer(name="李雷", email="li@example.com", user_id="li@example.com")
    keys = [
        "wang@example.com",
        "li@example.com",
        "nobody@example.com",
        *[f"x{n}" for n in range(600)],
    ]
    with CaptureQueriesContext(connection) as seen:
        rows = tables.select_where_in(
            Identity._meta.db_table,
            "value",
            keys,
            ("customer_id",),
            condition="kind = %s AND namespace = %s",
            params=("email", ""),
        )
    assert sorted(rows) == [("li@example.com", li.pk), ("wang@example.com", wang.pk)]
    assert len(seen.captured_queries) == 1


def test_a_condition_without_parameters_and_no_keys():
    kept = factories.customer(name="张伟")
    gone = factories.customer(name="张伟")
    Customer.objects.filter(pk=gone.pk).update(merged_into=kept)
    table = Customer._meta.db_table
    live = tables.select_where_in(
        table, "id", [kept.pk, gone.pk], (), condition="merged_into_id IS NULL"
    )
    assert live == [(kept.pk,)]
    assert tables.select_where_in(table, "id", [], ("name",)) == []
