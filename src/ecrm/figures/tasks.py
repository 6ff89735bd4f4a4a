"""Background jobs of the figures domain: thin wrappers over services."""

from huey import crontab

from ecrm.core.jobs import periodic_task, task
from ecrm.figures import services


@task()
def refresh_customers(customer_ids: list[int]) -> int:
    return services.refresh_customers(customer_ids)


@periodic_task(crontab(hour="3", minute="30"))
def nightly_recompute() -> int:
    """A full rebuild each night, so figures can never drift from the raw data."""
    return services.recompute_all()
