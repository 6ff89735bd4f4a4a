"""``{% customer_value customer.pk %}``: the customer-value card of Customer 360."""

from django import template
from django.utils.translation import gettext

from ecrm.value import api

register = template.Library()


@register.inclusion_tag("value/_customer_value.html")
def customer_value(customer_id: int) -> dict:
    card = api.customer_card(customer_id)
    return {
        "card": card,
        "group": gettext(card.rfm.group_en) if card.rfm else None,
    }
