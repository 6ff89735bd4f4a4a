"""``ecrm loyalty award|expire|tiers|verify``.

``award`` runs the set-based path over every order (what an import of many customers
does); ``expire`` expires lots past their date; ``tiers`` evaluates every member's tier;
``verify`` checks that every member's points equal their ledger and that no lot gave more
than it held, and exits 1 if not.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ecrm.core import clock
from ecrm.loyalty import bulk, queries, services


class Command(BaseCommand):
    help = "Award, expire, evaluate tiers or verify the points ledger."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("award", "expire", "tiers", "verify"))

    def handle(self, *args, action, **options):
        started = time.perf_counter()
        if action == "award":
            if not queries.programme_row().enabled:
                raise CommandError("the loyalty programme is switched off")
            r = bulk.award_all(progress=self.stdout.write)
            self.stdout.write(
                f"{r.orders:,} earning orders, {r.awarded_orders:,} awarded {r.points:,} points, "
                f"{r.joined:,} joined, {r.expired:,} lots expired, {r.tier_changes:,} tier changes"
            )
        elif action == "expire":
            self.stdout.write(f"{services.expire_points():,} points expired")
        elif action == "tiers":
            changed = bulk.evaluate_tiers_all(queries.setup(), clock.now())
            self.stdout.write(f"{changed:,} tier changes")
        else:
            problems = _verify()
            for line in problems[:20]:
                self.stderr.write(line)
            if problems:
                raise CommandError(f"{len(problems):,} problems in the points ledger")
            self.stdout.write("every member's points equal their ledger; no lot overdrawn")
        self.stdout.write(f"{time.perf_counter() - started:.1f} s")


def _verify() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.customer_id, m.points, COALESCE(SUM(e.points), 0) FROM loyalty_membership m "
            "LEFT JOIN loyalty_pointsentry e ON e.customer_id = m.customer_id "
            "GROUP BY m.customer_id, m.points HAVING m.points <> COALESCE(SUM(e.points), 0)"
        )
        drift = cursor.fetchall()
        cursor.execute(
            "SELECT l.id, l.points, SUM(d.points) FROM loyalty_pointsentry l "
            "JOIN loyalty_pointsdebit d ON d.lot_id = l.id GROUP BY l.id, l.points "
            "HAVING SUM(d.points) > l.points"
        )
        overdrawn = cursor.fetchall()
    return [f"member #{c}: points {p}, ledger {s}" for c, p, s in drift] + [
        f"lot #{lot}: {n} points taken of {p}" for lot, p, n in overdrawn
    ]
