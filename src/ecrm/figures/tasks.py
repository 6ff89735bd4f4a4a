"""Background jobs of the figures domain: thin wrappers over services."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from ecrm.figures import services


@db_task()
def refresh_customers(customer_ids: list[int]) -> int:
    return services.refresh_customers(customer_ids)


@db_periodic_task(crontab(hour="3", minute="30"))
def nightly_recompute() -> int:
    """A full rebuild each night, so figures can never drift from the raw data."""
    return services.recompute_all()
