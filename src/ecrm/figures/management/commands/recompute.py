import time

from django.core.management.base import BaseCommand

from ecrm.figures import api as figures


class Command(BaseCommand):
    help = "Rebuild every customer's derived figures from raw orders, returns and events."

    def handle(self, *args, **options):
        started = time.perf_counter()
        count = figures.recompute_all()
        self.stdout.write(
            f"recomputed figures of {count} customers in {time.perf_counter() - started:.1f} s"
        )
