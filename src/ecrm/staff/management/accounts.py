"""Creating a console account from the command line (``ecrm staff create``, ``ecrm init
--admin``): every refusal is a one-line message, never a traceback."""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from ecrm.core import audit
from ecrm.staff import api as staff
from ecrm.staff.models import Department
from ecrm.staff.rules import USERNAME_TAKEN


def create_account(username: str, password: str | None, role: str, department_code: str = ""):
    """The new user; the password is asked on the terminal when not given (None)."""
    problems = staff.account_problems(
        username, "-" if password is None else password, department_code
    )
    if problems:
        raise CommandError(str(staff.StaffError.together(problems)))
    if get_user_model().objects.filter(username=username).exists():  # before asking
        raise CommandError(
            str(staff.StaffError("username", USERNAME_TAKEN, username=repr(username)))
        )
    if password is None:
        password = _ask_password(username)
    department = None
    try:
        if department_code:
            department, _ = Department.objects.get_or_create(
                code=department_code, defaults={"name": department_code}
            )
        return staff.create_staff(
            username, password, role, department=department, actor=audit.Actor("cli")
        )
    except staff.StaffError as exc:
        raise CommandError(str(exc)) from exc


def _ask_password(username: str) -> str:
    if not sys.stdin.isatty():
        raise CommandError("password: give it with --password (there is no terminal to ask it on)")
    try:
        password = getpass.getpass(f"password for {username}: ")
    except (EOFError, KeyboardInterrupt):
        raise CommandError("password: none was given") from None
    if not password:
        raise CommandError("password: is empty")
    return password
