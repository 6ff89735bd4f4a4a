"""Customer pages of the console: list and search, Customer 360, edit, consent, merge.

Views validate input and call ``ecrm.customers.api``; every write there is audited
with the signed-in user as the actor.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from ecrm.console import keyset
from ecrm.console.web.access import actor, allowed, int_param, is_htmx, require
from ecrm.contacts.web import queries as contact_queries
from ecrm.contacts.web.forms import ContactForm
from ecrm.customers import api as customers
from ecrm.customers import queries
from ecrm.customers.models import ConsentChannel, Customer, IdentityKind
from ecrm.customers.web import timeline as timelines
from ecrm.customers.web.forms import EDITABLE, ProfileForm
from ecrm.figures import api as figures
from ecrm.orders.web import queries as order_queries
from ecrm.staff import rules as perms

TABS = ("timeline", "orders", "returns", "contacts")
# Stored in English, shown translated (``{% translate merge.reason %}``).
CONSOLE_MERGE = gettext_noop("merged in the console")
PANEL_PAGE = 20


@require(perms.VIEW_CUSTOMERS)
def customer_list(request):
    q = request.GET.get("q", "").strip()[:200]
    after = int_param(request, "after")
    page = queries.search_customers(q, after=after, limit=queries.PAGE)
    context = {"q": q, "page": page, "after": after}
    if is_htmx(request) and request.headers.get("HX-Target") == "results":
        return render(request, "customers/_results.html", context)
    return render(request, "customers/list.html", context)


def _customer_or_404(customer_id: int) -> Customer:
    customer = queries.get_customer(customer_id)
    if customer is None:
        raise Http404("no such customer")
    return customer


def _follow_merge(request, customer: Customer):
    """A merged-away profile's page sends staff to the surviving one, with a notice."""
    survivor = customers.live_id(customer.pk)
    messages.info(
        request,
        _("Customer #%(source)s was merged into #%(target)s; showing the surviving profile.")
        % {"source": customer.pk, "target": survivor},
    )
    return redirect("console:customer", survivor)


def _panel(customer_id: int, tab: str, raw_cursor: str | None) -> dict:
    if tab == "timeline":
        items, nxt = timelines.timeline(
            customer_id, keyset.decode(raw_cursor, ranked=True), limit=timelines.PAGE
        )
        return {"items": items, "next_cursor": nxt}
    cursor = keyset.decode(raw_cursor)
    read = {
        "orders": order_queries.orders_of,
        "returns": order_queries.returns_of,
        "contacts": contact_queries.contacts_of,
    }[tab]
    field = {"orders": "placed_at", "returns": "returned_at", "contacts": "occurred_at"}[tab]
    rows = read(customer_id, before=cursor, limit=PANEL_PAGE + 1)
    nxt = None
    if len(rows) > PANEL_PAGE:
        rows = rows[:PANEL_PAGE]
        nxt = keyset.Cursor(at=getattr(rows[-1], field), pk=rows[-1].pk).encode()
    return {"rows": rows, "next_cursor": nxt}


def _consent_rows(customer_id: int) -> list[dict]:
    current = queries.consents_of(customer_id)
    return [
        {"channel": value, "label": label, "consent": current.get(value)}
        for value, label in ConsentChannel.choices
    ]


@require(perms.VIEW_CUSTOMERS)
def customer_detail(request, customer_id: int):
    customer = _customer_or_404(customer_id)
    if customer.merged_into_id is not None:
        return _follow_merge(request, customer)
    tab = request.GET.get("tab", "timeline")
    if tab not in TABS:
        tab = "timeline"
    panel = {"tab": tab, **_panel(customer.pk, tab, request.GET.get("before"))}
    if is_htmx(request) and request.headers.get("HX-Target") == "panel":
        return render(request, "customers/_panel.html", {"customer": customer, "panel": panel})
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "panel": panel,
            "tabs": [
                ("timeline", _("Timeline")),
                ("orders", _("Orders")),
                ("returns", _("Returns")),
                ("contacts", _("Contacts")),
            ],
            "identities": queries.identities_of(customer.pk),
            "consents": _consent_rows(customer.pk),
            "figures": figures.figures_of(customer.pk),
            "merges": queries.merges_of(customer.pk),
            "duplicates": queries.possible_duplicates(customer.pk),
            "contact_form": ContactForm(),
            "exclusive_kinds": [IdentityKind.ANONYMOUS_ID, IdentityKind.USER_ID],
        },
    )


@require(perms.EDIT_CUSTOMERS)
def customer_edit(request, customer_id: int):
    customer = _customer_or_404(customer_id)
    if customer.merged_into_id is not None:
        return _follow_merge(request, customer)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        form.is_valid()  # cleans every field
        # Every field's problem at once, not one per attempt; the service checks again.
        passed = {k: v for k, v in form.changes().items() if k in form.cleaned_data}
        for problem in customers.profile_problems(passed):
            _add_problem(form, problem)
        if form.is_valid():
            try:
                customers.update_profile(
                    customer.pk,
                    form.changes(),
                    actor=actor(request),
                    attributes=form.cleaned_data["attributes"] or None,
                )
            except customers.ProfileError as exc:
                _add_problem(form, exc)
            else:
                messages.success(request, _("Profile saved."))
                return redirect("console:customer", customer.pk)
    else:
        initial = {key: getattr(customer, key) for key in EDITABLE}
        form = ProfileForm(initial=initial)
    return render(request, "customers/edit.html", {"customer": customer, "form": form})


def _add_problem(form: ProfileForm, problem: customers.ProfileError) -> None:
    if problem.field in form.fields:
        form.add_error(problem.field, problem.text.localized(with_subject=False))
    else:
        form.add_error(None, problem.text.localized())


@require_POST
@require(perms.EDIT_CUSTOMERS)
def customer_consent(request, customer_id: int):
    customer = _customer_or_404(customer_id)
    try:
        customers.set_consent(
            customer.pk,
            request.POST.get("channel", ""),
            request.POST.get("status", ""),
            source="console",
            actor=actor(request),
        )
    except customers.ProfileError as exc:
        messages.error(request, exc.text.localized())
    if is_htmx(request):
        return render(
            request,
            "customers/_consents.html",
            {"customer": customer, "consents": _consent_rows(customers.live_id(customer.pk))},
        )
    return redirect("console:customer", customers.live_id(customer.pk))


@require(perms.MERGE_CUSTOMERS)
def merge_pick(request, customer_id: int):
    """Choose the profile to fold into this one: search, or type its id."""
    customer = _customer_or_404(customer_id)
    if customer.merged_into_id is not None:
        return _follow_merge(request, customer)
    q = request.GET.get("q", "").strip()[:200]
    candidates = []
    if q:
        other_id = customers.customer_number(q)
        if other_id is not None and other_id != customer.pk and queries.get_customer(other_id):
            return redirect("console:customer_merge_confirm", customer.pk, other_id)
        page = queries.search_customers(q, limit=20)
        candidates = [c for c in page.items if c.pk != customer.pk]
    return render(
        request,
        "customers/merge_pick.html",
        {
            "customer": customer,
            "q": q,
            "candidates": candidates,
            "duplicates": queries.possible_duplicates(customer.pk),
        },
    )


def _moved_label(label: str) -> str:
    """``orders.order`` -> the model's translated plural name (订单 / orders)."""
    try:
        return str(apps.get_model(label)._meta.verbose_name_plural)
    except (LookupError, ValueError):
        return label


@require(perms.MERGE_CUSTOMERS)
def merge_confirm(request, customer_id: int, other_id: int):
    """Show both profiles; on POST fold ``other`` (the source) into this one."""
    target = _customer_or_404(customer_id)
    source = _customer_or_404(other_id)
    if request.method == "POST":
        try:
            record = customers.merge_customers(
                source.pk, target.pk, actor=actor(request), reason=CONSOLE_MERGE
            )
        except customers.MergeError as exc:
            messages.error(request, exc.text.localized())
            return redirect("console:customer_merge_confirm", target.pk, source.pk)
        except Customer.DoesNotExist:  # erased since the page was shown
            raise Http404("no such customer") from None
        moved = ", ".join(
            f"{_moved_label(label)}: {n}" for label, n in sorted(record.moved.items())
        )
        messages.success(
            request,
            _("Customer #%(source)s was merged into #%(target)s. Moved: %(moved)s")
            % {"source": record.source_id, "target": record.target_id, "moved": moved or "—"},
        )
        return redirect("console:customer", record.target_id)
    refusal = customers.merge_refusal(source, target)
    return render(
        request,
        "customers/merge_confirm.html",
        {
            "target": target,
            "source": source,
            "problem": refusal.localized() if refusal else "",
            "target_figures": figures.figures_of(target.pk),
            "source_figures": figures.figures_of(source.pk),
            "target_identities": queries.identities_of(target.pk),
            "source_identities": queries.identities_of(source.pk),
            "swap_url": reverse("console:customer_merge_confirm", args=[source.pk, target.pk]),
            "can_merge": allowed(request.user, perms.MERGE_CUSTOMERS),
        },
    )
