"""Fixtures of the console tests: signed-in clients per role, and a clean cache."""

import pytest
from django.core.cache import cache
from django.test import Client

from ecrm.staff.models import Role


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def signed_in(staff_factory):
    """``signed_in(role)`` returns a test client logged in as a new user with that role."""

    def make(role: str, username: str | None = None) -> Client:
        user = staff_factory(username or f"{role}-user", role)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture
def admin_client_(signed_in):
    return signed_in(Role.ADMIN, "boss")


@pytest.fixture
def agent_client(signed_in):
    return signed_in(Role.SERVICE_AGENT, "agent")


@pytest.fixture
def analyst_client(signed_in):
    return signed_in(Role.ANALYST, "analyst")
