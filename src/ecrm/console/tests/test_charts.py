"""The ``{% chart %}`` tag: an option dict becomes a safely escaped ``data-chart`` attribute."""

import datetime as dt
import html
import json
from decimal import Decimal

import pytest
from django.template import Context, Template, TemplateSyntaxError


def render(source: str, **context) -> str:
    return Template("{% load console_charts %}" + source).render(Context(context))


def test_option_round_trips_through_the_attribute_and_cannot_break_out():
    """Markup in labels is escaped twice over; the browser gets the same JSON back."""
    option = {
        "title": {"text": "</div><script>alert('x')</script> & 双十一"},
        "series": [{"data": [Decimal("12.50"), 3]}],
        "xAxis": {"data": [dt.date(2024, 11, 11)]},
    }

    out = render("{% chart option height=280 label='Revenue' %}", option=option)

    assert "<script>" not in out
    assert out.startswith('<div class="chart" style="height:280px" role="img" aria-label="Revenue"')
    attribute = out.split('data-chart="', 1)[1].rsplit('"></div>', 1)[0]
    assert json.loads(html.unescape(attribute)) == {
        "title": {"text": "</div><script>alert('x')</script> & 双十一"},
        "series": [{"data": [12.5, 3]}],
        "xAxis": {"data": ["2024-11-11"]},
    }


def test_src_renders_a_chart_loaded_from_a_url():
    out = render("{% chart src=url height='40vh' %}", url="/analytics/x.json?a=1&b=2")

    assert out == (
        '<div class="chart" style="height:40vh" role="img" aria-label="" '
        'data-chart-src="/analytics/x.json?a=1&amp;b=2"></div>'
    )


def test_height_must_be_a_css_length():
    with pytest.raises(TemplateSyntaxError, match="not a CSS length"):
        render("{% chart option height='1px;color:red' %}", option={})


def test_option_or_src_is_required():
    with pytest.raises(TemplateSyntaxError, match="either an option or src"):
        render("{% chart %}")
