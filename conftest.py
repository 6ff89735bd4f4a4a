"""Shared test fixtures. Each domain keeps its own factories in its tests/ folder."""

import pytest


@pytest.fixture
def admin_user(db):
    from ecrm.staff import api as staff
    from ecrm.staff.models import Role

    return staff.create_staff("admin", "admin-pass-123", Role.ADMIN)


@pytest.fixture
def staff_factory(db):
    from ecrm.staff import api as staff

    def make(username: str, role: str, password: str = "pass-word-123", department=None):
        return staff.create_staff(username, password, role, department=department)

    return make


def pytest_configure(config):
    """Tests run inside transactions the tracking writer thread cannot see: write directly.
    ``events/tests/test_group_commit.py`` switches it back on for a live server."""
    from django.conf import settings

    settings.ECRM["GROUP_COMMIT"] = False
    # Live-server threads would otherwise keep their connections open past the session,
    # and PostgreSQL refuses to drop a test database somebody is connected to.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches (write keys, products already applied) start empty in each
    test, as they would in a new server process; a flushed database must not be
    answered from memory."""
    from ecrm.catalog import services as catalog_services
    from ecrm.events import keys

    catalog_services._APPLIED.clear()
    keys._CACHE.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the console's default language: the locale middleware leaves a
    request's language active in the thread that served it, which is the test's own."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
