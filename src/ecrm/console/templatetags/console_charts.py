"""``{% chart %}``: a chart element for ``console/charts.js`` from a Python dict.

    {% load console_charts %}
    {% chart option height=280 label=_("Revenue by month") %}
    {% chart src=url height=320 %}

``option`` is an ECharts option as plain data (dicts, lists, numbers, strings; Decimal, date and
datetime are converted). It is written into a ``data-chart`` attribute as JSON and escaped like
``json_script`` and then as an HTML attribute, so no value can close the attribute or the tag.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from django import template
from django.utils.html import format_html

register = template.Library()

_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def chart_json(option: dict) -> str:
    """The option as compact JSON with <, > and & escaped (safe inside any HTML context)."""
    text = json.dumps(option, default=_plain, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_JSON_ESCAPES)


def _height(height) -> str:
    if isinstance(height, int | float) or str(height).isdigit():
        return f"{int(height)}px"
    text = str(height)
    allowed = set("0123456789.pxvhrem%")
    if not text or not set(text) <= allowed:
        raise template.TemplateSyntaxError(f"chart height {height!r} is not a CSS length")
    return text


@register.simple_tag
def chart(option=None, *, src: str = "", height=300, label: str = "", css_class: str = ""):
    """A ``<div class="chart">`` drawn by charts.js, from ``option`` or from the URL ``src``."""
    if (option is None) == (not src):
        raise template.TemplateSyntaxError("chart needs either an option or src=URL")
    classes = "chart" + (f" {css_class}" if css_class else "")
    style = f"height:{_height(height)}"
    if src:
        return format_html(
            '<div class="{}" style="{}" role="img" aria-label="{}" data-chart-src="{}"></div>',
            classes,
            style,
            label,
            src,
        )
    return format_html(
        '<div class="{}" style="{}" role="img" aria-label="{}" data-chart="{}"></div>',
        classes,
        style,
        label,
        chart_json(option),
    )
