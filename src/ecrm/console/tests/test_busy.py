"""A database that stays locked past the busy timeout (SQLite, during a long job) is a
503 with Retry-After on every path, in the path's own shape: never a 500."""

import pytest
from django.db import OperationalError

from ecrm.customers import queries
from ecrm.staff.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked(monkeypatch):
    def search(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(queries, "search_customers", search)


def test_the_console_says_nothing_was_saved_in_its_language(agent_client, locked):
    chinese = agent_client.get("/customers/?q=zhang")
    english = agent_client.get("/customers/?q=zhang", HTTP_ACCEPT_LANGUAGE="en")

    assert (chinese.status_code, chinese["Retry-After"]) == (503, "30")
    assert "数据库正忙于一项耗时任务" in chinese.content.decode()
    assert english.status_code == 503
    assert "Nothing was saved; try again in a minute." in english.content.decode()


def test_the_api_answers_json(signed_in, locked):
    client = signed_in(Role.SERVICE_AGENT)

    response = client.get("/api/customers?q=zhang")

    assert (response.status_code, response["Retry-After"]) == (503, "30")
    assert response.json() == {
        "error": "the database is busy with a long job; nothing was saved, retry in a minute",
        "field": None,
    }


def test_other_database_errors_stay_errors(agent_client, monkeypatch):
    def search(*args, **kwargs):
        raise OperationalError("no such table: customers_customer")

    monkeypatch.setattr(queries, "search_customers", search)

    with pytest.raises(OperationalError):
        agent_client.get("/customers/?q=zhang")
