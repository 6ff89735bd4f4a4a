from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ecrm.core import audit
from ecrm.staff import api as staff


class Command(BaseCommand):
    help = "Create a bearer token for the JSON API: ecrm apitoken create USERNAME NAME"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create"])
        parser.add_argument("username")
        parser.add_argument("name")

    def handle(self, *args, action, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        try:
            self.stdout.write(staff.create_api_token(user, name, actor=audit.Actor("cli")))
        except staff.StaffError as exc:
            raise CommandError(str(exc)) from exc
