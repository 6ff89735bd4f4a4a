"""Forms of the customer pages. They only shape input; the services validate it."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ecrm.core.forms import DateInput
from ecrm.core.messages import json_problem
from ecrm.core.text import NotFinite, load_json
from ecrm.customers.models import Gender
from ecrm.customers.rules import PROFILE_FIELDS

# Every profile field but the registration time, which records a past event.
EDITABLE = tuple(f for f in PROFILE_FIELDS if f != "registered_at")


class ProfileForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), required=False, max_length=200)
    email = forms.CharField(label=_("Email"), required=False, max_length=254)
    phone = forms.CharField(
        label=_("Mobile"),
        required=False,
        max_length=40,
        help_text=_("Mainland numbers may omit +86."),
    )
    gender = forms.ChoiceField(label=_("Gender"), required=False, choices=Gender.choices)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DateInput())
    country = forms.CharField(label=_("Country"), required=False, max_length=60)
    province = forms.CharField(label=_("Province"), required=False, max_length=60)
    city = forms.CharField(label=_("City"), required=False, max_length=60)
    registration_channel = forms.CharField(
        label=_("Registration channel"), required=False, max_length=40
    )
    attributes = forms.CharField(
        label=_("Custom attributes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            'A JSON object, e.g. {"vip_level": "gold"}. Keys given here are added or replaced.'
        ),
    )

    def clean_attributes(self) -> dict:
        raw = (self.cleaned_data.get("attributes") or "").strip()
        if not raw:
            return {}
        try:
            value = load_json(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON: %(error)s") % {"error": json_problem(exc)}
            ) from exc
        except NotFinite as exc:
            raise forms.ValidationError(
                _("%(value)s is not a number that can be stored.") % {"value": exc.literal}
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Custom attributes must be a JSON object."))
        return value

    def changes(self) -> dict:
        return {key: self.cleaned_data.get(key) for key in EDITABLE}
