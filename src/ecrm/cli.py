"""The ``ecrm`` command: Django's management commands under one name.

``ecrm init``, ``ecrm serve``, ``ecrm demo``, ``ecrm import``, ``ecrm writekey``,
``ecrm recompute``, ``ecrm worker`` and ``ecrm bench`` are management commands of
the domain they belong to; Django's own (``migrate``, ``createsuperuser``, ...) work too.
"""

import gc
import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecrm.config.settings")
    from django.db import DatabaseError

    from ecrm.config.env import SettingsError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["ecrm", *(sys.argv[1:] if argv is None else argv)])
        _quick_exit()
    except SettingsError as exc:
        sys.stderr.write(f"ecrm: configuration error: {exc}\n")
        raise SystemExit(2) from exc
    except DatabaseError as exc:
        where = _uninitialised_database()
        if where is None:
            raise
        sys.stderr.write(
            f"ecrm: the database {where} has no eCRM tables yet: run `ecrm init` first "
            "(or set ECRM_DATA_DIR or DATABASE_URL to the shop's database)\n"
        )
        raise SystemExit(2) from exc


def _quick_exit() -> None:
    """After a command: keep the interpreter's last garbage collection, at exit, from
    walking every object Django and eCRM loaded (0.1 s of every command's run; the
    operating system frees the memory). Cleanups registered with ``atexit`` (logging,
    temporary directories, child processes) still run: they come before that collection."""
    gc.freeze()


def _uninitialised_database() -> str | None:
    """Where the database is, if it lacks eCRM's tables (a command run before ``ecrm init``,
    or in another directory than the shop's); None if it has them or cannot be asked."""
    from django.db import DatabaseError, connection

    try:
        connection.close()  # a failed statement may have left its transaction unusable
        if "customers_customer" in connection.introspection.table_names():
            return None
    except DatabaseError:
        return None
    name = connection.settings_dict["NAME"]
    return str(name) if connection.vendor == "sqlite" else f"{name!r} ({connection.vendor})"
