import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ecrm.bench import runner


class Command(BaseCommand):
    help = (
        "Measure eCRM on a generated dataset (kept in --data-dir and reused): bulk import, "
        "/v1/batch ingestion, profile and search latency, recompute time and server memory; "
        "print a table and write docs/BENCHMARKS.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=None, help="default 1,000,000")
        parser.add_argument(
            "--events", type=int, default=None, help="default about 10 per customer"
        )
        parser.add_argument("--orders", type=int, default=None, help="default about 3 per customer")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--quick", action="store_true", help="a small run (2,000 customers)")
        parser.add_argument("--import-lines", type=int, default=None, help="default 500,000")
        parser.add_argument(
            "--batches", type=int, default=None, help="per /v1/batch run; default 200"
        )
        parser.add_argument(
            "--requests", type=int, default=None, help="per latency figure; default 500"
        )
        parser.add_argument("--rebuild", action="store_true", help="regenerate the dataset")
        parser.add_argument(
            "--only",
            default="",
            help="comma-separated sections to measure: foundation, "
            + ", ".join(runner.DOMAIN_SECTIONS)
            + " (default: all)",
        )
        parser.add_argument("--data-dir", default="./bench-data", help="default ./bench-data")
        parser.add_argument(
            "--output",
            default=None,
            help="report file (default docs/BENCHMARKS.md; --quick: DATA_DIR/BENCHMARKS-quick.md)",
        )

    def handle(self, *args, **o):
        data_dir = Path(o["data_dir"]).resolve()
        if Path(settings.ECRM["DATA_DIR"]).resolve() != data_dir:
            return self._in_bench_dir(data_dir, o)
        base = runner.Options.quick() if o["quick"] else runner.Options()
        overrides = {
            key: o[key]
            for key in ("customers", "events", "orders", "import_lines", "batches", "requests")
            if o[key] is not None
        }
        for key, value in overrides.items():
            if value < 1:
                raise CommandError(f"--{key.replace('_', '-')} must be at least 1")
        output = (
            Path(o["output"])
            if o["output"]
            else (data_dir / "BENCHMARKS-quick.md" if o["quick"] else Path("docs/BENCHMARKS.md"))
        )
        options = runner.Options(
            **{
                **base.__dict__,
                **overrides,
                "seed": o["seed"],
                "rebuild": o["rebuild"],
                "only": tuple(part.strip() for part in o["only"].split(",") if part.strip()),
                "output": output.resolve(),
                "command": self._command_line(o),
            }
        )
        call_command("migrate", interactive=False, verbosity=0)
        try:
            runner.run(options, say=self._say)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    @staticmethod
    def _command_line(o) -> str:
        parts = ["ecrm bench"]
        if o["quick"]:
            parts.append("--quick")
        for key in ("customers", "events", "orders", "import_lines", "batches", "requests"):
            if o[key] is not None:
                parts.append(f"--{key.replace('_', '-')} {o[key]}")
        if o["seed"] != 42:
            parts.append(f"--seed {o['seed']}")
        if o["only"]:
            parts.append(f"--only {o['only']}")
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            parts.insert(0, "DATABASE_URL=postgresql://…")
        return " ".join(parts)

    def _in_bench_dir(self, data_dir: Path, o) -> None:
        """Run again with the bench data directory as ECRM_DATA_DIR (its own database)."""
        argv = [sys.executable, "-m", "ecrm", "bench", "--data-dir", str(data_dir)]
        for key in (
            "customers",
            "events",
            "orders",
            "import_lines",
            "batches",
            "requests",
            "output",
        ):
            if o[key] is not None:
                value = Path(o[key]).resolve() if key == "output" else o[key]
                argv += [f"--{key.replace('_', '-')}", str(value)]
        argv += ["--seed", str(o["seed"])]
        if o["only"]:
            argv += ["--only", o["only"]]
        argv += [flag for flag in ("--quick", "--rebuild") if o[flag[2:]]]
        data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, ECRM_DATA_DIR=str(data_dir))
        done = subprocess.run(argv, env=env)
        if done.returncode:
            raise SystemExit(done.returncode)
