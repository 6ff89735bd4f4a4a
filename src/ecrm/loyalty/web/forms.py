"""Console forms: a structured rule editor, the programme settings, a staff adjustment.

Forms only turn fields into the JSON definition ``rules`` validates; a ``LoyaltyError``
from the services is put back on the form field its JSON path names.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from ecrm.core.forms import DateInput, split_list
from ecrm.loyalty import rules

EVENT_CHOICES = [
    ("order_completed", _("Order completed")),
    ("review_written", _("Review written")),
    ("daily_sign_in", _("Daily sign-in")),
    ("survey_answered", _("Survey answered")),
    ("activity_joined", _("Campaign or activity joined")),
    ("referral", _("Referral")),
]
AWARD_CHOICES = [
    ("per_amount", _("Points per amount spent")),
    ("fixed", _("Fixed points")),
    ("multiplier", _("Multiply the points")),
]
BASIS_CHOICES = [("order", _("the order total")), ("matching_lines", _("the matching products"))]
PERIOD_CHOICES = [
    ("day", _("day")),
    ("week", _("week")),
    ("month", _("month")),
    ("year", _("year")),
    ("ever", _("membership")),
]
NTH_PERIOD_CHOICES = [c for c in PERIOD_CHOICES if c[0] != "day"]
WEEKDAY_CHOICES = [
    (1, _("Mon")),
    (2, _("Tue")),
    (3, _("Wed")),
    (4, _("Thu")),
    (5, _("Fri")),
    (6, _("Sat")),
    (7, _("Sun")),
]
SPECIAL_CHOICES = [
    ("", _("anyone")),
    ("yes", _("special members only")),
    ("no", _("everyone but special members")),
]

# JSON path of a refusal -> the form field it belongs to.
FIELD_OF = {
    "event": "event",
    "when.amount": "amount_min",
    "when.amount.min": "amount_min",
    "when.amount.max": "amount_max",
    "when.currencies": "currencies",
    "when.products": "products",
    "when.categories": "categories",
    "when.brands": "brands",
    "when.dates": "dates",
    "when.date_range": "date_from",
    "when.date_range.from": "date_from",
    "when.date_range.to": "date_to",
    "when.weekdays": "weekdays",
    "when.birthday_month": "birthday_month",
    "when.festivals": "festivals",
    "when.tiers": "tiers",
    "when.tenure_years": "tenure_min",
    "when.tenure_years.min": "tenure_min",
    "when.tenure_years.max": "tenure_max",
    "when.special": "special",
    "when.segments": "segments",
    "when.nth_order": "nth_n",
    "when.nth_order.n": "nth_n",
    "when.nth_order.period": "nth_period",
    "award": "award_type",
    "award.type": "award_type",
    "award.points": "award_points",
    "award.per": "award_per",
    "award.basis": "award_basis",
    "award.factor": "award_factor",
    "cap": "cap_points",
    "cap.points": "cap_points",
    "cap.period": "cap_period",
    "priority": "priority",
    "group": "group",
    "exclusive": "exclusive",
    "name": "name",
}


def field_for(path: str) -> str | None:
    """The form field of a JSON path such as ``when.dates[2]``."""
    base = path.split("[", 1)[0]
    return FIELD_OF.get(base)


def _refused_as_invalid(check, value):
    """``check(value)`` of ``rules``, its LoyaltyError as the field's error."""
    try:
        return check(value, "")
    except rules.LoyaltyError as exc:
        raise forms.ValidationError(exc.text.localized(with_subject=False)) from None


def _number(value):
    """A Decimal from the form as JSON: whole numbers as int, others as text."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else str(value)


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    event = forms.ChoiceField(label=_("When"), choices=EVENT_CHOICES)
    amount_min = forms.DecimalField(label=_("Order amount from"), required=False, min_value=0)
    amount_max = forms.DecimalField(label=_("Order amount up to"), required=False, min_value=0)
    currencies = forms.CharField(
        label=_("Currencies"), required=False, help_text=_("e.g. CNY; empty: any")
    )
    products = forms.CharField(label=_("Products (SKUs)"), required=False)
    categories = forms.CharField(
        label=_("Categories (codes, with their subcategories)"),
        required=False,
        help_text=_("e.g. 母婴, 家电/冰箱"),
    )
    brands = forms.CharField(label=_("Brands"), required=False)
    dates = forms.CharField(
        label=_("On these dates"), required=False, help_text=_("YYYY-MM-DD, separated by commas")
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Until"), required=False, widget=DateInput())
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    birthday_month = forms.BooleanField(label=_("In the member's birthday month"), required=False)
    festivals = forms.MultipleChoiceField(
        label=_("During shop festivals"), required=False, widget=forms.CheckboxSelectMultiple
    )
    tiers = forms.MultipleChoiceField(
        label=_("Member tiers"), required=False, widget=forms.CheckboxSelectMultiple
    )
    tenure_min = forms.IntegerField(
        label=_("Member for at least (years)"), required=False, min_value=0
    )
    tenure_max = forms.IntegerField(
        label=_("Member for at most (years)"), required=False, min_value=0
    )
    special = forms.ChoiceField(label=_("Special members"), choices=SPECIAL_CHOICES, required=False)
    segments = forms.TypedMultipleChoiceField(
        label=_("Members of the segments"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    nth_n = forms.IntegerField(
        label=_("Only the member's order number"), required=False, min_value=1
    )
    nth_period = forms.ChoiceField(
        label=_("counted per"), choices=NTH_PERIOD_CHOICES, initial="ever", required=False
    )
    award_type = forms.ChoiceField(label=_("Award"), choices=AWARD_CHOICES)
    award_points = forms.IntegerField(label=_("Points"), required=False, min_value=1)
    award_per = forms.DecimalField(
        label=_("per amount spent"), required=False, initial=1, min_value=rules.MIN_PER
    )
    award_basis = forms.ChoiceField(label=_("counting"), choices=BASIS_CHOICES, required=False)
    award_factor = forms.DecimalField(label=_("Multiply by"), required=False, min_value=0)
    cap_points = forms.IntegerField(
        label=_("At most (points per member)"), required=False, min_value=1
    )
    cap_period = forms.ChoiceField(
        label=_("per"), choices=PERIOD_CHOICES, initial="month", required=False
    )
    priority = forms.IntegerField(
        label=_("Priority"), initial=0, help_text=_("higher is tried first")
    )
    group = forms.CharField(
        label=_("Exclusion group"),
        required=False,
        max_length=40,
        help_text=_("of rules in one group only the highest-priority one that fires applies"),
    )
    exclusive = forms.BooleanField(
        label=_("Exclusive: no lower-priority rule applies with it"), required=False
    )

    def __init__(self, *args, festivals=(), tiers=(), segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segments"].choices = list(segments)
        self.fields["festivals"].choices = [(f.code, f.name) for f in festivals]
        self.fields["tiers"].choices = [(t.code, t.name) for t in tiers]

    def definition(self) -> dict:
        """The JSON definition of the cleaned form (validated by the service)."""
        d = self.cleaned_data
        when: dict = {}
        if d.get("amount_min") is not None or d.get("amount_max") is not None:
            when["amount"] = {}
            if d.get("amount_min") is not None:
                when["amount"]["min"] = _number(d["amount_min"])
            if d.get("amount_max") is not None:
                when["amount"]["max"] = _number(d["amount_max"])
        for key in ("currencies", "products", "categories", "brands", "dates"):
            items = split_list(d.get(key) or "")
            if items:
                when[key] = [i.upper() for i in items] if key == "currencies" else items
        if d.get("date_from") or d.get("date_to"):
            when["date_range"] = {}
            if d.get("date_from"):
                when["date_range"]["from"] = d["date_from"].isoformat()
            if d.get("date_to"):
                when["date_range"]["to"] = d["date_to"].isoformat()
        if d.get("weekdays"):
            when["weekdays"] = sorted(d["weekdays"])
        if d.get("birthday_month"):
            when["birthday_month"] = True
        if d.get("festivals"):
            when["festivals"] = list(d["festivals"])
        if d.get("tiers"):
            when["tiers"] = list(d["tiers"])
        if d.get("tenure_min") is not None or d.get("tenure_max") is not None:
            when["tenure_years"] = {}
            if d.get("tenure_min") is not None:
                when["tenure_years"]["min"] = d["tenure_min"]
            if d.get("tenure_max") is not None:
                when["tenure_years"]["max"] = d["tenure_max"]
        if d.get("special") in ("yes", "no"):
            when["special"] = d["special"] == "yes"
        if d.get("segments"):
            when["segments"] = sorted(d["segments"])
        if d.get("nth_n"):
            when["nth_order"] = {"n": d["nth_n"], "period": d.get("nth_period") or "ever"}
        kind = d["award_type"]
        if kind == "per_amount":
            award = {
                "type": kind,
                "points": d.get("award_points"),
                "per": 1 if d.get("award_per") is None else _number(d["award_per"]),
                "basis": d.get("award_basis") or "order",
            }
        elif kind == "fixed":
            award = {"type": kind, "points": d.get("award_points")}
        else:
            award = {"type": kind, "factor": _number(d.get("award_factor"))}
        definition: dict = {"version": rules.SCHEMA_VERSION, "event": d["event"]}
        if when:
            definition["when"] = when
        definition["award"] = award
        if d.get("cap_points"):
            definition["cap"] = {
                "points": d["cap_points"],
                "period": d.get("cap_period") or "month",
            }
        definition["priority"] = d.get("priority") or 0
        if d.get("group"):
            definition["group"] = d["group"].strip()
        if d.get("exclusive"):
            definition["exclusive"] = True
        return definition

    @classmethod
    def initial_from(cls, name: str, description: str, active: bool, definition: dict) -> dict:
        when = definition.get("when", {})
        award = definition.get("award", {})
        cap = definition.get("cap") or {}
        amount = when.get("amount", {})
        tenure = when.get("tenure_years", {})
        rng = when.get("date_range", {})
        nth = when.get("nth_order", {})
        special = when.get("special")
        return {
            "name": name,
            "description": description,
            "active": active,
            "event": definition.get("event"),
            "amount_min": amount.get("min"),
            "amount_max": amount.get("max"),
            "currencies": ", ".join(when.get("currencies", [])),
            "products": ", ".join(when.get("products", [])),
            "categories": ", ".join(when.get("categories", [])),
            "brands": ", ".join(when.get("brands", [])),
            "dates": ", ".join(when.get("dates", [])),
            "date_from": rng.get("from"),
            "date_to": rng.get("to"),
            "weekdays": when.get("weekdays", []),
            "birthday_month": when.get("birthday_month", False),
            "festivals": when.get("festivals", []),
            "tiers": when.get("tiers", []),
            "tenure_min": tenure.get("min"),
            "tenure_max": tenure.get("max"),
            "special": "" if special is None else ("yes" if special else "no"),
            "segments": when.get("segments", []),
            "nth_n": nth.get("n"),
            "nth_period": nth.get("period", "ever"),
            "award_type": award.get("type"),
            "award_points": award.get("points"),
            "award_per": award.get("per", 1),
            "award_basis": award.get("basis", "order"),
            "award_factor": award.get("factor"),
            "cap_points": cap.get("points"),
            "cap_period": cap.get("period", "month"),
            "priority": definition.get("priority", 0),
            "group": definition.get("group", ""),
            "exclusive": definition.get("exclusive", False),
        }


class SettingsForm(forms.Form):
    name = forms.CharField(label=_("Programme name"), max_length=120)
    join = forms.ChoiceField(
        label=_("Customers join"),
        choices=[
            ("first_order", _("automatically with their first paid order")),
            ("explicit", _("only when they sign up (or staff enrol them)")),
        ],
    )
    earn_on = forms.ChoiceField(
        label=_("Orders earn when"),
        choices=[
            ("paid", _("paid (paid, shipped or delivered)")),
            ("delivered", _("delivered")),
        ],
    )
    starts_on = forms.DateField(
        label=_("Launched on (earlier orders earn nothing)"),
        required=False,
        widget=DateInput(),
    )
    point_value = forms.DecimalField(
        label=_("Value of one point at checkout"), min_value=0, decimal_places=4
    )
    expiry_days = forms.IntegerField(label=_("Points expire after (days, 0 = never)"), min_value=0)
    expiring_soon_days = forms.IntegerField(
        label=_("“Expiring soon” means within (days)"), min_value=1
    )
    max_redeem_percent = forms.IntegerField(
        label=_("Points may pay at most (percent of an order)"), min_value=0, max_value=100
    )
    min_redeem_points = forms.IntegerField(label=_("Smallest redemption (points)"), min_value=0)
    tier_metric = forms.ChoiceField(
        label=_("Tiers qualify on"),
        choices=[("spend", _("net spend")), ("points", _("points earned"))],
    )
    tier_window_days = forms.IntegerField(label=_("over the last (days)"), min_value=1)
    tier_grace_days = forms.IntegerField(
        label=_("Downgrade after a grace period of (days)"), min_value=0
    )
    special_label = forms.CharField(label=_("Name of the special-member flag"), max_length=40)
    festivals = forms.CharField(
        label=_("Shop festivals"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "one per line: code | name | days (MM-DD every year, YYYY-MM-DD once, "
            "ranges A..B), e.g. double11 | 双十一 | 11-11"
        ),
    )
    event_names = forms.CharField(
        label=_("Tracked events that count as activities"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("one activity per line: activity: event name, event name"),
    )

    FIELD_OF = {"festivals": "festivals", "event_names": "event_names"}

    def clean_event_names(self) -> dict[str, list[str]]:
        """Activity -> event names, a line each; a line without the colon is refused."""
        names = {}
        for i, line in enumerate(self.cleaned_data["event_names"].splitlines(), 1):
            if not line.strip():
                continue
            kind, colon, listed = line.replace("：", ":").partition(":")
            if not colon:
                raise forms.ValidationError(
                    _("line %(n)s: %(text)s has no colon; write activity: event name, event name")
                    % {"n": i, "text": repr(line.strip())}
                )
            names[kind.strip()] = split_list(listed)
        return names

    def settings_json(self) -> dict:
        d = self.cleaned_data
        festivals = []
        for line in (d.get("festivals") or "").splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            while len(parts) < 3:
                parts.append("")
            festivals.append({"code": parts[0], "name": parts[1], "days": split_list(parts[2])})
        return {
            "join": d["join"],
            "starts_on": d["starts_on"].isoformat() if d.get("starts_on") else None,
            "earn_on": d["earn_on"],
            "point_value": str(d["point_value"]),
            "expiry_days": d["expiry_days"],
            "expiring_soon_days": d["expiring_soon_days"],
            "max_redeem_percent": d["max_redeem_percent"],
            "min_redeem_points": d["min_redeem_points"],
            "tier_metric": d["tier_metric"],
            "tier_window_days": d["tier_window_days"],
            "tier_grace_days": d["tier_grace_days"],
            "special_label": d["special_label"],
            "festivals": festivals,
            "event_names": d["event_names"],
        }

    @classmethod
    def initial_from(cls, name: str, settings: rules.Settings) -> dict:
        data = settings.as_json()
        data["name"] = name
        data["festivals"] = "\n".join(
            f"{f['code']} | {f['name']} | {', '.join(f['days'])}" for f in data["festivals"]
        )
        data["event_names"] = "\n".join(
            f"{k}: {', '.join(v)}" for k, v in data["event_names"].items()
        )
        return data


class AdjustForm(forms.Form):
    points = forms.IntegerField(label=_("Points (negative to take away)"))
    reason = forms.CharField(label=_("Reason"), max_length=300)


class SimulateForm(forms.Form):
    customer_id = forms.IntegerField(label=_("Customer #"), min_value=1)
    event = forms.ChoiceField(label=_("What happens"), choices=EVENT_CHOICES)
    order_number = forms.CharField(label=_("An existing order number"), required=False)
    date = forms.DateField(label=_("Date"), required=False, widget=DateInput())
    amount = forms.DecimalField(label=_("Order amount"), required=False, min_value=0)
    currency = forms.CharField(label=_("Currency"), initial="CNY", max_length=3)
    lines = forms.CharField(
        label=_("Products"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("one per line: SKU amount, e.g. P-1001 199.00"),
    )

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        return None if amount is None else _refused_as_invalid(rules.order_amount, amount)

    def clean_currency(self):
        return _refused_as_invalid(rules.currency_code, self.cleaned_data["currency"])

    def line_list(self) -> list[dict]:
        out = []
        for i, raw in enumerate((self.cleaned_data.get("lines") or "").splitlines(), 1):
            parts = raw.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise forms.ValidationError(_("line %(n)s: write SKU and amount") % {"n": i})
            try:
                out.append({"sku": parts[0], "amount": rules.order_amount(parts[1], "lines")})
            except rules.LoyaltyError as exc:
                raise forms.ValidationError(
                    _("line %(n)s: %(reason)s")
                    % {"n": i, "reason": exc.text.localized(with_subject=False)}
                ) from None
        return out


class TierRowForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40, required=False)
    name = forms.CharField(label=_("Name"), max_length=80, required=False)
    threshold = forms.DecimalField(label=_("Qualifies from"), required=False, min_value=0)
    multiplier = forms.DecimalField(label=_("Earning ×"), required=False, min_value=1)
    discount_percent = forms.DecimalField(label=_("Discount %"), required=False, min_value=0)
    description = forms.CharField(label=_("Benefits"), max_length=300, required=False)

    def clean(self):
        """A row with a code is a tier: it needs a name and a threshold."""
        data = super().clean()
        if data.get("code"):
            for name in ("name", "threshold"):
                if name not in self.errors and data.get(name) in (None, ""):
                    self.add_error(name, self.fields[name].error_messages["required"])
        return data


# A refusal of ``rules.validate_tiers`` about one tier's field, e.g. ``tiers[1].threshold``.
TIER_FIELD = re.compile(r"tiers\[(\d+)\]\.(\w+)")


class BaseTierFormSet(forms.BaseFormSet):
    """The ladder's rows, lowest first. A saved tier whose code is cleared is removed; a
    new row needs a code unless it is left entirely empty."""

    def clean(self):
        for form in self.forms[self.initial_form_count() :]:
            data = getattr(form, "cleaned_data", {})
            if not data.get("code") and any(v not in (None, "") for v in data.values()):
                form.add_error("code", form.fields["code"].error_messages["required"])

    def _tier_rows(self) -> list[TierRowForm]:
        return [f for f in self.forms if f.cleaned_data.get("code")]

    def ladder(self) -> list[dict]:
        """The rows with a code as the JSON ``rules.validate_tiers`` reads."""
        return [
            {
                k: str(v) if isinstance(v, Decimal) else v
                for k, v in f.cleaned_data.items()
                if v not in (None, "")
            }
            for f in self._tier_rows()
        ]

    def add_ladder_error(self, exc: rules.LoyaltyError) -> None:
        """A refusal of the ladder on the row and field its path names (tier 2 of the
        ladder is the second row with a code), else above the table; never the path."""
        text = exc.text.localized(with_subject=False)
        found = TIER_FIELD.fullmatch(exc.field)
        rows = self._tier_rows()
        if found and int(found[1]) < len(rows) and found[2] in TierRowForm.base_fields:
            rows[int(found[1])].add_error(found[2], text)
        else:
            self._non_form_errors = self.error_class([text])


TierFormSet = forms.formset_factory(TierRowForm, BaseTierFormSet, extra=2, max_num=12)
