from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from ecrm.staff.models import Role


class Command(BaseCommand):
    help = "Create or migrate the database; optionally create the first administrator."

    def add_arguments(self, parser):
        parser.add_argument("--admin", metavar="USERNAME", help="create this administrator")
        parser.add_argument("--password", help="password for --admin (asked if omitted)")

    def handle(self, *args, admin=None, password=None, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"database ready: {connection.vendor} {connection.settings_dict['NAME']}")
        if admin is not None:
            from ecrm.staff.management.accounts import create_account

            create_account(admin, password, Role.ADMIN)
            self.stdout.write(f"administrator {admin!r} created")
