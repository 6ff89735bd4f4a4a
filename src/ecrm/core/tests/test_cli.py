"""The ``ecrm`` command as a new user meets it."""

import os
import subprocess
import sys


def test_a_command_before_init_says_to_run_init_instead_of_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ECRM_DATA_DIR")}
    (tmp_path / "orders.csv").write_text("order_id,placed_at,sku,unit_price\nA-1,2026-11-11,S,1\n")
    done = subprocess.run(
        [sys.executable, "-m", "ecrm", "import", "orders", "orders.csv", "--no-progress"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    database = tmp_path / "var" / "ecrm.sqlite3"
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"ecrm: the database {database} has no eCRM tables yet: run `ecrm init` first "
        "(or set ECRM_DATA_DIR or DATABASE_URL to the shop's database)\n"
    )
