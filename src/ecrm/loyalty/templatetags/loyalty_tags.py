"""``{% loyalty_panel customer %}``: the loyalty card of Customer 360."""

from __future__ import annotations

from django import template

from ecrm.loyalty import queries

register = template.Library()


@register.inclusion_tag("loyalty/_customer_panel.html")
def loyalty_panel(customer) -> dict:
    s = queries.current_settings()
    m = queries.membership(customer.pk)
    return {
        "customer_id": customer.pk,
        "member": m,
        "balance": queries.ledger_balance(customer.pk),
        "progress": queries.tier_progress(customer.pk) if m else None,
        "expiring": queries.expiring(customer.pk, s.expiring_soon_days),
    }
