"""Forms of the promotions pages. They shape input into definitions; ``rules`` validates it
and its errors (named by JSON path) are shown on the field they belong to."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ecrm.promotions.models import RewardKind

DISCOUNT_KINDS = [
    ("percent", _("Percent off")),
    ("fixed", _("Amount off")),
    ("free_shipping", _("Free shipping")),
]
CODE_KINDS = [
    ("shared", _("One shared code (e.g. DOUBLE11)")),
    ("unique", _("Unique codes: issued to customers or generated in batches")),
]
STATUS_CHOICES = [
    ("placed", _("Placed")),
    ("paid", _("Paid")),
    ("shipped", _("Shipped")),
    ("delivered", _("Delivered")),
]

# JSON path of a definition error -> the form field showing it.
PATH_FIELDS = {
    "discount.kind": "discount_kind",
    "discount.value": "discount_value",
    "discount.max_discount": "max_discount",
    "target.segments": "segments",
    "target.tiers": "tiers",
    "target.new_customers_only": "new_customers_only",
}

_DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def field_for(path: str) -> str:
    base = path.split("[", 1)[0]
    return PATH_FIELDS.get(base, base)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    codes = forms.ChoiceField(label=_("Codes"), choices=CODE_KINDS, initial="shared")
    code = forms.CharField(
        label=_("Shared code"),
        required=False,
        max_length=40,
        help_text=_("Letters, digits, - and _; shoppers type it at checkout."),
    )
    discount_kind = forms.ChoiceField(label=_("Discount"), choices=DISCOUNT_KINDS)
    discount_value = forms.CharField(
        label=_("Value"),
        required=False,
        max_length=20,
        help_text=_("Percent (10 = 10% off) or an amount; empty for free shipping."),
    )
    max_discount = forms.CharField(
        label=_("Largest discount"), required=False, max_length=20, help_text=_("Optional cap.")
    )
    min_spend = forms.CharField(label=_("Minimum spend"), required=False, max_length=20)
    currency = forms.CharField(label=_("Currency"), max_length=3)
    uses_per_code = forms.IntegerField(
        label=_("Uses per code"), required=False, min_value=1, help_text=_("Unique codes only.")
    )
    limit_total = forms.IntegerField(
        label=_("Total uses allowed"), required=False, min_value=1, help_text=_("Empty: no limit.")
    )
    limit_per_customer = forms.IntegerField(
        label=_("Uses per customer"), required=False, min_value=1, help_text=_("Empty: no limit.")
    )
    budget = forms.CharField(
        label=_("Budget"),
        required=False,
        max_length=20,
        help_text=_("Most discount money the campaign may give; empty: no limit."),
    )
    starts_at = forms.DateTimeField(label=_("Starts"), required=False, widget=_DT)
    ends_at = forms.DateTimeField(label=_("Ends"), required=False, widget=_DT)
    valid_days = forms.IntegerField(
        label=_("Valid days after issue"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("Issued coupons expire this many days after issue."),
    )
    segments = forms.TypedMultipleChoiceField(
        label=_("Only for segments"),
        required=False,
        coerce=int,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    tiers = forms.MultipleChoiceField(
        label=_("Only for tiers"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    new_customers_only = forms.BooleanField(label=_("First order only"), required=False)

    def __init__(self, *args, segments=(), tiers=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segments"].choices = list(segments)
        self.fields["tiers"].choices = list(tiers)
        if not self.is_bound and not self.initial.get("currency"):
            self.initial["currency"] = settings.ECRM["CURRENCY"]
        if editing:
            self.fields["codes"].disabled = True
            self.fields["code"].disabled = True

    def definition(self) -> dict:
        d = self.cleaned_data

        def blank(value):
            return None if value in ("", None) else value

        def stamp(value):
            return value.isoformat() if value else None

        return {
            "version": 1,
            "discount": {
                "kind": d["discount_kind"],
                "value": blank(d["discount_value"].strip()),
                "max_discount": blank(d["max_discount"].strip()),
            },
            "min_spend": blank(d["min_spend"].strip()),
            "currency": d["currency"].strip().upper(),
            "codes": d["codes"],
            "uses_per_code": d["uses_per_code"],
            "limit_total": d["limit_total"],
            "limit_per_customer": d["limit_per_customer"],
            "budget": blank(d["budget"].strip()),
            "starts_at": stamp(d["starts_at"]),
            "ends_at": stamp(d["ends_at"]),
            "valid_days": d["valid_days"],
            "target": {
                "segments": list(d["segments"]),
                "tiers": list(d["tiers"]),
                "new_customers_only": d["new_customers_only"],
            },
        }

    @staticmethod
    def initial_from(campaign, code: str | None) -> dict:
        raw = campaign.definition
        d = raw.get("discount", {})
        target = raw.get("target") or {}

        def parse(value):
            if not value:
                return None
            import datetime as dt

            from django.utils import timezone

            return timezone.localtime(dt.datetime.fromisoformat(value))

        return {
            "name": campaign.name,
            "description": campaign.description,
            "codes": raw.get("codes", "shared"),
            "code": code or "",
            "discount_kind": d.get("kind"),
            "discount_value": d.get("value") or "",
            "max_discount": d.get("max_discount") or "",
            "min_spend": raw.get("min_spend") or "",
            "currency": raw.get("currency"),
            "uses_per_code": raw.get("uses_per_code"),
            "limit_total": raw.get("limit_total"),
            "limit_per_customer": raw.get("limit_per_customer"),
            "budget": raw.get("budget") or "",
            "starts_at": parse(raw.get("starts_at")),
            "ends_at": parse(raw.get("ends_at")),
            "valid_days": raw.get("valid_days"),
            "segments": target.get("segments", []),
            "tiers": target.get("tiers", []),
            "new_customers_only": target.get("new_customers_only", False),
        }


class CodesForm(forms.Form):
    count = forms.IntegerField(label=_("How many"), min_value=1, max_value=100_000)
    prefix = forms.CharField(label=_("Prefix"), required=False, max_length=10)


class IssueForm(forms.Form):
    customer_id = forms.IntegerField(label=_("Customer id"), required=False, min_value=1)
    segment_id = forms.TypedChoiceField(
        label=_("Or every member of segment"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment_id"].choices = [("", "—"), *segments]

    def clean(self):
        data = super().clean()
        if (data.get("customer_id") is None) == (data.get("segment_id") is None):
            raise forms.ValidationError(_("Give a customer id or pick a segment, not both."))
        return data


class RewardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=RewardKind.choices)
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=10_000_000)
    campaign_id = forms.TypedChoiceField(
        label=_("Coupon campaign"), required=False, coerce=int, empty_value=None
    )
    gift_sku = forms.CharField(label=_("Gift SKU"), required=False, max_length=80)
    stock = forms.IntegerField(
        label=_("Stock"), required=False, min_value=0, help_text=_("Empty: unlimited.")
    )
    active = forms.BooleanField(label=_("Offered"), required=False, initial=True)

    def __init__(self, *args, campaigns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign_id"].choices = [("", "—"), *campaigns]


class ProgrammeForm(forms.Form):
    referrer_points = forms.IntegerField(label=_("Points for the referrer"), min_value=0)
    referee_points = forms.IntegerField(label=_("Points for the new customer"), min_value=0)
    min_order_total = forms.CharField(label=_("Qualifying order total from"), max_length=20)
    qualifying_statuses = forms.MultipleChoiceField(
        label=_("Order counts once it is"),
        choices=STATUS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    landing_url = forms.CharField(
        label=_("Landing page"),
        max_length=500,
        help_text=_("Where /r/<code> sends visitors; ?ref=<code> is added."),
    )
    cookie_days = forms.IntegerField(label=_("Remember the code for days"), min_value=1)

    def definition(self) -> dict:
        return {"version": 1, **self.cleaned_data}
