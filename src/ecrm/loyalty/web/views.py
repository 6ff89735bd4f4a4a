"""Loyalty pages of the console: the programme (settings, tiers, switch), earning rules
with a structured editor and their versions, the simulator, members and a member's
ledger with staff adjustments. Views validate forms and call ``services``; refusals come
back on the field they name."""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from ecrm.console.web.access import actor, allowed, int_param, require
from ecrm.customers.models import Customer
from ecrm.loyalty import queries, rules, services
from ecrm.loyalty.models import EarningRule, EntryKind, Membership
from ecrm.loyalty.web.forms import (
    AdjustForm,
    RuleForm,
    SettingsForm,
    SimulateForm,
    TierFormSet,
    field_for,
)
from ecrm.staff import rules as perms

# The console's navigation (console/base.html) names these pages; translated here.
NAV_LABELS = (
    gettext_noop("Loyalty"),
    gettext_noop("Points programme"),
    gettext_noop("Member list"),
)


def _error_on(form, exc: rules.LoyaltyError, fallback: str | None = None) -> None:
    """A refusal of the rules on the form field its JSON path names, without the path
    (``when.amount.max``) a person never typed: an item of a list by its position."""
    name = field_for(exc.field) if hasattr(form, "definition") else None
    top = exc.field.split("[", 1)[0].split(".", 1)[0]
    if name is None and top in form.fields:
        name = top
    if name is None:
        form.add_error(fallback, exc.text.localized())
        return
    reason = exc.text.localized(with_subject=False)
    item = re.search(r"\[(\d+)\]", exc.field)
    if item:
        reason = _("item %(n)s: %(reason)s") % {"n": int(item[1]) + 1, "reason": reason}
    form.add_error(name, reason)


@require(perms.VIEW_CUSTOMERS)
def programme(request):
    setup = queries.setup()
    row = queries.programme_row()
    can_edit = allowed(request.user, perms.MANAGE_LOYALTY)
    form = SettingsForm(initial=SettingsForm.initial_from(row.name, setup.settings))
    tiers = TierFormSet(
        prefix="tiers",
        initial=[
            {
                "code": t.code,
                "name": t.name,
                "threshold": t.threshold,
                "multiplier": t.multiplier,
                "discount_percent": t.discount_percent,
                "description": t.description,
            }
            for t in setup.tiers
        ],
    )
    if request.method == "POST":
        if not can_edit:
            raise Http404
        what = request.POST.get("what")
        if what == "switch":
            services.save_programme(actor=actor(request), enabled=request.POST.get("on") == "1")
            messages.success(
                request,
                _("The programme is switched on.")
                if request.POST.get("on") == "1"
                else _("The programme is switched off."),
            )
            return redirect("console:loyalty")
        if what == "settings":
            form = SettingsForm(request.POST)
            if form.is_valid():
                try:
                    services.save_programme(
                        actor=actor(request),
                        settings=form.settings_json(),
                        name=form.cleaned_data["name"],
                    )
                    messages.success(request, _("Settings saved."))
                    return redirect("console:loyalty")
                except rules.LoyaltyError as exc:
                    _error_on(form, exc)
        if what == "tiers":
            tiers = TierFormSet(request.POST, prefix="tiers")
            if tiers.is_valid():
                try:
                    services.save_tiers(tiers.ladder(), actor=actor(request))
                    messages.success(request, _("Tiers saved."))
                    return redirect("console:loyalty")
                except rules.LoyaltyError as exc:
                    tiers.add_ladder_error(exc)
    counts = queries.member_counts()
    totals = queries.ledger_totals()
    return render(
        request,
        "loyalty/programme.html",
        {
            "row": row,
            "setup": setup,
            "form": form,
            "tiers": tiers,
            "can_edit": can_edit,
            "counts": counts,
            "tier_rows": [(t, counts["by_tier"].get(t.code, 0)) for t in setup.tiers],
            "issued": totals.get("earn", 0) + totals.get("adjust", 0) if totals else 0,
            "totals": {k: abs(v or 0) for k, v in totals.items()},
            "active_rules": len(setup.rules),
            "outstanding_value": counts["points"] * setup.settings.point_value,
        },
    )


@require(perms.VIEW_CUSTOMERS)
def rule_list(request):
    setup = queries.setup()
    names = setup.tier_names()
    segments = queries.segment_names()
    rows = []
    for row in EarningRule.objects.order_by("-active", "name"):
        try:
            text = rules.describe_rule(queries.rule_of(row), setup.settings, names, segments)
        except rules.LoyaltyError as exc:  # a festival or tier since removed
            text = exc.text.localized()
        rows.append({"row": row, "text": text})
    return render(request, "loyalty/rules.html", {"rows": rows, "setup": setup})


@require(perms.VIEW_CUSTOMERS)
def rule_edit(request, rule_id: int | None = None):
    setup = queries.setup()
    row = get_object_or_404(EarningRule, pk=rule_id) if rule_id else None
    can_edit = allowed(request.user, perms.MANAGE_LOYALTY)
    kwargs = {
        "festivals": setup.settings.festivals,
        "tiers": setup.tiers,
        "segments": sorted(queries.segment_names().items(), key=lambda x: x[1]),
    }
    if request.method == "POST":
        if not can_edit:
            raise Http404
        form = RuleForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                saved = services.save_rule(
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    definition=form.definition(),
                    active=form.cleaned_data["active"],
                    actor=actor(request),
                    rule_id=rule_id,
                )
                messages.success(request, _("Rule saved (version %(v)s).") % {"v": saved.version})
                return redirect("console:loyalty_rule", rule_id=saved.pk)
            except rules.LoyaltyError as exc:
                _error_on(form, exc, "name")
    elif row is not None:
        form = RuleForm(
            initial=RuleForm.initial_from(row.name, row.description, row.active, row.definition),
            **kwargs,
        )
    else:
        form = RuleForm(
            initial={
                "event": "order_completed",
                "award_type": "fixed",
                "active": True,
                "priority": 0,
            },
            **kwargs,
        )
    text = ""
    if row is not None:
        try:
            text = rules.describe_rule(
                queries.rule_of(row), setup.settings, setup.tier_names(), queries.segment_names()
            )
        except rules.LoyaltyError:
            text = ""
    return render(
        request,
        "loyalty/rule_edit.html",
        {
            "form": form,
            "row": row,
            "text": text,
            "can_edit": can_edit,
            "versions": row.versions.order_by("-version") if row else [],
        },
    )


@require(perms.VIEW_CUSTOMERS)
def simulator(request):
    form = SimulateForm(request.GET or None)
    sim = None
    if request.GET and form.is_valid():
        try:
            lines = form.line_list()
            sim = queries.simulate(
                customer_id=form.cleaned_data["customer_id"],
                event=form.cleaned_data["event"],
                day=form.cleaned_data.get("date"),
                amount=form.cleaned_data.get("amount"),
                currency=form.cleaned_data.get("currency") or "CNY",
                lines=lines,
                order_number=(form.cleaned_data.get("order_number") or "").strip(),
            )
        except rules.LoyaltyError as exc:
            _error_on(form, exc)
        except Exception as exc:  # a ValidationError from the lines
            from django.core.exceptions import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            form.add_error("lines", exc)
    return render(request, "loyalty/simulator.html", {"form": form, "sim": sim})


@require(perms.VIEW_CUSTOMERS)
def member_list(request):
    setup = queries.setup()
    tier = request.GET.get("tier", "")
    special = {"1": True, "0": False}.get(request.GET.get("special", ""))
    q = request.GET.get("q", "").strip()[:40]
    after = int_param(request, "after")
    rows = queries.members_page(tier=tier, special=special, after=after, q=q)
    names = setup.tier_names()
    for r in rows:
        r["tier_name"] = names.get(r["tier"], r["tier"])
    return render(
        request,
        "loyalty/members.html",
        {
            "rows": rows,
            "setup": setup,
            "tier": tier,
            "special": request.GET.get("special", ""),
            "q": q,
            "next": rows[-1]["customer_id"] if len(rows) == 50 else None,
            "counts": queries.member_counts(),
        },
    )


def _member_context(request, customer_id: int) -> dict:
    setup = queries.setup()
    m = queries.membership(customer_id)
    labels = dict(EntryKind.choices)
    history = queries.history(customer_id, 100)
    return {
        "member": m,
        "setup": setup,
        "balance": queries.ledger_balance(customer_id),
        "progress": queries.tier_progress(customer_id) if m else None,
        "expiring": queries.expiring(customer_id, setup.settings.expiring_soon_days),
        "history": [(e, labels.get(e.kind, e.kind)) for e in history],
        "changes": queries.tier_changes(customer_id) if m else [],
        "tier_names": setup.tier_names(),
        "can_adjust": allowed(request.user, perms.ADJUST_POINTS),
        "can_manage": allowed(request.user, perms.MANAGE_LOYALTY),
    }


@require(perms.VIEW_CUSTOMERS)
def member_detail(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    context = _member_context(request, customer_id)
    context.update(customer=customer, form=AdjustForm())
    return render(request, "loyalty/member.html", context)


@require(perms.ADJUST_POINTS)
@require_POST
def member_adjust(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            services.adjust_points(
                customer_id,
                form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                actor=actor(request),
            )
            messages.success(request, _("Points adjusted."))
            return redirect("console:loyalty_member", customer_id=customer_id)
        except rules.InsufficientPoints as exc:
            form.add_error("points", _("The member holds only %(b)s points.") % {"b": exc.balance})
        except rules.LoyaltyError as exc:
            form.add_error(
                exc.field if exc.field in form.fields else None,
                exc.text.localized(with_subject=False),
            )
    context = _member_context(request, customer_id)
    context.update(customer=customer, form=form)
    return render(request, "loyalty/member.html", context, status=400)


@require(perms.MANAGE_LOYALTY)
@require_POST
def member_flags(request, customer_id: int):
    get_object_or_404(Customer, pk=customer_id)
    what = request.POST.get("what")
    if what == "join":
        services.join(
            customer_id,
            actor=actor(request),
            channel="console",
            recruited_by=request.POST.get("recruited_by", "").strip(),
            store=request.POST.get("store", "").strip(),
        )
        services.reconcile_customers([customer_id])
        messages.success(request, _("The customer is now a member."))
    elif what == "special":
        get_object_or_404(Membership, pk=customer_id)
        services.set_special(customer_id, request.POST.get("on") == "1", actor=actor(request))
        messages.success(request, _("Special-member flag saved."))
    return redirect("console:loyalty_member", customer_id=customer_id)
