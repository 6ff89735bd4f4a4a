"""Console forms turning fields into the JSON the rules read, without a database."""

import pytest
from django.utils import translation

from ecrm.loyalty import rules
from ecrm.loyalty.web.forms import RuleForm, SettingsForm

SETTINGS = {
    **SettingsForm.initial_from("会员计划", rules.Settings()),
    "starts_on": "",
}


def test_each_activity_line_maps_an_activity_to_its_event_names():
    """A Chinese input method types a full-width colon and commas (，、); they separate too."""
    form = SettingsForm(
        {
            **SETTINGS,
            "event_names": "daily_sign_in: Signed In，签到\n\nreferral：推荐成功、邀请, 拉新",
        }
    )

    assert form.is_valid(), form.errors
    assert form.settings_json()["event_names"] == {
        "daily_sign_in": ["Signed In", "签到"],
        "referral": ["推荐成功", "邀请", "拉新"],
    }


def test_an_activity_line_without_a_colon_is_refused_naming_the_line():
    """Such a line was skipped: 'no colon here' alone saved no mapping at all."""
    form = SettingsForm({**SETTINGS, "event_names": "daily_sign_in: Signed In\nno colon here"})

    with translation.override("en"):
        assert form.errors == {
            "event_names": [
                "line 2: 'no colon here' has no colon; write activity: event name, event name"
            ]
        }


RULE = {
    "name": "消费积分",
    "event": "order_completed",
    "award_type": "per_amount",
    "award_points": "1",
    "award_basis": "order",
    "priority": "0",
    "cap_period": "month",
    "nth_period": "ever",
}


@pytest.mark.parametrize("per", ["0", "-5", "0.001"])
def test_points_per_amount_refuses_an_amount_below_a_cent(per):
    """``per`` 0 was saved as 'per 1' without a word (``0 or 1``)."""
    form = RuleForm({**RULE, "award_per": per})

    with translation.override("en"):
        assert form.errors == {"award_per": ["Ensure this value is greater than or equal to 0.01."]}
    assert 'min="0.01"' in str(form["award_per"])


@pytest.mark.parametrize(("per", "saved"), [("", 1), ("10", 10), ("0.5", "0.5")])
def test_points_per_amount_is_per_the_amount_given_or_per_1(per, saved):
    form = RuleForm({**RULE, "award_per": per})

    assert form.is_valid(), form.errors
    assert form.definition()["award"] == {
        "type": "per_amount",
        "points": 1,
        "per": saved,
        "basis": "order",
    }
