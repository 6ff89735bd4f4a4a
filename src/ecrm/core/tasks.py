"""Background jobs of the core: the database's planner statistics (``core.database``)."""

from huey import crontab

from ecrm.core import database
from ecrm.core.jobs import periodic_task


@periodic_task(crontab(minute="5"))
def refresh_planner_statistics() -> bool:
    return database.refresh_planner_statistics()
