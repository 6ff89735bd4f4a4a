from django.core.management.base import BaseCommand

from ecrm.staff.management.accounts import create_account
from ecrm.staff.models import Role


class Command(BaseCommand):
    help = "Create a staff account: ecrm staff create USERNAME --role ROLE [--department CODE]"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create"])
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--department", help="department code (created if new)")
        parser.add_argument("--password", help="asked if omitted")

    def handle(self, *args, action, username, role, department, password, **options):
        create_account(username, password, role, department or "")
        self.stdout.write(f"{role} {username!r} created")
