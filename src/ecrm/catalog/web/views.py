"""Catalogue pages of the console: products and one product with its recent sales."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from ecrm.catalog.web import queries
from ecrm.console.web.access import int_param, require
from ecrm.orders.web import queries as order_queries
from ecrm.staff import rules as perms


@require(perms.VIEW_CUSTOMERS)
def product_list(request):
    q = request.GET.get("q", "").strip()[:200]
    rows, next_after = queries.product_list(q, after=int_param(request, "after"))
    return render(request, "catalog/list.html", {"rows": rows, "next_after": next_after, "q": q})


@require(perms.VIEW_CUSTOMERS)
def product_detail(request, product_id: int):
    product = queries.get_product(product_id)
    if product is None:
        raise Http404("no such product")
    return render(
        request,
        "catalog/detail.html",
        {"product": product, "lines": order_queries.lines_with_product(product.pk)},
    )
