"""``ecrm value fit FILE --customer COL --date COL --amount COL --calibration-end YYYY-MM-DD``.

Fits BG/NBD, Pareto/NBD and Gamma-Gamma on any transaction file without loading it into
the shop, and prints the parameters, log-likelihoods and fit times as JSON.

``ecrm value rfm [--window-days N] [--dormant-days N]`` scores every customer (RFM groups,
dormant and low-return flags) and prints the group counts and the 80/20 figure.
"""

import datetime as dt
import json
import time

from django.core.management.base import BaseCommand, CommandError

from ecrm.value import readers, rfm, rules


class Command(BaseCommand):
    help = "Fit the customer-value models on a transaction file, or score customers (RFM)."

    requires_system_checks = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        fit = actions.add_parser(
            "fit",
            help="fit the models on a CSV file of transactions (plain or .gz); prints JSON",
        )
        fit.add_argument("file", help="CSV file with a header row, optionally gzip-compressed")
        fit.add_argument("--customer", required=True, help="column holding the customer key")
        fit.add_argument("--date", required=True, help="column holding the purchase date")
        fit.add_argument("--amount", required=True, help="column holding the amount spent")
        fit.add_argument(
            "--calibration-end",
            required=True,
            help="last day of the calibration period (YYYY-MM-DD); later purchases are ignored",
        )
        fit.add_argument("--time-unit", choices=sorted(rules.TIME_UNITS), default="week")
        fit.add_argument(
            "--date-format",
            help="strptime format of the date column (default: YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)",
        )
        scores = actions.add_parser(
            "rfm", help="score every customer (RFM groups, dormant, low return); prints counts"
        )
        scores.add_argument(
            "--window-days",
            type=int,
            default=365,
            help="only orders of the last N days count for F and M (0: all orders)",
        )
        scores.add_argument(
            "--dormant-days",
            type=int,
            default=rfm.DORMANT_DAYS,
            help="dormant: ordered before, but not in the last N days",
        )

    def handle(self, *args, **options):
        if options["action"] == "rfm":
            return self.handle_rfm(options)
        try:
            end = dt.date.fromisoformat(options["calibration_end"])
        except ValueError:
            raise CommandError(
                f"--calibration-end {options['calibration_end']!r} is not a date (YYYY-MM-DD)",
                returncode=2,
            ) from None
        began = time.perf_counter()
        try:
            data = readers.read_transactions(
                options["file"],
                customer=options["customer"],
                date=options["date"],
                amount=options["amount"],
                date_format=options["date_format"],
            )
        except readers.TransactionFileError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        read_seconds = time.perf_counter() - began
        unit = options["time_unit"]
        summary = rules.summarise(
            data.customers,
            data.days,
            data.amounts,
            (end - readers.EPOCH).days,
            rules.TIME_UNITS[unit],
        )
        if summary.customer.size == 0:
            raise CommandError(
                f"{options['file']}: no purchases on or before {end.isoformat()}", returncode=2
            )
        models = {}
        try:
            models["bgnbd"] = rules.fit_bgnbd(summary.frequency, summary.recency, summary.T)
            models["pareto_nbd"] = rules.fit_pareto_nbd(
                summary.frequency, summary.recency, summary.T
            )
            models["gamma_gamma"] = rules.fit_gamma_gamma(summary.frequency, summary.monetary)
        except ValueError as exc:
            raise CommandError(f"{options['file']}: {exc}", returncode=2) from exc
        report = {
            "file": str(options["file"]),
            "calibration_end": end.isoformat(),
            "time_unit": unit,
            "transactions": int(data.days.size),
            "customers": int(summary.customer.size),
            "repeat_buyers": int((summary.frequency > 0).sum()),
            "read_seconds": round(read_seconds, 3),
            "models": {name: fit.as_dict() for name, fit in models.items()},
        }
        self.stdout.write(json.dumps(report, indent=2))

    def handle_rfm(self, options):
        from ecrm.value import api

        window = options["window_days"]
        if window < 0:
            raise CommandError("--window-days must be 0 (all orders) or more", returncode=2)
        if options["dormant_days"] < 1:
            raise CommandError("--dormant-days must be at least 1", returncode=2)
        run = api.compute_rfm(window_days=window or None, dormant_days=options["dormant_days"])
        flags = api.flag_counts()
        self.stdout.write(f"{'group':<22}{'customers':>11}{'share':>9}{'revenue share':>15}")
        for group in api.group_counts():
            self.stdout.write(
                f"{group.en:<22}{group.customers:>11}{group.share:>9.1%}"
                f"{group.revenue_share:>15.1%}"
            )
        self.stdout.write(f"customers scored: {run.customers}")
        self.stdout.write(f"top 20% of customers bring {run.top20_share:.1%} of revenue")
        self.stdout.write(
            f"dormant (no order in {run.dormant_days} days): {flags['dormant']}; "
            f"low return: {flags['low_return']}"
        )
        self.stdout.write(f"seconds: {run.seconds}")
