"""Small template helpers for the console: permissions, money, counts, JSON and cursors."""

from __future__ import annotations

import json
from decimal import Decimal

from django import template
from django.utils.formats import number_format

from ecrm.console.web.access import allowed

register = template.Library()


@register.filter
def can(user, permission: str) -> bool:
    """``{% if request.user|can:"merge_customers" %}``."""
    return allowed(user, permission)


@register.filter
def money(value) -> str:
    """Two decimals with thousands separators; the template adds the currency."""
    if value in (None, ""):
        return "—"
    amount = Decimal(value).quantize(Decimal("0.01"))
    return number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)


@register.filter
def grouped(value):
    """A count or amount with thousands separators in the page's language ("20,000");
    anything that is not a number (a "—", text) as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return value
    return number_format(value, use_l10n=True, force_grouping=True)


@register.filter
def pretty_json(value) -> str:
    """Indented JSON for before/after and attributes; autoescaped by the template."""
    if value in (None, "", {}):
        return ""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


@register.filter
def get_item(mapping, key):
    if not mapping:
        return None
    return mapping.get(key)
