"""Where the console keeps uploaded import files, and which reject files it may hand out.

Uploads go to ``MEDIA_ROOT/imports/<uuid>-<safe name>``; a run's reject file is served
only when it lies under the data directory, so a run can never point the console at an
arbitrary file.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.utils.text import get_valid_filename

NAME_LIMIT = 60  # keeps a stored mapping path within ImportRun.mapping's 200 characters
STORED_PREFIX = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}-(?:mapping-)?")


def upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def safe_name(name: str) -> str:
    """The uploaded file's own name, without folders or odd characters; its ending kept."""
    base = Path(name.replace("\\", "/")).name[-NAME_LIMIT:]
    try:
        return get_valid_filename(base)
    except SuspiciousFileOperation:
        return "upload"


def display_name(stored: str) -> str:
    """The name a user knows a file by: no folders, no ``<uuid>-`` the upload was given."""
    return STORED_PREFIX.sub("", Path(stored).name)


def store_upload(upload, prefix: str) -> Path:
    """Write ``upload`` to ``<upload dir>/<prefix>-<safe name>`` and return that path."""
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}-{safe_name(upload.name)}"
    with open(path, "xb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


def reject_path(reject_file: str) -> Path | None:
    """The reject file as a path when it exists under the data directory, else None."""
    if not reject_file:
        return None
    root = Path(settings.ECRM["DATA_DIR"]).resolve()
    path = Path(reject_file).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


@dataclass(frozen=True)
class RejectPreview:
    """The first rows of a reject file: the file's own columns after line and reason."""

    columns: list[str]
    rows: list[tuple[str, str, list[str]]]  # (line, reason, the row's cells)
    more: bool  # the file holds more rows than shown


def read_rejects(path: Path, limit: int) -> RejectPreview:
    """The first ``limit`` rows of a reject file written by the importer (sorted by line)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, ["line", "reason"])
        rows = []
        for cells in reader:
            if len(rows) == limit:
                return RejectPreview(header[2:], rows, more=True)
            cells += [""] * (2 - len(cells))
            rows.append((cells[0], cells[1], cells[2:]))
    return RejectPreview(header[2:], rows, more=False)
