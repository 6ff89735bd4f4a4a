"""The ``ecrm`` command: Django's management commands under one name.

``ecrm init``, ``ecrm serve``, ``ecrm demo``, ``ecrm import``, ``ecrm writekey``,
``ecrm recompute``, ``ecrm worker`` and ``ecrm bench`` are management commands of
the domain they belong to; Django's own (``migrate``, ``createsuperuser``, ...) work too.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecrm.config.settings")
    from ecrm.config.env import SettingsError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["ecrm", *(sys.argv[1:] if argv is None else argv)])
    except SettingsError as exc:
        sys.stderr.write(f"ecrm: configuration error: {exc}\n")
        raise SystemExit(2) from exc
