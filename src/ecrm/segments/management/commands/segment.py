import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecrm.segments import queries, rules


class Command(BaseCommand):
    help = "Work with segment definitions: `segment preview FILE.json` prints size and sample."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("preview", help="size and sample member ids of a definition file")
        show.add_argument("file")
        show.add_argument("--sample", type=int, default=queries.DEFAULT_SAMPLE)
        show.add_argument("--now", help="evaluate at this ISO time instead of the clock")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"{path}: cannot read: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from exc
        try:
            definition = rules.validate(raw)
        except rules.DefinitionError as exc:
            raise CommandError(f"{path}: {exc.path}: {exc.message}") from exc
        now = None
        if options["now"]:
            try:
                now = dt.datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now: {options['now']!r} is not an ISO time") from exc
            now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
        result = queries.preview(definition, now=now, sample=options["sample"])
        self.stdout.write(f"size: {result.size}")
        self.stdout.write("sample: " + " ".join(str(i) for i in result.sample))
