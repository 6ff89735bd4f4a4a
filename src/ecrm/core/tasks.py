"""Background jobs of the core: upkeep of the database (``core.upkeep``)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ecrm.core import upkeep


@db_periodic_task(crontab(minute="5"))
def refresh_planner_statistics() -> bool:
    return upkeep.refresh_planner_statistics()
