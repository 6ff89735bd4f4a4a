"""Background jobs of loyalty: thin wrappers over services."""

from huey import crontab

from ecrm.core import clock
from ecrm.core.jobs import periodic_task
from ecrm.loyalty import bulk, queries, services


@periodic_task(crontab(hour="2", minute="10"))
def nightly_expiry() -> int:
    """Points whose lots passed their expiry date leave the balances."""
    return services.expire_points()


@periodic_task(crontab(hour="4", minute="10"))
def nightly_tiers() -> int:
    """Every member's tier on the rolling window: downgrades whose grace has ended."""
    setup = queries.setup()
    if not setup.enabled:
        return 0
    return bulk.evaluate_tiers_all(setup, clock.now())
