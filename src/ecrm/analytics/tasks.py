"""Background jobs of analytics: thin wrappers over services."""

from huey import crontab

from ecrm.analytics import services
from ecrm.core.jobs import periodic_task, task


@periodic_task(crontab(minute="*"))
def refresh_pending() -> int:
    """Every minute: the customers whose orders changed since (``flows`` marks them)."""
    return services.refresh_pending()


@task()
def rebuild_read_model() -> float:
    """A full rebuild in the background (``ecrm demo`` of a large shop queues it)."""
    return services.rebuild()["total"]


@periodic_task(crontab(hour="3", minute="45"))
def nightly_catch_up() -> int:
    """After the nightly figures rebuild (03:30): customers who only browsed or were
    contacted since yesterday, and the member snapshot (orders are current already)."""
    return services.catch_up()["customers"]
