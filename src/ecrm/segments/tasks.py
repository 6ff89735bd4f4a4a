"""Background jobs of the segments domain: thin wrappers over services."""

from huey import crontab

from ecrm.core.jobs import periodic_task, task
from ecrm.segments import services
from ecrm.segments.models import ChangeReason


@periodic_task(crontab(minute="10"))
def hourly_refresh() -> int:
    """Segments whose conditions age with time ("no order in 60 days", "viewed in the last
    30 days") rebuilt every hour, each with a size-history point."""
    return len(services.refresh_segments())


@periodic_task(crontab(minute="40"))
def hourly_sizes() -> int:
    """A size-history point for every segment, so the history shows live changes too."""
    return services.record_sizes()


@periodic_task(crontab(hour="4", minute="30"))
def nightly_rebuild() -> int:
    """Every rule segment after the nightly figures rebuild (03:30) and RFM scores (04:00),
    which change many customers at once without going through the live re-check."""
    return len(services.build_all(reason=ChangeReason.SCHEDULE))


@task()
def build_segment(segment_id: int) -> int:
    return services.build_segment(segment_id).size


@task()
def recheck_after_events(customer_ids: list[int]) -> int:
    """Behaviour-only events: the worker re-checks the behaviour segments of these customers
    right after the events' transaction commits (``api.queue_events_recheck``)."""
    from ecrm.segments import api

    return api.on_events(customer_ids).customers


@task()
def rebuild_reading(source: str) -> int:
    """Rule segments that test ``source``'s fields, after that domain recomputed them for
    every customer (``api.queue_rebuild_reading``)."""
    return len(services.build_all(reason=ChangeReason.REBUILD, reading=source))
