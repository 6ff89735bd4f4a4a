"""Background jobs of the customer-value domain: thin wrappers over services.

Nightly, after the figures rebuild (03:30): RFM scores, then predictions, then profit;
each repeats the settings of its latest run.
"""

import logging

from huey import crontab

from ecrm.core.jobs import periodic_task, task
from ecrm.value import services

log = logging.getLogger(__name__)


@periodic_task(crontab(hour="4", minute="0"))
def nightly_rfm() -> int:
    return services.compute_rfm(**services.rfm_settings()).customers


@periodic_task(crontab(hour="4", minute="20"))
def nightly_predictions() -> int:
    try:
        return services.score_customers(**services.prediction_settings()).customers
    except services.NotEnoughData as exc:
        log.info("customer value predictions skipped: %s", exc)
        return 0


@periodic_task(crontab(hour="4", minute="40"))
def nightly_profit() -> int:
    return services.compute_profit().customers


@task()
def run_rfm(settings: dict) -> int:
    """A run staff asked for from the console, with the settings they chose."""
    return services.compute_rfm(**settings).customers


@task()
def run_predictions(horizon_days: int, discount_rate: float) -> int:
    try:
        return services.score_customers(
            horizon_days=horizon_days, discount_rate=discount_rate
        ).customers
    except services.NotEnoughData as exc:
        log.warning("customer value predictions not computed: %s", exc)
        return 0


@task()
def run_profit(settings: dict) -> int:
    return services.compute_profit(settings=settings).customers


@task()
def refresh_all() -> int:
    """Every customer-value run after a large load (the demo shop), on the worker."""
    done = services.refresh_all()
    if done.skipped:
        log.info("customer value predictions skipped: %s", done.skipped)
    return done.rfm
