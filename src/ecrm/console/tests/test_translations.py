"""Words that mean different things on different pages keep their Chinese meaning.

Django merges every catalogue into one, where the project's (``ecrm/locale``) and then the
first-listed app's translation of a msgid wins: "Name" was 姓名 (a person's name) on the
product and segment lists too. Such words carry a context where the meaning differs.
"""

import pytest
from django.utils import translation
from django.utils.translation import gettext, pgettext


@pytest.mark.parametrize(
    ("context", "word", "chinese"),
    [
        (None, "Name", "名称"),  # products, segments, tiers, write keys
        ("person", "Name", "姓名"),  # customers, members
        (None, "Members", "会员"),  # the loyalty programme
        ("segment", "Members", "成员"),  # who is in a segment
        ("activity", "Active", "活跃"),  # members seen lately
        ("coupon", "Code", "券码"),
        (None, "Member since", "入会时间"),  # the loyalty member page
        ("segment", "Member since", "进入时间"),  # in the segment since
        (None, "By", "操作人"),  # who saved a rule version, who gave a reward
        (None, "Programme", "会员计划"),
        ("referral", "Programme", "推荐规则"),
    ],
)
def test_chinese_word_by_context(context, word, chinese):
    with translation.override("zh-hans"):
        said = pgettext(context, word) if context else gettext(word)

    assert said == chinese
