"""Console forms turning fields into the JSON the rules read, without a database."""

from django.utils import translation

from ecrm.loyalty import rules
from ecrm.loyalty.web.forms import SettingsForm

SETTINGS = {
    **SettingsForm.initial_from("会员计划", rules.Settings()),
    "starts_on": "",
}


def test_each_activity_line_maps_an_activity_to_its_event_names():
    """A Chinese input method types a full-width colon; it separates too."""
    form = SettingsForm(
        {**SETTINGS, "event_names": "daily_sign_in: Signed In, 签到\n\nreferral：推荐成功, 邀请"}
    )

    assert form.is_valid(), form.errors
    assert form.settings_json()["event_names"] == {
        "daily_sign_in": ["Signed In", "签到"],
        "referral": ["推荐成功", "邀请"],
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
