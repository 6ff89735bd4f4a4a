"""Counts and amounts read the same in both languages: a comma every three digits."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation


def render(source: str, language: str, **context) -> str:
    with translation.override(language):
        return Template("{% load console_tags %}" + source).render(Context(context))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_counts_and_money_are_grouped_by_three_in_both_languages(language):
    """Django groups Chinese numbers by four with no separator; the console does not."""
    out = render(
        "{{ n|grouped }} {{ big|grouped }} {{ m|money }} {{ d|grouped }}",
        language,
        n=20000,
        big=1827166043,
        m=Decimal("10002043.256"),
        d=Decimal("1234.5"),
    )

    assert out == "20,000 1,827,166,043 10,002,043.26 1,234.5"


def test_grouped_leaves_what_is_not_a_number_as_it_is():
    out = render(
        "{{ none|grouped }}|{{ dash|grouped }}|{{ flag|grouped }}|{{ small|grouped }}|"
        "{{ html|grouped }}",
        "zh-hans",
        none=None,
        dash="—",
        flag=True,
        small=-999,
        html="<b>1000</b>",
    )

    assert out == "None|—|True|-999|&lt;b&gt;1000&lt;/b&gt;"
