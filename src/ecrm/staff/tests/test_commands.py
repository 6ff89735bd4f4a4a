"""``ecrm staff create``, ``ecrm init --admin`` and ``ecrm apitoken create``: a refused
account is a one-line message and nothing written, never a traceback."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from ecrm.core.models import AuditEntry
from ecrm.staff import api as staff
from ecrm.staff.models import ApiToken, Department, Role, StaffProfile

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class NoTerminal(io.StringIO):
    """What ``sys.stdin`` is under cron, CI or ``ecrm ... < /dev/null``."""

    def isatty(self) -> bool:
        return False


CREATE_LI_NA = (
    *("staff", "create", "li.na", "--role", "sales_rep"),
    *("--password", "pw-123456", "--department", "east-2"),
)


def test_create_with_a_department_makes_both():
    out = run(*CREATE_LI_NA)

    profile = StaffProfile.objects.get(user__username="li.na")
    assert (out, profile.role, profile.department.code) == (
        "sales_rep 'li.na' created\n",
        "sales_rep",
        "east-2",
    )


def test_a_chinese_username_is_ordinary():
    run("staff", "create", "张伟", "--role", "service_agent", "--password", "pw-123456")
    assert get_user_model().objects.filter(username="张伟").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "--password", "x"), "username: is empty"),
        (("a b<i>", "--password", "x"), "username: may contain only letters, digits and @ . + - _"),
        (("a" * 151, "--password", "x"), "username: is longer than 150 characters"),
        (("ok", "--password", ""), "password: is empty"),
        (
            ("ok", "--password", "x", "--department", "销售 一部"),
            "department: must be 1–40 letters, digits, - or _",
        ),
    ],
)
def test_refusals_name_the_argument_and_write_nothing(args, message):
    with pytest.raises(CommandError) as info:
        run("staff", "create", *args, "--role", "admin")

    assert str(info.value) == message
    assert (get_user_model().objects.count(), Department.objects.count()) == (0, 0)


def test_an_existing_user_is_refused_before_the_password_is_asked(monkeypatch, admin_user):
    monkeypatch.setattr("sys.stdin", NoTerminal())
    with pytest.raises(CommandError) as info:
        run("staff", "create", "admin", "--role", "admin")
    assert str(info.value) == "username: a user named 'admin' exists already"


@pytest.mark.parametrize(
    "command", [("staff", "create", "ops", "--role", "admin"), ("init", "--admin", "ops")]
)
def test_no_password_and_no_terminal_says_to_pass_it(monkeypatch, command):
    """It was an EOFError traceback from getpass."""
    monkeypatch.setattr("sys.stdin", NoTerminal())
    with pytest.raises(CommandError) as info:
        run(*command)
    assert str(info.value) == (
        "password: give it with --password (there is no terminal to ask it on)"
    )
    assert not get_user_model().objects.filter(username="ops").exists()


def test_init_refuses_an_empty_admin_name():
    """It was Django's ValueError traceback ("The given username must be set")."""
    with pytest.raises(CommandError) as info:
        run("init", "--admin", "", "--password", "x")
    assert str(info.value) == "username: is empty"


def test_create_staff_refuses_what_no_one_could_sign_in_with():
    with pytest.raises(staff.StaffError) as info:
        staff.create_staff(" ", "", Role.ANALYST)
    assert str(info.value) == "username: is empty; password: is empty"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name: is empty"),
        ("  ", "name: is empty"),
        ("t" * 81, "name: is longer than 80 characters"),
    ],
)
def test_apitoken_needs_a_name(admin_user, name, message):
    with pytest.raises(CommandError) as info:
        run("apitoken", "create", "admin", name)
    assert str(info.value) == message


def test_apitoken_name_is_stored_trimmed(admin_user):
    token = run("apitoken", "create", "admin", " ci ").strip()
    assert (token.startswith("ecrm_"), admin_user.pk) == (True, staff.user_for_token(token).pk)


def _audit_rows(object_type="staff"):
    return list(
        AuditEntry.objects.filter(object_type=object_type)
        .order_by("pk")
        .values_list("actor_label", "action", "object_type", "object_id", "before", "after")
    )


def test_a_created_account_is_audited_without_its_password():
    run(*CREATE_LI_NA)

    user = get_user_model().objects.get(username="li.na")
    assert _audit_rows() == [
        (
            "cli",
            "create",
            "staff",
            str(user.pk),
            None,
            {
                "username": "li.na",
                "role": "sales_rep",
                "department": "east-2",
                "is_superuser": False,
            },
        )
    ]


def test_a_refused_account_leaves_no_audit_entry():
    with pytest.raises(CommandError):
        run("staff", "create", "", "--role", "admin", "--password", "x")
    assert _audit_rows() == []


def test_a_created_token_is_audited_by_name_and_prefix_never_the_secret(admin_user):
    token = run("apitoken", "create", "admin", "ci").strip()

    row = ApiToken.objects.get()
    assert _audit_rows("api_token") == [
        (
            "cli",
            "create",
            "api_token",
            str(row.pk),
            None,
            {"name": "ci", "user": "admin", "prefix": token[:12]},
        )
    ]
