"""``ecrm value fit FILE --customer COL --date COL --amount COL --calibration-end YYYY-MM-DD``.

Fits BG/NBD, Pareto/NBD and Gamma-Gamma on any transaction file without loading it into
the shop, and prints the parameters, log-likelihoods and fit times as JSON.
"""

import datetime as dt
import json
import time

from django.core.management.base import BaseCommand, CommandError

from ecrm.value import readers, rules


class Command(BaseCommand):
    help = "Fit the customer-value models (BG/NBD, Pareto/NBD, Gamma-Gamma) on a transaction file."

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

    def handle(self, *args, **options):
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
