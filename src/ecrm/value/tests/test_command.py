"""``ecrm value fit``: JSON output on real and hand-made files; bad input names the line."""

import gzip
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

CANDIDATES = [
    Path(__file__).resolve().parents[5] / "shared/data/cdnow/btyd_cdnowElog.csv",
    Path("/work/shared/data/cdnow/btyd_cdnowElog.csv"),
]
ELOG = next((p for p in CANDIDATES if p.is_file()), None)

CSV = (
    "order,buyer,when,total\n"
    "1,A,2020-01-01,10\n"
    "2,A,2020-01-08,20\n"
    "3,A,2020-01-15,30\n"
    "4,B,2020-01-02,5\n"
    "5,B,2020-01-20,15\n"
    "6,C,2020-01-03,8\n"
    "7,D,2020-01-10,4\n"
    "8,D,2020-01-24,6\n"
    "9,E,2020-01-05,9\n"
)


def fit(*args) -> dict:
    out = StringIO()
    call_command("value", "fit", *args, stdout=out)
    return json.loads(out.getvalue())


def fail(*args) -> CommandError:
    with pytest.raises(CommandError) as info:
        call_command("value", "fit", *args, stdout=StringIO())
    return info.value


def columns(path) -> list[str]:
    return [str(path), "--customer", "buyer", "--date", "when", "--amount", "total"]


@pytest.mark.realdata
@pytest.mark.skipif(ELOG is None, reason="../shared/data/cdnow/btyd_cdnowElog.csv is not here")
def test_fit_on_the_cdnow_event_log_reproduces_the_published_models():
    """From the raw purchases, 39 weeks to 1997-09-30: the published parameters again
    (recency and T unrounded here, so the third decimals are those of the exact data)."""
    report = fit(
        str(ELOG),
        "--customer",
        "masterid",
        "--date",
        "date",
        "--amount",
        "sales",
        "--calibration-end",
        "1997-09-30",
        "--time-unit",
        "week",
    )
    models = report["models"]
    rounded = {
        name: {k: round(v, 3) for k, v in model["params"].items()} for name, model in models.items()
    }
    assert (report["transactions"], report["customers"], report["repeat_buyers"]) == (
        6919,
        2357,
        946,
    )
    assert rounded == {
        "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
        "gamma_gamma": {"p": 6.25, "q": 3.744, "v": 15.444},
    }
    assert round(models["bgnbd"]["log_likelihood"], 1) == -9582.4
    assert round(models["pareto_nbd"]["log_likelihood"], 1) == -9595.0
    assert [models[m]["customers"] for m in ("bgnbd", "pareto_nbd", "gamma_gamma")] == [
        2357,
        2357,
        946,
    ]


def test_fit_on_a_gzipped_file_in_days(tmp_path):
    """A .gz file is read the same way; the report counts customers and repeat buyers."""
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(CSV)
    report = fit(*columns(path), "--calibration-end", "2020-01-31", "--time-unit", "day")
    assert (report["transactions"], report["customers"], report["repeat_buyers"]) == (9, 5, 3)
    assert report["time_unit"] == "day"
    assert sorted(report["models"]) == ["bgnbd", "gamma_gamma", "pareto_nbd"]
    assert sorted(report["models"]["bgnbd"]) == [
        "converged",
        "customers",
        "distinct_rows",
        "log_likelihood",
        "params",
        "seconds",
    ]


def test_missing_file(tmp_path):
    """A missing file is named; exit code 2."""
    error = fail(*columns(tmp_path / "nope.csv"), "--calibration-end", "2020-01-31")
    assert (str(error), error.returncode) == (f"{tmp_path / 'nope.csv'}: no such file", 2)


def test_unknown_column(tmp_path):
    """An unknown column is named with the columns that exist."""
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    error = fail(
        str(path), "--customer", "client", "--date", "when", "--amount", "total",
        "--calibration-end", "2020-01-31",
    )  # fmt: skip
    assert str(error) == (
        f"{path} line 1: no column 'client' for --customer; columns are: order, buyer, when, total"
    )
    assert error.returncode == 2


def test_unparseable_date_names_the_line(tmp_path):
    """A date that is not a date is reported with its file line."""
    path = tmp_path / "orders.csv"
    path.write_text(CSV.replace("2020-01-20", "20.1.2020"))
    error = fail(*columns(path), "--calibration-end", "2020-01-31")
    assert str(error) == (
        f"{path} line 6: 'when' value '20.1.2020' is not a date "
        "(YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)"
    )
    assert error.returncode == 2


def test_date_format_option(tmp_path):
    """--date-format reads other layouts; a value not matching it names the line."""
    path = tmp_path / "orders.csv"
    path.write_text(CSV.replace("2020-01-20", "20.01.2020"))
    error = fail(*columns(path), "--calibration-end", "2020-01-31", "--date-format", "%d.%m.%Y")
    assert str(error) == f"{path} line 2: 'when' value '2020-01-01' is not a date (%d.%m.%Y)"


def test_bad_amount_and_bad_calibration_end(tmp_path):
    """A non-numeric amount names its line; a bad calibration end is refused."""
    path = tmp_path / "orders.csv"
    path.write_text(CSV.replace(",30\n", ",thirty\n"))
    error = fail(*columns(path), "--calibration-end", "2020-01-31")
    assert str(error) == f"{path} line 4: 'total' value 'thirty' is not a number"
    error = fail(*columns(path), "--calibration-end", "31/01/2020")
    assert (str(error), error.returncode) == (
        "--calibration-end '31/01/2020' is not a date (YYYY-MM-DD)",
        2,
    )


def test_no_purchase_before_the_calibration_end(tmp_path):
    """Nothing to fit is an error, not an empty report."""
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    error = fail(*columns(path), "--calibration-end", "2019-12-31")
    assert str(error) == f"{path}: no purchases on or before 2019-12-31"


def test_the_cli_exits_with_code_2(tmp_path):
    """Run as a program, bad input prints the message and exits with status 2."""
    done = subprocess.run(
        [sys.executable, "-m", "ecrm", "value", "fit", *columns(tmp_path / "nope.csv"),
         "--calibration-end", "2020-01-31"],
        capture_output=True, text=True, env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == f"CommandError: {tmp_path / 'nope.csv'}: no such file"
