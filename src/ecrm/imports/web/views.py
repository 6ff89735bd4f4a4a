"""The imports page of the console: upload a file, queue it, watch the worker run it.

The upload is stored under ``MEDIA_ROOT/imports`` and handed to
``ecrm.imports.api.queue_import``; the worker records progress on the ``ImportRun``
that the list shows, refreshing itself (htmx) while a run is queued or running.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecrm.console.web.access import actor, int_param, is_htmx, require
from ecrm.imports import api as imports
from ecrm.imports.models import ImportRun
from ecrm.imports.web import files, queries
from ecrm.imports.web.forms import KIND_LABELS, UPLOADED, ImportForm
from ecrm.staff import rules as perms

COUNT_LABELS = {
    "customers": gettext_lazy("customers"),
    "products": gettext_lazy("products"),
    "orders": gettext_lazy("orders"),
    "returns": gettext_lazy("returns"),
}
BADGES = {
    ImportRun.Status.QUEUED: "gray",
    ImportRun.Status.RUNNING: "blue",
    ImportRun.Status.DONE: "green",
    ImportRun.Status.FAILED: "red",
}


@dataclass(frozen=True)
class RunRow:
    """One run as the pages show it: names without folders, counts with labels."""

    run: ImportRun
    kind: str
    file: str
    mapping: str
    badge: str
    created: list[tuple[str, int]]
    changed: list[tuple[str, int]]
    reject_path: Path | None  # the run's reject file, when it lies under the data directory
    active: bool
    error: str  # why the run failed, naming the file as the user knows it

    @property
    def has_rejects(self) -> bool:
        return self.reject_path is not None


def _counts(counts: dict) -> list[tuple[str, int]]:
    return [(str(COUNT_LABELS.get(name, name)), n) for name, n in sorted(counts.items()) if n]


def _mapping_label(mapping: str) -> str:
    """A built-in mapping by name; an uploaded mapping file by its base name."""
    if not mapping:
        return ""
    return files.display_name(mapping) if ("/" in mapping or "\\" in mapping) else mapping


def _row(run: ImportRun) -> RunRow:
    return RunRow(
        run=run,
        kind=str(KIND_LABELS.get(run.kind, run.kind)),
        file=files.display_name(run.file_name),
        mapping=_mapping_label(run.mapping),
        badge=BADGES.get(run.status, "gray"),
        created=_counts(run.created or {}),
        changed=_counts(run.changed or {}),
        reject_path=files.reject_path(run.reject_file),
        active=run.status in queries.ACTIVE,
        error=_error(run),
    )


def _error(run: ImportRun) -> str:
    """The run's error with the stored upload (``<folder>/<uuid>-orders.csv``) named as
    the user knows it (``orders.csv``)."""
    if not run.error or not run.file_name:
        return run.error
    shown = files.display_name(run.file_name)
    return run.error.replace(run.file_name, shown).replace(Path(run.file_name).name, shown)


def _runs_context(request) -> dict:
    after = int_param(request, "after")
    runs, next_after = queries.recent_runs(after=after)
    return {
        "rows": [_row(run) for run in runs],
        "after": after,
        "next_after": next_after,
        "polling": queries.any_active(),
    }


def _queue(request, form: ImportForm) -> int:
    """Store the upload (and its mapping file beside it), then queue the run."""
    token = str(uuid.uuid4())
    data = files.store_upload(form.cleaned_data["data_file"], token)
    mapping = form.cleaned_data["mapping"] or None
    if mapping == UPLOADED:
        mapping = str(files.store_upload(form.cleaned_data["mapping_file"], f"{token}-mapping"))
    return imports.queue_import(
        form.cleaned_data["kind"],
        data,
        mapping,
        actor=actor(request),
        language=translation.get_language() or "",
    )


@require(perms.IMPORT_DATA)
def import_page(request):
    """The upload form and the recent runs; a valid upload is queued, then back here."""
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            run_id = _queue(request, form)
            messages.success(
                request,
                _("Import #%(id)s is queued; the list below shows its progress.") % {"id": run_id},
            )
            return redirect("console:imports")
        status = 400
    else:
        form = ImportForm()
    return render(
        request, "imports/page.html", {"form": form, **_runs_context(request)}, status=status
    )


@require(perms.IMPORT_DATA)
def import_runs(request):
    """The list of runs alone: what the page polls while a run is queued or running."""
    return render(request, "imports/_runs.html", _runs_context(request))


def _run_or_404(run_id: int) -> ImportRun:
    run = queries.get_run(run_id)
    if run is None:
        raise Http404("no such import")
    return run


# Rejected rows shown on a run's page; the download has them all.
REJECTS_SHOWN = 100


@require(perms.IMPORT_DATA)
def import_run(request, run_id: int):
    """A run's counts and, once it has finished, its first rejected rows with the reason."""
    run = _run_or_404(run_id)
    row = _row(run)
    rejects = None
    if row.has_rejects and not row.active:
        rejects = files.read_rejects(row.reject_path, REJECTS_SHOWN)
    template = "imports/_run.html" if is_htmx(request) else "imports/run.html"
    return render(request, template, {"row": row, "rejects": rejects})


@require(perms.IMPORT_DATA)
def import_rejects(request, run_id: int):
    """The run's own reject file, when it lies under the data directory; else 404."""
    run = _run_or_404(run_id)
    path = files.reject_path(run.reject_file)
    if path is None:
        raise Http404("this import has no reject file")
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=f"import-{run.pk}-rejects.csv",
        content_type="text/csv; charset=utf-8",
    )
