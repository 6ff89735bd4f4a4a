"""Order pages of the console: a keyset-paged list with filters, and one order."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ecrm.console import keyset
from ecrm.console.web.access import int_param, require
from ecrm.customers import api as customers
from ecrm.orders.models import OrderStatus
from ecrm.orders.web import queries
from ecrm.staff import rules as perms


@require(perms.VIEW_CUSTOMERS)
def order_list(request):
    status = request.GET.get("status", "")
    if status not in OrderStatus.values:
        status = ""
    number = request.GET.get("number", "").strip()[:80]
    customer_id = int_param(request, "customer")
    if customer_id is not None:
        survivor = _survivor(customer_id)
        if survivor != customer_id:
            messages.info(
                request,
                _(
                    "Customer #%(source)s was merged into #%(target)s; "
                    "showing the surviving profile's orders."
                )
                % {"source": customer_id, "target": survivor},
            )
            query = request.GET.copy()
            query["customer"] = str(survivor)
            query.pop("before", None)
            return redirect(reverse("console:orders") + "?" + query.urlencode())
    rows, next_cursor = queries.order_list(
        status=status,
        customer_id=customer_id,
        number=number,
        cursor=keyset.decode(request.GET.get("before")),
    )
    return render(
        request,
        "orders/list.html",
        {
            "rows": rows,
            "next_cursor": next_cursor,
            "status": status,
            "number": number,
            "customer_id": customer_id,
            "statuses": OrderStatus.choices,
        },
    )


def _survivor(customer_id: int) -> int:
    """The profile now holding a merged-away customer's orders; an unknown id is itself
    (its list is empty)."""
    try:
        return customers.live_id(customer_id)
    except ObjectDoesNotExist:
        return customer_id


@require(perms.VIEW_CUSTOMERS)
def order_detail(request, order_id: int):
    order = queries.get_order(order_id)
    if order is None:
        raise Http404("no such order")
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "lines": queries.lines_of(order.pk),
            "returns": queries.returns_of_order(order.pk),
        },
    )
