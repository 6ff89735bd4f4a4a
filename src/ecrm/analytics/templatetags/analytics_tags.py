"""``{{ value|measure:kind }}``: a report value as the table shows it."""

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def measure(value, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "ratio":
        return f"{float(value) * 100:.1f}%"
    if kind == "money":
        return number_format(Decimal(value).quantize(Decimal("0.01")), decimal_pos=2,
                             use_l10n=True, force_grouping=True)  # fmt: skip
    if kind == "quantity":
        return number_format(Decimal(value).normalize(), use_l10n=True, force_grouping=True)
    return number_format(int(value), use_l10n=True, force_grouping=True)
