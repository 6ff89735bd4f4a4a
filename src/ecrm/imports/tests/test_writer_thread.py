"""Outside a transaction, orders are written on a second thread while the next ones are
parsed: the result must be exactly what the in-line path writes, and a failure on the
writing thread must reach the caller and be recorded on the run."""

import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction

from ecrm.figures import api as figures
from ecrm.imports import api as imports
from ecrm.imports import services
from ecrm.imports.models import ImportRun
from ecrm.orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db(transaction=True)
HEADER = "order_id,customer_id,email,placed_at,status,currency,sku,product_name,quantity,unit_price"


def _file(tmp_path: Path, orders: int) -> Path:
    """``orders`` orders of two lines each, by 7 buyers; order i costs 10 + i."""
    rows = [HEADER]
    for i in range(orders):
        buyer = f"C{i % 7}"
        for sku, price in ((f"SKU-{i % 5}", 10 + i), ("SKU-GIFT", 0)):
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


def test_threaded_and_inline_writes_are_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "ORDER_BATCH_LINES", 40)  # 10 batches of 20 orders
    threads: set[str] = set()
    write = services._write_orders

    def spy(*args):
        threads.add(threading.current_thread().name)
        return write(*args)

    monkeypatch.setattr(services, "_write_orders", spy)
    path = _file(tmp_path, 200)
    summary = imports.run_import("orders", path)
    assert threads == {"import-writer"}
    assert (summary.rows_read, summary.created["orders"], summary.created["customers"]) == (
        400,
        200,
        7,
    )
    threaded = _state()
    assert sum(total for _, _, total in threaded["orders"]) == sum(
        Decimal(10 + i) for i in range(200)
    )

    Order.objects.all().delete()
    threads.clear()
    with transaction.atomic():
        imports.run_import("orders", path)
    assert threads == {"MainThread"}
    assert _state() == threaded


def test_a_failure_on_the_writing_thread_reaches_the_caller(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "ORDER_BATCH_LINES", 40)
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
    # The two batches written before the failure stay (each is its own transaction, and
    # re-running the import completes it); nothing of the failed batch is half-written.
    assert Order.objects.count() == 40
    assert OrderLine.objects.count() == 80
    assert not any(t.name == "import-writer" for t in threading.enumerate())


def test_the_writer_skips_foreign_key_checks_and_every_reference_holds(tmp_path, monkeypatch):
    """SQLite: the import's writer checks no foreign keys (each order's customer, product and
    order were resolved or written in its own transaction); afterwards every reference of
    the imported rows holds and checks are back on."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("a SQLite connection setting")
    monkeypatch.setattr(services, "ORDER_BATCH_LINES", 40)
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
