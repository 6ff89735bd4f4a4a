"""The form staff use to log an interaction with a customer."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ecrm.contacts.models import ContactChannel, Direction


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices)
    summary = forms.CharField(
        label=_("Summary"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
