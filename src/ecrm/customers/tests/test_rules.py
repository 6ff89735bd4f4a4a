"""Identity resolution decisions, as pure functions."""

import datetime as dt

import pytest

from ecrm.core import clock
from ecrm.customers.rules import (
    Claim,
    Holder,
    ProfileError,
    clean_profile,
    make_claim,
    profile_problems,
    resolve,
)

ANON = Claim("anonymous_id", "a-1")
USER = Claim("user_id", "u-1")


def test_new_identifiers_create_a_profile_holding_all_of_them():
    decision = resolve([ANON, USER], {})
    assert (decision.target, decision.merge, decision.attach) == (None, (), (ANON, USER))


def test_anonymous_visitor_who_identifies_keeps_the_anonymous_profile():
    matches = {ANON.key: [(Holder(7, True), False)]}
    decision = resolve([ANON, USER], matches)
    assert (decision.target, decision.merge, decision.attach) == (7, (), (USER,))


def test_anonymous_history_merges_into_the_known_user():
    matches = {
        ANON.key: [(Holder(7, True), False)],
        USER.key: [(Holder(3, False, frozenset({"u-1"})), False)],
    }
    decision = resolve([ANON, USER], matches)
    assert (decision.target, decision.merge, decision.attach) == (3, (7,), ())
    assert decision.reason == "shared identity anonymous_id=a-1"


def test_anonymous_id_of_another_known_user_is_not_a_reason_to_merge():
    """A shared computer: the device's anonymous id belongs to u-2, the event to u-1."""
    matches = {
        ANON.key: [(Holder(5, False, frozenset({"u-2"})), False)],
        USER.key: [(Holder(3, False, frozenset({"u-1"})), False)],
    }
    decision = resolve([ANON, USER], matches)
    assert (decision.target, decision.merge, decision.attach) == (3, (), ())


def test_unverified_shared_email_never_joins_profiles():
    email = Claim("email", "family@example.com", verified=False)
    matches = {email.key: [(Holder(4, False), True)]}
    decision = resolve([USER, email], matches)
    assert (decision.target, decision.merge, decision.attach) == (None, (), (USER, email))


def test_verified_email_on_both_sides_joins_profiles():
    email = Claim("email", "li@example.com", verified=True)
    matches = {
        email.key: [(Holder(4, False), True)],
        USER.key: [(Holder(9, False, frozenset({"u-1"})), False)],
    }
    decision = resolve([USER, email], matches)
    assert (decision.target, decision.merge) == (4, (9,))


def test_make_claim_normalises_phone_and_email():
    assert make_claim("phone", "138 1234 5678").value == "+8613812345678"
    assert make_claim("email", " Li.Na@Example.COM ").value == "li.na@example.com"


@pytest.mark.parametrize(
    ("kind", "raw", "field"),
    [("phone", "12345", "phone"), ("email", "not-an-email", "email"), ("user_id", "", "user_id")],
)
def test_make_claim_names_the_bad_field(kind, raw, field):
    with pytest.raises(ProfileError) as info:
        make_claim(kind, raw)
    assert info.value.field == field


def test_clean_profile_refuses_unknown_fields_by_name():
    with pytest.raises(ProfileError) as info:
        clean_profile({"nickname": "小王"})
    assert info.value.field == "nickname"


def test_profile_problems_names_every_bad_field_in_order():
    problems = profile_problems(
        {"name": "王芳", "phone": "12", "gender": "x", "birthday": "1990-13-01", "city": "上海"}
    )
    assert [p.field for p in problems] == ["phone", "gender", "birthday"]
    assert profile_problems({"name": "王芳", "phone": "138 0013 8000"}) == []


def test_clean_profile_normalises_values():
    cleaned = clean_profile(
        {"gender": "女", "birthday": "1990-05-04", "phone": "+86 139-0000-1111"}
    )
    assert cleaned == {
        "gender": "f",
        "birthday": __import__("datetime").date(1990, 5, 4),
        "phone": "+8613900001111",
    }


@pytest.mark.parametrize(
    "birthday, message",
    [
        ("2026-12-10", "must not be in the future"),
        ("1899-12-31", "must not be before 1900-01-01"),
    ],
)
def test_a_birthday_is_from_1900_to_today(monkeypatch, birthday, message):
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 12, 8, 3, 0, tzinfo=dt.UTC))
    with pytest.raises(ProfileError) as info:
        clean_profile({"birthday": birthday})
    assert (info.value.field, str(info.value.text)) == ("birthday", f"birthday: {message}")
    # A day's slack for the zones east of the shop's, where it is already tomorrow.
    assert clean_profile({"birthday": "2026-12-09"}) == {"birthday": dt.date(2026, 12, 9)}
    assert clean_profile({"birthday": "1900-01-01"}) == {"birthday": dt.date(1900, 1, 1)}


def test_verified_email_of_another_known_user_is_not_a_reason_to_merge():
    """Two accounts of the shop (u-1, u-2) share a family address, verified on both
    sides: the message goes to u-1's profile and u-2's keeps the address."""
    email = Claim("email", "family@example.com", verified=True)
    matches = {
        email.key: [(Holder(4, False, frozenset({"u-2"})), True)],
        USER.key: [(Holder(9, False, frozenset({"u-1"})), False)],
    }
    decision = resolve([USER, email], matches)
    assert (decision.target, decision.merge, decision.attach, decision.reason) == (9, (), (), "")


def test_verified_phone_of_another_known_user_does_not_join_a_new_user():
    phone = Claim("phone", "+8613812345678", verified=True)
    matches = {phone.key: [(Holder(4, False, frozenset({"u-2"})), True)]}
    decision = resolve([USER, phone], matches)
    assert (decision.target, decision.merge, decision.attach) == (None, (), (USER,))
