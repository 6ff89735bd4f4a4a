"""``ecrm writekey create NAME | list | revoke NAME``: the keys tracking SDKs send."""

from django.core.management.base import BaseCommand, CommandError

from ecrm.core import audit
from ecrm.events import keys

CLI = audit.Actor("cli")


class Command(BaseCommand):
    help = (
        "Manage write keys for the tracking API (/v1/...): "
        "'create NAME' prints a new key, 'list' shows them, 'revoke NAME' disables one."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("name", nargs="?", help="the source's name, e.g. web-shop")

    def handle(self, *args, action, name, **options):
        if action == "list":
            for row in keys.write_keys():
                state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "live"
                self.stdout.write(
                    f"{row.name}\t{row.prefix}…\tcreated {row.created_at:%Y-%m-%d %H:%M}\t{state}"
                )
            return
        if not name:
            raise CommandError(f"'ecrm writekey {action}' needs the key's NAME")
        try:
            if action == "create":
                _, key = keys.create_write_key(name, actor=CLI)
                self.stdout.write(key)
            else:
                keys.revoke_write_key_named(name, actor=CLI)
                self.stdout.write(f"write key {name!r} revoked")
        except keys.WriteKeyError as exc:
            raise CommandError(str(exc)) from exc
