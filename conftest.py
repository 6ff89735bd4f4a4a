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
