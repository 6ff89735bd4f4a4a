"""The upload form of the imports page: it checks the input, the importer does the rest."""

from __future__ import annotations

import json
from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from ecrm.core.messages import json_problem
from ecrm.imports import api as imports
from ecrm.imports import rules

UPLOADED = ":file"  # the mapping choice "a file I upload"; no built-in name starts with ":"
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json")
MAPPING_LIMIT = 256 * 1024
KIND_LABELS = {
    "customers": _("Customers"),
    "products": _("Products"),
    "orders": _("Orders"),
}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("The file holds"), choices=[(k, KIND_LABELS[k]) for k in imports.KINDS]
    )
    mapping = forms.ChoiceField(
        label=_("Mapping"),
        required=False,
        help_text=_("How the file's columns map to eCRM fields; see docs/IMPORT.md."),
    )
    mapping_file = forms.FileField(
        label=_("Mapping file"),
        required=False,
        help_text=_("A mapping you wrote, as JSON."),
    )
    data_file = forms.FileField(
        label=_("Data file"),
        help_text=_("CSV or JSON Lines, plain or gzip-compressed (.gz)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mapping"].choices = [
            ("", _("None: the columns are named like eCRM fields")),
            *[(name, name) for name in imports.builtin_mappings()],
            (UPLOADED, _("A mapping file I upload")),
        ]

    def clean_data_file(self):
        upload = self.cleaned_data["data_file"]
        name = upload.name.lower().removesuffix(".gz")
        if not name.endswith(DATA_SUFFIXES):
            raise forms.ValidationError(
                _("%(name)s is neither CSV nor JSON Lines (.csv, .jsonl, optionally .gz).")
                % {"name": Path(upload.name).name}
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if not kind:
            return cleaned
        choice = cleaned.get("mapping") or ""
        upload = cleaned.get("mapping_file")
        if upload is not None and choice not in ("", UPLOADED):
            self.add_error(
                "mapping_file",
                _("Choose “A mapping file I upload” under Mapping to use this file."),
            )
        elif upload is not None:
            cleaned["mapping"] = UPLOADED
            self._check_mapping_file(upload, kind)
        elif choice == UPLOADED:
            self.add_error("mapping_file", _("Choose the mapping file to upload."))
        elif choice:
            try:
                imports.load_mapping(choice, kind)
            except imports.MappingError as exc:
                self.add_error("mapping", exc.text.localized())
        return cleaned

    def _check_mapping_file(self, upload, kind: str) -> None:
        """The same checks ``load_mapping`` makes, on the upload before it is stored."""
        raw = upload.read(MAPPING_LIMIT + 1)
        upload.seek(0)
        if len(raw) > MAPPING_LIMIT:
            self.add_error("mapping_file", _("A mapping file may not exceed 256 KB."))
            return
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            self.add_error("mapping_file", _("The mapping file is not UTF-8 text."))
            return
        except json.JSONDecodeError as exc:
            self.add_error(
                "mapping_file",
                _("Not valid JSON: %(error)s at line %(line)s, column %(column)s.")
                % {"error": json_problem(exc), "line": exc.lineno, "column": exc.colno},
            )
            return
        try:
            rules.parse_mapping(data, kind=kind, name=Path(upload.name).stem)
        except imports.MappingError as exc:
            self.add_error("mapping_file", exc.text.localized())
