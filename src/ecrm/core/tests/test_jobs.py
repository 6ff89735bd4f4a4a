"""Jobs that meet a busy database run again a minute later (core.jobs)."""

import datetime as dt

import pytest
from django.db import OperationalError
from huey.contrib.djhuey import HUEY
from huey.exceptions import TaskException

from ecrm.core.testing import worker_in_line
from ecrm.figures import services as figures
from ecrm.figures import tasks as figure_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def fails(monkeypatch):
    def set_error(message):
        def refresh(customer_ids):
            raise OperationalError(message)

        monkeypatch.setattr(figures, "refresh_customers", refresh)

    with worker_in_line():  # Huey's own execution, in line, on an in-memory queue
        yield set_error
        HUEY.flush()


def test_a_job_meeting_a_busy_database_is_scheduled_again(fails):
    fails("database is locked")
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    figure_jobs.refresh_customers([7])

    (again,) = HUEY.scheduled()
    assert (again.name, again.args) == ("refresh_customers", ([7],))
    assert 59 <= (again.eta - before).total_seconds() <= 61


def test_other_errors_fail_the_job(fails):
    fails("no such table: figures_customerfigures")

    with pytest.raises(TaskException, match="no such table: figures_customerfigures"):
        figure_jobs.refresh_customers([7]).get()
    assert HUEY.scheduled() == []
