"""Background imports: the console stores an upload, queues a run, the worker does it."""

from ecrm.core.jobs import task
from ecrm.imports import services


@task()
def import_file(run_id: int) -> None:
    """Run the queued import ``run_id``; a bad file or mapping is recorded on the run."""
    services.run_queued(run_id)


@task()
def after_import(customer_ids: list[int]) -> None:
    """Loyalty, segment membership and promotions for the customers an import touched."""
    from ecrm import flows

    flows.after_bulk_load(customer_ids)
