import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecrm.segments import fields, queries, rules, services
from ecrm.segments.models import Segment


class Command(BaseCommand):
    help = (
        "Work with segments: `segment preview FILE.json` prints size and sample; "
        "`segment refresh [--all | ID ...]` brings membership up to date."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("preview", help="size and sample member ids of a definition file")
        show.add_argument("file")
        show.add_argument("--sample", type=int, default=queries.DEFAULT_SAMPLE)
        show.add_argument("--now", help="evaluate at this ISO time instead of the clock")
        refresh = sub.add_parser(
            "refresh",
            help="rebuild segments whose conditions age with time (default), all, or by id",
        )
        refresh.add_argument("ids", nargs="*", type=int, help="segment ids")
        refresh.add_argument("--all", action="store_true", help="every rule segment")

    def handle(self, *args, **options):
        if options["action"] == "refresh":
            return self._refresh(options)
        return self._preview(options)

    def _refresh(self, options):
        if options["all"] and options["ids"]:
            raise CommandError("give segment ids or --all, not both")
        if options["all"]:
            results = services.build_all(reason="schedule")
        elif options["ids"]:
            known = set(Segment.objects.filter(pk__in=options["ids"]).values_list("pk", flat=True))
            for pk in options["ids"]:
                if pk not in known:
                    raise CommandError(f"no segment #{pk}")
            try:
                results = services.refresh_segments(options["ids"])
            except services.SegmentError as exc:
                raise CommandError(str(exc)) from exc
        else:
            results = services.refresh_segments()
        names = dict(Segment.objects.values_list("pk", "name"))
        for r in results:
            self.stdout.write(
                f"#{r.segment_id} {names.get(r.segment_id, '')}: size {r.size:,}, "
                f"+{r.entered:,} entered, -{r.left:,} left"
            )
        if not results:
            self.stdout.write("no segment to refresh")

    def _preview(self, options):
        path = Path(options["file"])
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"{path}: cannot read: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from exc
        try:
            definition = fields.validate(raw)
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
