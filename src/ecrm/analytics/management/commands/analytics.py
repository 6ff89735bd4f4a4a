"""``ecrm analytics rebuild`` rewrites the analytics read model from the source tables;
``ecrm analytics catch-up`` refreshes what the flows do not (browsing, contacts, members);
``ecrm analytics report '{"dimensions": ["region"], "measures": ["revenue"]}'`` prints a
report as CSV (``--format json`` for JSON)."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from ecrm.analytics import exports, queries, rules, services


class Command(BaseCommand):
    help = "Rebuild the analytics read model, or print a report."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("rebuild", help="rewrite facts, cubes, activity and member snapshot")
        actions.add_parser(
            "catch-up",
            help="refresh customers with new events or contacts, and the member snapshot "
            "(what the nightly job runs)",
        )
        report = actions.add_parser("report", help="print a report (JSON request) as CSV or JSON")
        report.add_argument("request", help='e.g. \'{"dimensions": ["month"]}\' or @file.json')
        report.add_argument("--format", choices=("csv", "json"), default="csv")

    def handle(self, *args, action, **options):
        if action == "rebuild":
            timings = services.rebuild(progress=lambda m: self.stderr.write(m))
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if k != "total")
            self.stdout.write(f"analytics rebuilt in {timings['total']:.1f} s ({parts})")
            return
        if action == "catch-up":
            done = services.catch_up(progress=lambda m: self.stderr.write(m))
            self.stdout.write(
                f"analytics caught up: {done['customers']:,} customers refreshed, "
                f"{done['member_cells']:,} member cells"
            )
            return
        text = options["request"]
        if text.startswith("@"):
            try:
                with open(text[1:], encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise CommandError(f"{text[1:]}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"request: not JSON (line {exc.lineno}: {exc.msg})") from None
        try:
            parsed = rules.parse_report(data)
        except rules.ReportError as exc:
            raise CommandError(str(exc)) from None
        result = queries.run_report(parsed)
        header, rows = queries.report_table(result)
        if options["format"] == "json":
            self.stdout.write(json.dumps({"header": header, "rows": rows}, default=str,
                                         ensure_ascii=False, indent=2))  # fmt: skip
            return
        sys.stdout.buffer.write(exports.csv_bytes(header, rows)[3:])  # no BOM on a terminal
