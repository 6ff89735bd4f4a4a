import argparse
import datetime as dt
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ecrm.demo import services


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from exc


class Command(BaseCommand):
    help = (
        "Create or migrate the database and load a generated Chinese online shop: customers, "
        "catalogue, browsing events, orders, returns, contacts and demo staff logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=20_000, help="default 20,000")
        parser.add_argument("--seed", type=int, default=42, help="same seed, same shop")
        parser.add_argument(
            "--until",
            type=_date,
            default=None,
            help="last day of the shop's history (default: yesterday)",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete customers, catalogue, orders and events already in the database first",
        )

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def handle(self, *args, customers, seed, until, reset, **options):
        if customers < 1:  # before a database is made, perhaps in the wrong directory
            raise CommandError("--customers must be at least 1")
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        database = f"{connection.vendor} {connection.settings_dict['NAME']}"
        self.stdout.write(f"database ready: {database}")
        self.stdout.write(f"generating a demo shop of {customers:,} customers (seed {seed}) …")
        try:
            report = services.load_demo(
                customers=customers,
                seed=seed,
                until=until,
                reset=reset,
                progress=self._progress,
            )
        except services.DemoError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write("loaded:")
        for table, count in report.rows.items():
            self.stdout.write(f"  {table:<12} {count:>12,}")
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
        self.stdout.write(f"time: {time.perf_counter() - started:.1f} s ({phases})")
        self.stdout.write("")
        self.stdout.write("staff logins (username / password, role):")
        for username, password, role in report.logins:
            self.stdout.write(f"  {username:<10} / {password:<10}  {role}")
        self.stdout.write("start the console with `ecrm serve` and open http://127.0.0.1:8000")
        if customers > services.INLINE_UP_TO and connection.vendor == "sqlite":
            self.stdout.write(
                "the worker it starts first builds the reports and scores customer value: "
                "minutes at this size, during which saving in the console may be refused "
                "with 'busy, try again in a minute' (503)"
            )
