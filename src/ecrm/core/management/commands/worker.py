from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run background jobs and schedules (Redis queue when REDIS_URL is set, else SQLite)."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, workers, **options):
        broker = "redis" if settings.ENV.redis_url else f"sqlite {settings.HUEY['filename']}"
        self.stdout.write(f"eCRM worker: {workers} workers on {broker}")
        call_command("run_huey", workers=workers, worker_type="thread")
