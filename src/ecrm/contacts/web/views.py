"""The contact log: staff record an interaction on a profile, and browse the log."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecrm.console.web.access import actor, int_param, require
from ecrm.contacts import api as contacts
from ecrm.contacts.models import ContactChannel
from ecrm.contacts.web import queries
from ecrm.contacts.web.forms import ContactForm
from ecrm.customers import api as customers
from ecrm.customers import queries as customer_queries
from ecrm.staff import rules as perms


@require_POST
@require(perms.LOG_CONTACTS)
def log_contact(request, customer_id: int):
    customer = customer_queries.get_customer(customer_id)
    if customer is None:
        raise Http404("no such customer")
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            contacts.log_contact(
                customer_id=customer.pk,
                channel=form.cleaned_data["channel"],
                direction=form.cleaned_data["direction"],
                summary=form.cleaned_data["summary"],
                actor=actor(request),
            )
        except contacts.ContactError as exc:
            form.add_error(
                exc.field if exc.field in form.fields else None,
                exc.text.localized(with_subject=False),
            )
        else:
            messages.success(request, _("Contact logged."))
            return redirect("console:customer", customers.live_id(customer.pk))
    return render(
        request, "contacts/log_form.html", {"customer": customer, "form": form}, status=400
    )


@require(perms.VIEW_CUSTOMERS)
def contact_log(request):
    channel = request.GET.get("channel", "")
    if channel not in ContactChannel.values:
        channel = ""
    rows, next_after = queries.contact_list(channel=channel, after=int_param(request, "after"))
    return render(
        request,
        "contacts/list.html",
        {
            "rows": rows,
            "next_after": next_after,
            "channel": channel,
            "channels": ContactChannel.choices,
        },
    )
