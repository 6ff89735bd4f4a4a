import pytest

from ecrm.core.testing import worker_in_line


@pytest.fixture(autouse=True)
def _worker_in_line():
    """Imports queue their customers' derived data for the worker; it runs in line here."""
    with worker_in_line():
        yield
