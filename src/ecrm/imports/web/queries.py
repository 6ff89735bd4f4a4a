"""Reads of import runs for the console pages, keyset-paged newest first."""

from __future__ import annotations

from ecrm.console.keyset import id_page
from ecrm.imports.models import ImportRun

PAGE = 25
ACTIVE = (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING)


def recent_runs(*, after: int | None, limit: int = PAGE) -> tuple[list[ImportRun], int | None]:
    """One page of runs, newest first by id, and the id to continue after."""
    return id_page(ImportRun.objects.select_related("created_by"), after, limit)


def get_run(run_id: int) -> ImportRun | None:
    return ImportRun.objects.select_related("created_by").filter(pk=run_id).first()


def any_active() -> bool:
    """Whether some run is still queued or running (the list then keeps refreshing)."""
    return ImportRun.objects.filter(status__in=ACTIVE).exists()
