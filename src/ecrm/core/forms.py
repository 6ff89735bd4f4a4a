"""Form pieces the domains' console pages share."""

from __future__ import annotations

from django import forms


class DateInput(forms.DateInput):
    """A browser date picker. Its value must be ISO 8601 (``2001-01-15``) whatever the
    console's language: Chinese formats dates as ``2001/01/15``, which the browser rejects,
    showing an empty field that a save would then store."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")
