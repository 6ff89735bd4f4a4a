"""Form pieces the domains' console pages share."""

from __future__ import annotations

import re

from django import forms


def split_list(text: str) -> list[str]:
    """A list typed into one box: its items split at commas (also the full-width ，and 、
    that Chinese input methods type) and line ends, trimmed, empty ones left out."""
    return [part.strip() for part in re.split(r"[,，、\n]", text) if part.strip()]


class DateInput(forms.DateInput):
    """A browser date picker. Its value must be ISO 8601 (``2001-01-15``) whatever the
    console's language: Chinese formats dates as ``2001/01/15``, which the browser rejects,
    showing an empty field that a save would then store."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")
