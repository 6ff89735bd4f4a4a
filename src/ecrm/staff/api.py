"""What other domains may ask of staff: roles and permissions of a user."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from ecrm.core import audit
from ecrm.core.messages import EMPTY, TOO_LONG
from ecrm.staff.models import ApiToken, Role, StaffProfile
from ecrm.staff.rules import USERNAME_TAKEN, StaffError, account_problems, role_allows


def role_of(user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "staff_profile", None)
    try:
        return profile.role if profile else None
    except StaffProfile.DoesNotExist:
        return None


def can(user, permission: str) -> bool:
    return role_allows(role_of(user), permission)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user, name: str, *, actor: audit.Actor = audit.SYSTEM) -> str:
    """A new token of ``user``, shown once; ``StaffError`` for a blank or too long name.
    The audit log keeps its name and prefix, never the secret."""
    name = name.strip()
    limit = ApiToken._meta.get_field("name").max_length
    if not name:
        raise StaffError("name", EMPTY)
    if len(name) > limit:
        raise StaffError("name", TOO_LONG, limit=limit)
    token = "ecrm_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        row = ApiToken.objects.create(
            user=user, name=name, token_hash=hash_token(token), prefix=token[:12]
        )
        audit.record(
            actor,
            "create",
            "api_token",
            row.pk,
            None,
            {"name": name, "user": user.get_username(), "prefix": row.prefix},
        )
    return token


def user_for_token(token: str):
    row = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    return row.user


def create_staff(
    username: str,
    password: str,
    role: str,
    department=None,
    *,
    actor: audit.Actor = audit.SYSTEM,
    **extra,
):
    """A console account, audited (without its password); ``StaffError`` (nothing
    written) for a username or password no one could sign in with, or a username taken
    already."""
    problems = account_problems(username, password)
    if problems:
        raise StaffError.together(problems)
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise StaffError("username", USERNAME_TAKEN, username=repr(username))
    with transaction.atomic():
        user = _create_staff(username, password, role, department, **extra)
        after = {
            "username": username,
            "role": role,
            "department": department.code if department is not None else None,
            "is_superuser": user.is_superuser,
        }
        audit.record(actor, "create", "staff", user.pk, None, after)
        return user


def _create_staff(username: str, password: str, role: str, department, **extra):
    User = get_user_model()
    user = User.objects.create_user(username=username, password=password, **extra)
    if role == Role.ADMIN:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    StaffProfile.objects.create(user=user, role=role, department=department)
    return user
