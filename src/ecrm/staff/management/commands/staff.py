from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ecrm.staff import api as staff
from ecrm.staff.models import Department, Role


class Command(BaseCommand):
    help = "Create a staff account: ecrm staff create USERNAME --role ROLE [--department CODE]"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create"])
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--department", help="department code (created if new)")
        parser.add_argument("--password", help="asked if omitted")

    def handle(self, *args, action, username, role, department, password, **options):
        if get_user_model().objects.filter(username=username).exists():
            raise CommandError(f"a user named {username!r} exists already")
        dept = None
        if department:
            dept, _ = Department.objects.get_or_create(
                code=department, defaults={"name": department}
            )
        if not password:
            import getpass

            password = getpass.getpass(f"password for {username}: ")
        staff.create_staff(username, password, role, department=dept)
        self.stdout.write(f"{role} {username!r} created")
