"""Background jobs of the customer-value domain: thin wrappers over services."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ecrm.value import services


@db_periodic_task(crontab(hour="4", minute="0"))
def nightly_rfm() -> int:
    """Rescore every customer after the nightly figures rebuild (03:30)."""
    return services.compute_rfm().customers
