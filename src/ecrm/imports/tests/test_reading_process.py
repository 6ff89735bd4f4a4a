"""Outside a transaction, the file is read and parsed in a child process while the
importing process writes: the result must be exactly what the in-line path writes, bad
rows found by the child must reach the reject file, and a failure on either side must
reach the caller, be recorded on the run and leave no process behind."""

import csv
import multiprocessing
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction

from ecrm.figures import api as figures
from ecrm.imports import api as imports
from ecrm.imports import services
from ecrm.imports.models import ImportRun
from ecrm.orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db(transaction=True)
HEADER = "order_id,customer_id,email,placed_at,status,currency,sku,product_name,quantity,unit_price"


def _file(tmp_path: Path, orders: int, bad: bool = False) -> Path:
    """``orders`` orders of two lines each, by 7 buyers; order i costs 10 + i. ``bad``:
    order T-0003's second line has a price that is not a number (line 9 of the file)."""
    rows = [HEADER]
    for i in range(orders):
        buyer = f"C{i % 7}"
        for sku, price in ((f"SKU-{i % 5}", 10 + i), ("SKU-GIFT", 0)):
            if bad and i == 3 and sku == "SKU-GIFT":
                price = "abc"
            rows.append(
                f"T-{i:04d},{buyer},{buyer.lower()}@example.com,2026-11-11 10:00:00,paid,CNY,"
                f"{sku},商品 {sku},1,{price}"
            )
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _state() -> dict:
    return {
        "orders": sorted(Order.objects.values_list("external_id", "content_hash", "total")),
        "lines": sorted(OrderLine.objects.values_list("order__external_id", "sku", "amount")),
        "figures": sorted(
            (f.order_count, f.revenue)
            for f in (figures.figures_of(c) for c in Order.objects.values_list("customer_id"))
        ),
    }


def _readers() -> list[str]:
    return [p.name for p in multiprocessing.active_children() if p.name == "import-reader"]


@pytest.fixture(autouse=True)
def spool_root(tmp_path, monkeypatch) -> Path:
    """Where the reading process spools its batches (tempfile's directory); each test
    checks that nothing is left in it."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def _small_chunks(monkeypatch, grouped: bool = False) -> None:
    """Chunks of at least 10 lines (5 orders of ``_file``), transactions of 20 to 40.
    Unless ``grouped``, each chunk is its own transaction, as when the writer is never
    behind the reading process and commits each chunk: which chunks one transaction takes
    depends on timing."""
    monkeypatch.setattr(services, "ORDER_CHUNK_LINES", 10)
    monkeypatch.setattr(services, "ORDER_BATCH_LINES", 40)
    monkeypatch.setattr(services, "ORDER_MIN_LINES", 20 if grouped else 10)
    if not grouped:
        monkeypatch.setattr(services._ReadingProcess, "ready", lambda self: False)


def _rejects(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [row[:3] for row in csv.reader(handle)]


@pytest.mark.parametrize("buyers_sent", [1_000_000, 3])
def test_forked_and_inline_reading_write_the_same(tmp_path, monkeypatch, spool_root, buyers_sent):
    # Chunks of 5 orders (T-0003 is rejected): 40 for 199 orders. The child sends each of
    # the 7 buyers whole once and by number after that; with ``buyers_sent`` 3 the
    # numbering restarts often.
    _small_chunks(monkeypatch)
    monkeypatch.setattr(services._ReadingProcess, "BUYERS_SENT", buyers_sent)
    readers: list[list[str]] = []
    write = services._write_orders

    def spy(*args):
        readers.append(_readers())
        return write(*args)

    monkeypatch.setattr(services, "_write_orders", spy)
    path = _file(tmp_path, 200, bad=True)
    summary = imports.run_import("orders", path, rejects=tmp_path / "forked.csv")
    # The child reads ahead: it may have handed over its last batch and ended before the
    # last writes, never before the first.
    assert len(readers) == 40 and readers[0] == ["import-reader"]
    assert _readers() == [] and list(spool_root.iterdir()) == []
    assert (summary.rows_read, summary.created["orders"], summary.created["customers"]) == (
        400,
        199,
        7,
    )
    assert _rejects(summary.reject_file) == [
        ["line", "reason", "order_id"],
        ["8", "order T-0003 is rejected whole: line 9 is bad", "T-0003"],
        ["9", "unit_price: 'abc' is not a number", "T-0003"],
    ]
    forked = _state()
    assert sum(total for _, _, total in forked["orders"]) == sum(
        Decimal(10 + i) for i in range(200) if i != 3
    )

    Order.objects.all().delete()
    readers.clear()
    with transaction.atomic():
        inline = imports.run_import("orders", path, rejects=tmp_path / "inline.csv")
    assert readers and all(r == [] for r in readers)
    assert _state() == forked
    assert _rejects(inline.reject_file) == _rejects(summary.reject_file)


def test_a_failure_on_the_writing_side_reaches_the_caller(tmp_path, monkeypatch, spool_root):
    _small_chunks(monkeypatch)
    calls = []
    write = services._write_orders

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return write(*args)

    monkeypatch.setattr(services, "_write_orders", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        imports.run_import("orders", _file(tmp_path, 200))
    run = ImportRun.objects.get()
    assert (run.status, run.error) == (ImportRun.Status.FAILED, "disk full")
    # The two transactions written before the failure (5 orders each) stay, and re-running
    # the import completes it. Nothing of the failed one is half-written.
    assert Order.objects.count() == 10
    assert OrderLine.objects.count() == 20
    assert _readers() == [] and list(spool_root.iterdir()) == []


def test_a_failure_in_the_reading_process_reaches_the_caller(tmp_path, monkeypatch, spool_root):
    _small_chunks(monkeypatch)
    parse = services._parse_order
    calls = []

    def failing(*args):  # runs in the child, which inherits this patch
        calls.append(1)
        if len(calls) == 50:
            raise KeyError("mapping table lost")
        return parse(*args)

    monkeypatch.setattr(services, "_parse_order", failing)
    with pytest.raises(KeyError, match="mapping table lost") as caught:
        imports.run_import("orders", _file(tmp_path, 200))
    assert "in the import's reading process" in caught.value.__notes__[0]
    assert "failing" in caught.value.__notes__[0]  # the child's traceback
    run = ImportRun.objects.get()
    assert (run.status, run.error) == (ImportRun.Status.FAILED, "'mapping table lost'")
    assert Order.objects.count() == 45  # the 9 chunks the child finished
    assert calls == []  # the parsing ran in the child, not here
    assert _readers() == [] and list(spool_root.iterdir()) == []


def test_the_writer_skips_foreign_key_checks_and_every_reference_holds(tmp_path, monkeypatch):
    """SQLite: the import checks no foreign keys while it writes (each order's customer, product and
    order were resolved or written in its own transaction); afterwards every reference of
    the imported rows holds and checks are back on."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("a SQLite connection setting")
    _small_chunks(monkeypatch)
    seen: list[int] = []
    write = services._write_orders

    def spy(*args):
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys")
            seen.append(cursor.fetchone()[0])
        return write(*args)

    monkeypatch.setattr(services, "_write_orders", spy)
    imports.run_import("orders", _file(tmp_path, 60))
    assert set(seen) == {0}
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_key_check")
        assert cursor.fetchall() == []
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
    assert Order.objects.count() == 60


def test_a_batch_that_cannot_be_sent_fails_the_import_instead_of_vanishing(
    tmp_path, monkeypatch, spool_root
):
    """A multiprocessing queue's feeder thread would print a pickling error and drop the
    batch; the child pickles each batch itself, so the import fails instead."""
    import pickle

    from ecrm.orders import api as orders

    _small_chunks(monkeypatch)
    pack = orders.pack_orders

    def unsendable(documents):  # runs in the child
        return [
            (*packed[:-1], (lambda: None,)) if packed[0] == "T-0050" else packed
            for packed in pack(documents)
        ]

    monkeypatch.setattr(orders, "pack_orders", unsendable)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        imports.run_import("orders", _file(tmp_path, 200))
    assert ImportRun.objects.get().status == ImportRun.Status.FAILED
    assert Order.objects.count() == 50  # the 10 chunks before T-0050's; nothing after
    assert _readers() == [] and list(spool_root.iterdir()) == []


class _Reading:
    """Stands in for the reading process: whether it has ended."""

    def __init__(self):
        self.ended = False

    def finished(self) -> bool:
        return self.ended


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write-ahead log")
def test_the_checkpointer_syncs_while_reading_and_folds_in_once_reading_ends():
    """What an import commits with automatic checkpoints off stays in the write-ahead log.
    While the reading process runs, the checkpointer's thread only syncs the log after a
    commit; once reading has ended it copies the log into the database file, without
    waiting for another commit. (The file's bytes are compared, not its size: earlier
    tests leave free pages the new rows may fill.)"""
    import hashlib

    database = Path(connection.settings_dict["NAME"])

    def content() -> str:
        return hashlib.blake2b(database.read_bytes(), digest_size=16).hexdigest()

    def wait_until(condition) -> None:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.02)

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    reading = _Reading()
    folding = services._Checkpointer(reading)
    try:
        before = content()
        with transaction.atomic():
            Order.objects.bulk_create(
                Order(
                    external_id=f"W-{i:05d}",
                    status="paid",
                    currency="CNY",
                    placed_at="2026-11-11T10:00:00+00:00",
                    status_changed_at="2026-11-11T10:00:00+00:00",
                    coupon="x" * 80,
                )
                for i in range(3000)
            )
        folding.poke()
        wait_until(lambda: folding.synced == 1)
        time.sleep(0.2)
        assert folding.synced == 1
        assert content() == before  # synced, but only in the log
        reading.ended = True  # no poke: the thread sees it on its own
        wait_until(lambda: content() != before)
        assert content() != before
        folding.stop()
        folding.stop()  # twice is harmless
        assert not folding._thread.is_alive()
        assert folding.synced == 1
    finally:
        folding.stop()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=1000")


def test_the_child_looks_up_stored_buyers_on_its_own_connection(tmp_path, monkeypatch):
    """The reading process looks each chunk's new buyers up; a stored profile's orders
    come to the importing process with its id, the buyer is not sent again. A stored
    buyer the file gives a new identifier is sent and resolved in its transaction, which
    attaches it. A profile merged into another after the lookup: its orders go to that."""
    from ecrm.core import audit
    from ecrm.customers import api as customers
    from ecrm.customers.models import Customer, Identity

    _small_chunks(monkeypatch)
    # As on the command line: no other thread (here tqdm's monitor, left by an earlier
    # test's progress bar) that might hold a connection.
    monkeypatch.setattr(services.threading, "active_count", lambda: 1)
    claim = customers.make_claim
    c0 = customers.create_customer(
        profile={"name": "王芳"},
        claims=[claim("external", "C0", namespace="import"), claim("email", "c0@example.com")],
    ).pk
    c1 = customers.create_customer(
        profile={"name": "李娜"}, claims=[claim("external", "C1", namespace="import")]
    ).pk
    c2 = customers.create_customer(
        profile={"name": "张伟"},
        claims=[claim("external", "C2", namespace="import"), claim("email", "c2@example.com")],
    ).pk
    survivor = customers.create_customer(profile={"name": "张伟"}).pk
    known: list[list] = []
    sent: list[set] = []
    write = services._write_chunk

    def spy(chunk, *args):  # here, in the importing process
        if not known:  # after the child's lookups: C2 is merged away meanwhile
            customers.merge_customers(c2, survivor, actor=audit.SYSTEM)
        known.append([(order[0], cid) for order, cid in chunk.known_orders])
        sent.append({claims[0].value for claims in (r.claims for r in chunk.buyers)})
        return write(chunk, *args)

    monkeypatch.setattr(services, "_write_chunk", spy)
    summary = imports.run_import("orders", _file(tmp_path, 200))

    # The first chunk's buyers C0..C4: C0 and C2 stored whole, C1 without its email. Their
    # orders (buyer i % 7) are sent with the customer id in every chunk.
    assert known[0] == [("T-0000", c0), ("T-0002", c2)]
    assert [order for chunk in known for order, _ in chunk] == [
        f"T-{i:04d}" for i in range(200) if i % 7 in (0, 2)
    ]
    assert all("C0" not in buyers and "C2" not in buyers for buyers in sent)
    assert sent[0] == {"C1", "C3", "C4"}
    assert (summary.created["orders"], summary.created["customers"]) == (200, 4)
    assert summary.changed.get("customers", 0) == 1  # C1's email attached
    emails = Identity.objects.filter(kind="email", customer__in=(c0, c1, survivor))
    assert sorted(emails.values_list("customer_id", "value")) == [
        (c0, "c0@example.com"),
        (c1, "c1@example.com"),
        (survivor, "c2@example.com"),
    ]
    by_buyer = dict(
        Order.objects.filter(external_id__in=("T-0000", "T-0001", "T-0002")).values_list(
            "external_id", "customer_id"
        )
    )
    assert by_buyer == {"T-0000": c0, "T-0001": c1, "T-0002": survivor}
    assert not Order.objects.filter(customer_id=c2).exists()
    assert Customer.objects.count() == 8


def test_a_transaction_takes_the_chunks_that_are_ready(tmp_path, monkeypatch, spool_root):
    """While the importing process writes, the reading process reads ahead; the
    transaction then takes every chunk already read, up to ``ORDER_BATCH_LINES`` lines."""
    _small_chunks(monkeypatch, grouped=True)
    groups: list[list[int]] = []
    write = services._write_orders

    def slow(chunks, *args):
        sizes: list[int] = []
        groups.append(sizes)

        def seen():
            for chunk in chunks:
                sizes.append(len(chunk.orders))
                if len(groups) == 1 and len(sizes) == 1:
                    time.sleep(0.5)  # the child reads on meanwhile
                yield chunk

        return write(seen(), *args)

    monkeypatch.setattr(services, "_write_orders", slow)
    summary = imports.run_import("orders", _file(tmp_path, 100))
    assert summary.created["orders"] == 100
    # After its first chunk's half second, the first transaction finds the next three read
    # and takes them: a full transaction's worth, 40 lines. Each takes 20 lines at least.
    assert groups[0] == [5, 5, 5, 5]
    assert sum(map(sum, groups)) == 100 and all(10 <= sum(g) <= 20 for g in groups[:-1])


def test_transactions_take_chunks_while_more_are_ready(monkeypatch):
    monkeypatch.setattr(services, "ORDER_BATCH_LINES", 40)
    monkeypatch.setattr(services, "ORDER_MIN_LINES", 20)
    sizes = (10, 10, 10, 10, 10, 30, 5, 5)
    chunks = [services._Chunk([], [], [], read=n, lines=lines) for n, lines in enumerate(sizes)]
    # Asked only once a transaction holds 20 lines and less than 40: after chunks 1 and 2,
    # and after chunk 4. Chunk 5 fills a transaction; the last one ends with the chunks.
    answers = iter((True, False, True))
    groups = services._transactions(chunks, lambda: next(answers))
    assert [[c.read for c in group] for group in groups] == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert next(answers, None) is None


def test_a_transaction_s_chunks_are_taken_once():
    chunks = [services._Chunk([], [], [], read=n, lines=10) for n in range(3)]
    group = next(services._transactions(chunks, lambda: True))
    assert [c.read for c in group] == [0, 1, 2]
    with pytest.raises(RuntimeError):
        list(group)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's lock state per process")
def test_the_child_looks_nothing_up_where_another_thread_may_hold_a_connection(
    tmp_path, monkeypatch, spool_root
):
    """In a worker, other threads may hold connections to the database, whose lock state
    the child would inherit: its own connection would be unsafe, so it reads only, and the
    transactions resolve every buyer (with the same result)."""
    from ecrm.customers import api as customers

    _small_chunks(monkeypatch)
    monkeypatch.setattr(services.threading, "active_count", lambda: 2)
    claim = customers.make_claim
    c0 = customers.create_customer(
        profile={"name": "王芳"}, claims=[claim("external", "C0", namespace="import")]
    ).pk
    known: list[list] = []
    write = services._write_chunk

    def spy(chunk, *args):
        known.append(chunk.known_orders)
        return write(chunk, *args)

    monkeypatch.setattr(services, "_write_chunk", spy)
    imports.run_import("orders", _file(tmp_path, 20))
    assert known == [[], [], [], []]
    assert Order.objects.get(external_id="T-0007").customer_id == c0
