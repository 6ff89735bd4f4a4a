"""``ecrm import customers|products|orders FILE [--mapping NAME_OR_FILE] [--rejects PATH]``."""

from django.core.management.base import BaseCommand, CommandError

from ecrm.imports import api as imports


class Command(BaseCommand):
    help = (
        "Import customers, products or orders from a CSV or JSON Lines file (plain or .gz). "
        "Importing the same file twice changes nothing; bad rows go to a reject CSV."
    )

    # The checks take about a second at start-up; ``ecrm init`` and ``ecrm serve`` run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=imports.KINDS)
        parser.add_argument("file", help="CSV or JSON Lines file, optionally gzip-compressed")
        parser.add_argument(
            "--mapping",
            help=(
                "a built-in mapping name ("
                + ", ".join(imports.builtin_mappings())
                + ") or a mapping JSON file; without it, columns named like eCRM fields are used"
            ),
        )
        parser.add_argument(
            "--rejects", help="where to write rejected rows (default: under the data directory)"
        )
        parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")

    def handle(self, *args, **options):
        try:
            summary = imports.run_import(
                options["kind"],
                options["file"],
                mapping=options["mapping"],
                rejects=options["rejects"],
                progress=not options["no_progress"],
            )
        except (imports.MappingError, imports.ImportFileError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(format_summary(summary))
        if summary.rows_read == 0:
            self.stderr.write(f"warning: {options['file']} has no rows after its header")


def format_summary(summary) -> str:
    lines = [
        f"Imported {summary.kind} from {summary.file} in {summary.seconds:.1f} s "
        f"({summary.rows_per_second:,.0f} rows/s), run #{summary.run_id}",
        f"  rows: {summary.rows_read:,} read, {summary.rows_accepted:,} accepted, "
        f"{summary.rows_rejected:,} rejected",
    ]
    names = sorted(set(summary.created) | set(summary.changed) | set(summary.unchanged))
    for name in names:
        parts = [
            f"{summary.created.get(name, 0):,} created",
            f"{summary.changed.get(name, 0):,} changed",
        ]
        if name in summary.unchanged:
            parts.append(f"{summary.unchanged[name]:,} unchanged")
        lines.append(f"  {name}: " + ", ".join(parts))
    if summary.reject_file:
        lines.append(f"  rejected rows written to {summary.reject_file}")
    if summary.queued_customers:
        count = summary.queued_customers
        lines.append(
            f"  queued for the worker: figures, loyalty, segments and promotions of "
            f"{count:,} customer{'s' if count != 1 else ''} "
            "(`ecrm worker`, or `ecrm serve`, runs it)"
        )
    return "\n".join(lines)
