"""``ecrm coupons``: campaigns from a JSON file, batches of codes, uses and referrals."""

import csv
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecrm.core.audit import Actor
from ecrm.promotions import queries, rules, services
from ecrm.promotions.models import CouponCampaign

CLI = Actor("cli")


class Command(BaseCommand):
    help = (
        "Coupons: `coupons list`; `coupons save FILE.json` (name, code, definition); "
        "`coupons generate CAMPAIGN_ID --count N [--prefix P] [--output FILE.csv]`; "
        "`coupons settle-referrals` rewards referrals whose first qualifying order is in."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="every campaign with its uses and budget")
        save = sub.add_parser("save", help="create or update a campaign from a JSON file")
        save.add_argument("file")
        save.add_argument("--id", type=int, help="save a new version of this campaign")
        gen = sub.add_parser("generate", help="a batch of codes for a unique-code campaign")
        gen.add_argument("campaign", type=int)
        gen.add_argument("--count", type=int, required=True)
        gen.add_argument("--prefix", default="")
        gen.add_argument("--output", help="CSV file (default: standard output)")
        sub.add_parser("settle-referrals", help="reward every pending referral that qualifies")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "list":
            return self._list()
        if action == "save":
            return self._save(options)
        if action == "generate":
            return self._generate(options)
        count = services.settle_referrals(None)
        self.stdout.write(f"{count} referrals rewarded")

    def _list(self):
        for c in queries.campaigns():
            terms = services.terms_of(c)
            code = queries.shared_code(c.pk) if terms.codes == "shared" else "(unique codes)"
            limit = f"/{c.limit_total}" if c.limit_total else ""
            budget = f"/{c.budget}" if c.budget is not None else ""
            self.stdout.write(
                f"#{c.pk} {c.name} [{c.status}] {code} {rules.describe(terms)}: "
                f"uses {c.uses}{limit}, discount {c.spent:.2f}{budget} {terms.currency}"
            )

    def _save(self, options):
        path = Path(options["file"])
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        if not isinstance(raw, dict) or "definition" not in raw:
            raise CommandError(f"{path}: expected an object with name, code and definition")
        try:
            campaign = services.save_campaign(
                name=raw.get("name", ""),
                description=raw.get("description", ""),
                code=raw.get("code", ""),
                definition=raw["definition"],
                actor=CLI,
                campaign_id=options["id"],
            )
        except rules.DefinitionError as exc:
            raise CommandError(f"{path}: definition.{exc.field}: {exc.message}") from exc
        except services.PromotionError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except CouponCampaign.DoesNotExist as exc:
            raise CommandError(f"no campaign #{options['id']}") from exc
        self.stdout.write(f"saved campaign #{campaign.pk} {campaign.name} v{campaign.version}")

    def _generate(self, options):
        if not CouponCampaign.objects.filter(pk=options["campaign"]).exists():
            raise CommandError(f"no campaign #{options['campaign']}")
        try:
            codes = services.generate_codes(
                options["campaign"], options["count"], prefix=options["prefix"], actor=CLI
            )
        except services.PromotionError as exc:
            raise CommandError(str(exc)) from exc
        if options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as handle:
                self._write(handle, codes)
        else:
            self._write(sys.stdout, codes)
        if options["output"]:
            self.stdout.write(f"{len(codes)} codes written to {options['output']}")

    @staticmethod
    def _write(handle, codes) -> None:
        out = csv.writer(handle)
        out.writerow(["code"])
        out.writerows([c] for c in codes)
