"""A whole benchmark run at tiny scale: every figure gets its row in the report."""

import pytest
from django.db import connection

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
        customers=150,
        import_lines=200,
        batches=2,
        requests=10,
        output=output,
        rebuild=True,
        only=(runner.FOUNDATION,),
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


@pytest.mark.django_db(transaction=True)
def test_every_domain_section_measures_on_a_tiny_dataset(tmp_path):
    """Each domain's ``bench`` module runs on the same dataset and gets its own part of the
    report, with one row per target it declares."""
    output = tmp_path / "BENCHMARKS.md"
    sections = runner.domain_sections()
    names = tuple(name for name, _ in sections)
    options = runner.Options.quick(
        customers=150, requests=10, output=output, rebuild=True, only=names
    )
    _, figures = runner.run(options, say=lambda message: None)
    report = output.read_text(encoding="utf-8")
    expected = [t[0] for _, module in sections for t in module.TARGETS]
    assert sorted(f.key for f in figures) == sorted(expected)
    vendor = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    for name, module in sections:
        assert f"<!-- bench:{vendor}-150-{name}:start -->" in report
        assert f"## {module.TITLE}: " in report
    assert [f.key for f in figures if f.status == "not measured" and not f.detail] == []


def test_an_unknown_section_is_refused_with_the_known_ones():
    options = runner.Options.quick(only=("segmnets",), output=None)
    with pytest.raises(RuntimeError, match="unknown benchmark section segmnets; the sections"):
        runner.run(options, say=lambda message: None)


def test_a_reused_sqlite_file_is_read_into_the_page_cache(tmp_path, monkeypatch):
    from ecrm.bench import measure

    path = tmp_path / "ecrm.sqlite3"
    path.write_bytes(b"x" * 50_000)
    monkeypatch.setitem(connection.settings_dict, "NAME", str(path))
    assert measure.read_into_cache() == (50_000 if connection.vendor == "sqlite" else 0)
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "gone.sqlite3"))
    assert measure.read_into_cache() == 0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's file locks")
def test_reading_the_file_leaves_this_process_s_sqlite_locks_in_place(tmp_path, monkeypatch):
    """Another process closing the database must still see this one holding it open, and so
    leave the log alone: a descriptor of the file closed here would have dropped the lock."""
    import sqlite3
    import subprocess
    import sys

    from ecrm.bench import measure

    path = tmp_path / "ecrm.sqlite3"
    here = sqlite3.connect(path, isolation_level=None)
    here.execute("PRAGMA journal_mode=WAL")
    here.execute("CREATE TABLE t (x)")
    here.execute("INSERT INTO t VALUES (1)")
    monkeypatch.setitem(connection.settings_dict, "NAME", str(path))
    assert measure.read_into_cache() == path.stat().st_size
    other = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('INSERT INTO t VALUES (2)'); c.commit(); c.close()"
    )
    subprocess.run([sys.executable, "-c", other, str(path)], check=True)
    assert path.with_name("ecrm.sqlite3-wal").exists()  # the closing process was not the last
    assert here.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    here.close()
