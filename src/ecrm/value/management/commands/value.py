"""``ecrm value fit FILE --customer COL --date COL --amount COL --calibration-end YYYY-MM-DD``.

Fits BG/NBD, Pareto/NBD and Gamma-Gamma on any transaction file without loading it into
the shop, and prints the parameters, log-likelihoods and fit times as JSON.

``ecrm value rfm [--window-days N] [--dormant-days N] [--low-return-revenue X]
[--low-return-ratio R]`` scores every customer (RFM groups, dormant and low-return flags)
and prints the group counts and the 80/20 figure.

``ecrm value score [--horizon-days N] [--discount-rate R] [--pareto-sample N]`` fits
BG/NBD, Gamma-Gamma and Pareto/NBD on the shop's orders and stores every customer's
P(alive), expected purchases and CLV.

``ecrm value profit [--settings FILE.json] [--contact-cost CHANNEL=COST ...]
[--unknown-cost-ratio R]`` stores every customer's revenue, margin, discounts, points,
returns, service cost and profit.
"""

import datetime as dt
import json
import time

from django.core.management.base import BaseCommand, CommandError

from ecrm.value import readers, rfm, rules
from ecrm.value.services import DISCOUNT_RATE, HORIZON_DAYS, PARETO_SAMPLE


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
        scores.add_argument(
            "--low-return-revenue",
            type=float,
            default=rfm.LOW_RETURN_MIN_REVENUE,
            help="low return: net revenue (orders minus returns) at or below this amount",
        )
        scores.add_argument(
            "--low-return-ratio",
            type=float,
            default=rfm.LOW_RETURN_MAX_RATIO,
            help="low return: returned at least this share of what was bought (0-1)",
        )
        predict = actions.add_parser(
            "score",
            help="fit BG/NBD, Gamma-Gamma and Pareto/NBD on the orders; store P(alive), "
            "expected purchases and CLV of every customer",
        )
        predict.add_argument("--horizon-days", type=int, default=HORIZON_DAYS)
        predict.add_argument(
            "--discount-rate", type=float, default=DISCOUNT_RATE, help="annual, e.g. 0.1"
        )
        predict.add_argument(
            "--pareto-sample",
            type=int,
            default=PARETO_SAMPLE,
            help="buyers Pareto/NBD is fitted on (0: skip it)",
        )
        profit = actions.add_parser(
            "profit", help="store every customer's value, cost and profit; prints the totals"
        )
        profit.add_argument("--settings", help="JSON file of profit settings (docs: rules.py)")
        profit.add_argument(
            "--contact-cost",
            action="append",
            default=[],
            metavar="CHANNEL=COST",
            help="cost of one contact on a channel, e.g. phone=8 (repeatable)",
        )
        profit.add_argument(
            "--unknown-cost-ratio",
            type=float,
            help="cost as a share of revenue where a product has no cost "
            "(default: the shop's ratio on products with a cost)",
        )

    def handle(self, *args, **options):
        if options["action"] == "rfm":
            return self.handle_rfm(options)
        if options["action"] == "score":
            return self.handle_score(options)
        if options["action"] == "profit":
            return self.handle_profit(options)
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
        if options["low_return_revenue"] < 0:
            raise CommandError("--low-return-revenue must be 0 or more", returncode=2)
        if not 0 < options["low_return_ratio"] <= 1:
            raise CommandError("--low-return-ratio must be above 0 and at most 1", returncode=2)
        run = api.compute_rfm(
            window_days=window or None,
            dormant_days=options["dormant_days"],
            min_revenue=options["low_return_revenue"],
            max_return_ratio=options["low_return_ratio"],
        )
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

    def handle_score(self, options):
        from ecrm.value import api

        try:
            run = api.score_customers(
                horizon_days=options["horizon_days"],
                discount_rate=options["discount_rate"],
                pareto_sample=options["pareto_sample"],
            )
        except ValueError as exc:  # bad horizon or rate, or not enough data
            raise CommandError(str(exc), returncode=2) from exc
        report = {
            "computed_at": run.computed_at.isoformat(),
            "customers": run.customers,
            "repeat_buyers": run.repeat_buyers,
            "horizon_days": run.horizon_days,
            "discount_rate": run.discount_rate,
            "total_clv": str(run.total_clv),
            "expected_purchases": run.expected_purchases,
            "models": run.fits,
            "timings": run.timings,
            "seconds": run.seconds,
        }
        self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))

    def handle_profit(self, options):
        from ecrm.value import api

        raw = {}
        if options["settings"]:
            try:
                with open(options["settings"], encoding="utf-8") as handle:
                    raw = json.load(handle)
            except OSError as exc:
                raise CommandError(f"{options['settings']}: {exc.strerror}", returncode=2) from exc
            except json.JSONDecodeError as exc:
                raise CommandError(
                    f"{options['settings']}: line {exc.lineno}: {exc.msg}", returncode=2
                ) from exc
        elif options["contact_cost"] or options["unknown_cost_ratio"] is not None:
            raw = api.profit_settings().as_json()
        if options["contact_cost"]:
            costs = dict(raw.get("contact_costs", {})) if isinstance(raw, dict) else {}
            for item in options["contact_cost"]:
                channel, sep, cost = item.partition("=")
                try:
                    if not sep:
                        raise ValueError
                    costs[channel.strip()] = float(cost)
                except ValueError:
                    raise CommandError(
                        f"--contact-cost {item!r}: expected CHANNEL=COST, e.g. phone=8",
                        returncode=2,
                    ) from None
            raw = {**raw, "contact_costs": costs}
        if options["unknown_cost_ratio"] is not None:
            raw = {**raw, "unknown_cost_ratio": options["unknown_cost_ratio"]}
        try:
            run = api.compute_profit(settings=raw or None)
        except rules.SettingsError as exc:
            where = options["settings"] or "settings"
            raise CommandError(f"{where}: {exc}", returncode=2) from exc
        report = {
            "computed_at": run.computed_at.isoformat(),
            "customers": run.customers,
            "settings": run.settings,
            "applied_cost_ratio": run.applied_cost_ratio,
            "points_redeemed_from": run.points_source or "none (loyalty not installed)",
            "totals": run.totals,
            "seconds": run.seconds,
        }
        self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
