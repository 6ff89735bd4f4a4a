"""A whole benchmark run at tiny scale: every figure gets its row in the report."""

import pytest

from ecrm.bench import runner
from ecrm.bench.rules import TARGETS


@pytest.mark.django_db(transaction=True)
def test_tiny_run_reports_every_figure(tmp_path):
    """The report names command, data, database, machine and date, and has one row per figure.

    The server and the importer are real subprocesses on the test database; speed is
    not asserted here, only that each figure was measured or says why not.
    """
    output = tmp_path / "BENCHMARKS.md"
    options = runner.Options.quick(
        customers=150, import_lines=200, batches=2, requests=10, output=output, rebuild=True
    )
    setting, figures = runner.run(options, say=lambda message: None)
    report = output.read_text(encoding="utf-8")
    assert [f.key for f in figures] == [t[0] for t in TARGETS]
    for label in (t[1] for t in TARGETS):
        assert f"| {label} |" in report
    for heading in (
        "- Command: `ecrm bench`",
        "- Data: ",
        "- Database: ",
        "- Machine: ",
        "- Date: ",
    ):
        assert heading in report
    assert setting.sizes["customers"] == 150
    assert [f.key for f in figures if f.status == "not measured" and not f.detail] == []
