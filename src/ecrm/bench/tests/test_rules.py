"""Pure parts of the benchmark: percentiles, pass/fail and the report document."""

from ecrm.bench.rules import Figure, Setting, merge_document, percentile, section


def test_percentile_is_nearest_rank():
    """p95 of 1..100 is 95; p50 of 1..4 is 2."""
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([4, 1, 3, 2], 0.5) == 2


def test_status_compares_with_the_target_in_its_direction():
    """Throughput passes at or above its target, latency at or below, memory strictly below."""
    assert Figure("import", 50_000).status == "pass"
    assert Figure("import", 49_999).status == "fail"
    assert Figure("profile", 50).status == "pass"
    assert Figure("search", 100.5).status == "fail"
    assert Figure("memory", 1024).status == "fail"
    assert Figure("batch", None, detail="not measured: endpoint missing").status == "not measured"


def test_a_run_replaces_only_its_own_database_section():
    """Writing the PostgreSQL section keeps the SQLite one, and rewriting SQLite replaces it."""
    setting = Setting("ecrm bench", "SQLite 3.45", "CPU", "2026-01-01", {"customers": 10})
    sqlite_old = section("sqlite", setting, [Figure("recompute", 1.0)])
    postgres = section("postgresql", setting, [Figure("recompute", 2.0)])
    sqlite_new = section("sqlite", setting, [Figure("recompute", 3.0)])
    doc = merge_document("", "sqlite", sqlite_old)
    doc = merge_document(doc, "postgresql", postgres)
    doc = merge_document(doc, "sqlite", sqlite_new)
    assert doc.count("<!-- bench:sqlite:start -->") == 1
    assert sqlite_new in doc
    assert postgres in doc
    assert sqlite_old not in doc


def test_search_latency_is_broken_down_by_query_kind():
    """Each kind of query gets its own median and p95."""
    from ecrm.bench.measure import by_kind

    kinds = ["pinyin", "phone", "pinyin", "phone"]
    assert by_kind(kinds, [10.0, 2.0, 30.0, 4.0]) == "phone 3.0/4.0 ms; pinyin 20.0/30.0 ms"
