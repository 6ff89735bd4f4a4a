"""Bulk import of customers, products and orders from CSV or JSON Lines files.

``run_import`` reads the file, parses rows with ``rules.RowParser``, writes good rows in
batches (one transaction per batch, set-based writes through the domains' api) and writes
bad rows to a reject CSV. Every run is recorded as an ``ImportRun``.
"""

from __future__ import annotations

import csv
import gc
import json
import marshal
import multiprocessing
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone as dj_timezone
from django.utils import translation
from django.utils.translation import gettext_noop as N_
from tqdm import tqdm

from ecrm import flows
from ecrm.catalog import api as catalog
from ecrm.core import audit, clock
from ecrm.core.messages import Message, Problem
from ecrm.customers import api as customers
from ecrm.imports import rules
from ecrm.imports.models import ImportRun
from ecrm.imports.readers import CANNOT_BE_READ, ImportFileError, Table, open_table
from ecrm.imports.rules import Mapping, MappingError, RowError, RowParser
from ecrm.orders import api as orders

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
ORDER_BATCH_LINES = settings.ECRM["IMPORT_BATCH_LINES"]
# Orders are read in chunks of this many lines; one transaction writes chunks while more
# are ready, up to ORDER_BATCH_LINES lines, and at least ORDER_MIN_LINES (``_Transaction``).
# A chunk's size bounds the importer's own memory; a transaction's, SQLite's page cache
# (the pages it changed stay there until the commit): they are set apart.
ORDER_CHUNK_LINES = max(1, min(ORDER_BATCH_LINES // 4, 25_000))
ORDER_MIN_LINES = ORDER_BATCH_LINES // 2
ROW_BATCH = 2000


@dataclass
class ImportSummary:
    run_id: int
    kind: str
    file: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    created: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    reject_file: str = ""
    seconds: float = 0.0
    queued_customers: int = 0  # whose figures, loyalty, segments… the worker brings up to date

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0

    def add(self, section: str, name: str, count: int) -> None:
        counts = getattr(self, section)
        counts[name] = counts.get(name, 0) + count


# --- mappings --------------------------------------------------------------------


def builtin_mappings() -> list[str]:
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.json"))


def load_mapping(spec: str | None, kind: str) -> Mapping:
    """A built-in mapping by name, a mapping file by path, or (None) the identity mapping."""
    if kind not in rules.KINDS:
        raise rules.unknown_kind(kind)
    if not spec:
        return rules.parse_mapping({}, kind=kind)
    builtin = MAPPINGS_DIR / f"{spec}.json"
    if re.fullmatch(r"[a-z0-9][a-z0-9-]*", spec) and builtin.is_file():
        path = builtin
    else:
        path = Path(spec)
        if not path.is_file():
            raise MappingError(
                "",
                N_("mapping %(mapping)s is neither a built-in mapping (%(builtin)s) nor a file"),
                mapping=repr(spec),
                builtin=", ".join(builtin_mappings()),
            )
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise MappingError(
            f"mapping {spec}",
            N_("not valid JSON (%(error)s at line %(line)s column %(column)s)"),
            error=exc.msg,
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping {spec}", CANNOT_BE_READ, error=exc) from exc
    return rules.parse_mapping(data, kind=kind, name=path.stem)


# --- rejects ---------------------------------------------------------------------


class Rejects:
    """Bad rows with their physical line and reason, written sorted by line at the end;
    the reasons in ``language`` (that of whoever started the import; English if none)."""

    def __init__(self, header: list[str], language: str = "en"):
        self.header = header
        self.language = language
        self.rows: list[tuple[int, Message, list]] = []

    def add(self, line: int, reason: Message, values: list | None) -> None:
        self.rows.append((line, reason, values))

    def __len__(self) -> int:
        return len(self.rows)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        width = len(self.header)
        with (
            # A lone surrogate of a JSON line (the row's reason) has no UTF-8: "?" instead.
            open(path, "w", encoding="utf-8-sig", errors="replace", newline="") as out,
            translation.override(self.language),
        ):
            writer = csv.writer(out)
            writer.writerow(["line", "reason", *self.header])
            for line, reason, values in sorted(self.rows, key=lambda r: r[0]):
                cells = [_cell(v) for v in (values or [""] * width)]
                writer.writerow([line, reason.localized(), *cells])


def _cell(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# --- running ---------------------------------------------------------------------


def run_import(
    kind: str,
    path,
    mapping: str | None = None,
    rejects: str | Path | None = None,
    progress: bool = False,
    actor: audit.Actor = audit.SYSTEM,
    run_id: int | None = None,
    language: str = "",
) -> ImportSummary:
    """Import ``path`` as ``kind`` (customers, products, orders); record an ``ImportRun``.

    Raises ``MappingError`` or ``ImportFileError`` (after recording the run as failed)
    when the mapping or the file cannot be used at all; bad rows only go to the reject
    file, its reasons in ``language`` (English if none). Importing the same file again
    changes nothing.
    """
    path = Path(path)
    language = language or "en"
    run = _start_run(run_id, kind, path, mapping, actor)
    summary = ImportSummary(run_id=run.pk, kind=kind, file=str(path))
    started = time.monotonic()
    try:
        parsed = load_mapping(mapping, kind)
        table = open_table(
            path, encoding=parsed.encoding or None, delimiter=parsed.delimiter or None
        )
        layout = rules.bind(parsed, table.header)
        parser = RowParser(
            layout,
            currency=settings.ECRM["CURRENCY"],
            timezone=str(dj_timezone.get_default_timezone()),
        )
        bad = Rejects(table.header, language)
        importer = {"customers": _customers, "products": _products, "orders": _orders}[kind]
        with _bulk_writes(), _no_cycle_collection():
            importer(table, parser, bad, summary, progress)
        summary.rows_rejected = len(bad)
        summary.rows_accepted = summary.rows_read - summary.rows_rejected
        if len(bad):
            target = Path(rejects) if rejects else _default_rejects(run.pk)
            bad.write(target)
            summary.reject_file = str(target)
    except Exception as exc:
        _finish_run(run, summary, error=_error_text(exc, language))
        raise
    summary.seconds = time.monotonic() - started
    _finish_run(run, summary)
    audit.record(
        actor,
        "import",
        "import_run",
        run.pk,
        None,
        {
            "kind": kind,
            "file": path.name,
            "created": summary.created,
            "changed": summary.changed,
            "rejected": summary.rows_rejected,
        },
    )
    return summary


def queue_import(
    kind: str, path, mapping: str | None = None, *, actor: audit.Actor, language: str = ""
) -> int:
    """Record a queued run and hand it to the worker; returns the run id. Its rejected rows
    will give their reasons in ``language`` (the uploader's; English if none)."""
    from ecrm.imports.tasks import import_file

    if kind not in rules.KINDS:
        raise rules.unknown_kind(kind)
    run = ImportRun.objects.create(
        kind=kind,
        file_name=str(path)[:500],
        mapping=(mapping or "")[:200],
        status=ImportRun.Status.QUEUED,
        started_at=clock.now(),
        created_by_id=actor.user_id,
        language=language[:16],
    )
    transaction.on_commit(lambda: import_file(run.pk))
    return run.pk


def run_queued(run_id: int) -> ImportSummary | None:
    """What the worker runs: the queued import, its errors recorded on the run."""
    run = ImportRun.objects.select_related("created_by").get(pk=run_id)
    if run.status != ImportRun.Status.QUEUED:
        return None
    try:
        return run_import(
            run.kind,
            run.file_name,
            mapping=run.mapping or None,
            actor=audit.Actor.of(run.created_by),
            run_id=run.pk,
            language=run.language,
        )
    except (MappingError, ImportFileError):
        return None


def _start_run(run_id, kind, path, mapping, actor) -> ImportRun:
    if run_id is not None:
        run = ImportRun.objects.get(pk=run_id)
        run.status = ImportRun.Status.RUNNING
        run.started_at = clock.now()
        run.save(update_fields=["status", "started_at"])
        return run
    return ImportRun.objects.create(
        kind=kind,
        file_name=str(path)[:500],
        mapping=(mapping or "")[:200],
        status=ImportRun.Status.RUNNING,
        started_at=clock.now(),
        created_by_id=actor.user_id,
    )


def _error_text(exc: Exception, language: str) -> str:
    """What a failed run's page shows: a mapping's or file's problem in the language of
    whoever started the import, anything else as it is."""
    if isinstance(exc, Problem):
        with translation.override(language):
            return exc.text.localized()
    return str(exc) or exc.__class__.__name__


def _finish_run(run: ImportRun, summary: ImportSummary, error: str = "") -> None:
    run.status = ImportRun.Status.FAILED if error else ImportRun.Status.DONE
    run.error = error
    run.rows_read = summary.rows_read
    run.rows_accepted = summary.rows_accepted
    run.rows_rejected = summary.rows_rejected
    run.created = summary.created
    run.changed = summary.changed
    run.reject_file = summary.reject_file[:500]
    run.finished_at = clock.now()
    run.save()


@contextmanager
def _bulk_writes():
    """On SQLite, commit batches without waiting for fsync (``synchronous=NORMAL``; WAL keeps
    the database consistent). A crash may lose the last batches; re-running the import
    writes them, since importing is idempotent. A larger page cache keeps the indexes an
    import inserts into (order number, customer, date, product) in memory at millions of
    orders, and a transaction's changed pages until its commit; it is this connection's
    own, taken as used, and shrinks back afterwards. The write-ahead log grows during
    the import; the worker's follow-up job folds it back into the database.

    Foreign keys are not checked while an import writes (a tenth of an order import's time
    at 1M customers: each check is a lookup in a table of millions). Every reference an
    import writes is to a row it resolved or wrote in the same transaction (buyers by
    ``resolve_customers_bulk``, products and categories by the catalogue's bulk writes,
    lines and identities right after their order or customer), and SQLite lets no other
    writer in meanwhile. A test runs ``PRAGMA foreign_key_check`` after an import."""
    sqlite = connection.vendor == "sqlite" and not connection.in_atomic_block
    if sqlite:
        _bulk_pragmas()
    try:
        yield
    finally:
        if sqlite:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.execute("PRAGMA cache_size=-65536")  # as settings.py sets it
                cursor.execute("PRAGMA foreign_keys=ON")
                # Automatic checkpoints stay off for the rest of this connection, which ends
                # with the import (command, worker job): the worker's follow-up job
                # (flows.after_bulk_load) and other connections' commits fold the log back.


def _bulk_pragmas() -> None:
    """``_bulk_writes``' settings of this connection (again after it was reopened)."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        # At most 1 GiB, taken as pages are read or changed: a transaction's changed pages
        # stay in it until the commit (spilling them into the log mid-transaction would
        # write them twice).
        cursor.execute("PRAGMA cache_size=-1048576")
        cursor.execute("PRAGMA foreign_keys=OFF")


@contextmanager
def _no_cycle_collection():
    """An import allocates millions of objects that live until their batch is written; the
    cyclic garbage collector would walk them again and again (a third of the run time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _default_rejects(run_id: int) -> Path:
    return Path(settings.ECRM["DATA_DIR"]) / "imports" / f"import-{run_id}-rejects.csv"


def _bar(progress: bool, total: int | None, kind: str):
    return tqdm(
        total=total,
        disable=not progress,
        unit=" rows",
        unit_scale=True,
        desc=f"import {kind}",
        file=sys.stderr,
        mininterval=0.5,
    )


def _count(table: Table) -> int:
    return sum(1 for _ in table.records())


def _rows(
    table: Table,
    parse: Callable,
    bad: Rejects,
    summary: ImportSummary,
    bar,
    flush: Callable[[list], None],
) -> None:
    """Customers and products: one record per row, written ``ROW_BATCH`` at a time."""
    batch: list = []
    for record in table.records():
        summary.rows_read += 1
        if len(record) == 3:
            bad.add(record[0], record[2], record[1])
            continue
        line, values = record
        try:
            batch.append(parse(values))
        except RowError as exc:
            bad.add(line, exc.text, values)
        if len(batch) >= ROW_BATCH:
            flush(batch)
            bar.update(ROW_BATCH)
            batch = []
    if batch:
        flush(batch)
    bar.update(summary.rows_read - bar.n)


def _customers(table, parser: RowParser, bad, summary, progress) -> None:
    total = _count(table) if progress else None

    def flush(batch):
        result = customers.resolve_customers_bulk(batch, source="import", update_existing=True)
        summary.add("created", "customers", result.created)
        summary.add("changed", "customers", result.changed)

    with _bar(progress, total, "customers") as bar:
        _rows(table, parser.customer, bad, summary, bar, flush)


def _products(table, parser: RowParser, bad, summary, progress) -> None:
    total = _count(table) if progress else None

    def flush(batch):
        _, created, changed = catalog.import_products(batch)
        summary.add("created", "products", created)
        summary.add("changed", "products", changed)

    with _bar(progress, total, "products") as bar:
        _rows(table, parser.product, bad, summary, bar, flush)


def _order_key(parser: RowParser, values: list) -> str:
    try:
        return parser.order_id(values)
    except (RowError, IndexError):
        return ""


def _orders(table, parser: RowParser, bad, summary, progress) -> None:
    """Group rows by order id (also when one order's rows are apart), write in chunks.

    Outside a transaction the file is read and parsed in a child process
    (``_ReadingProcess``) while this one writes: parsing is Python and so is half the
    writing, and two threads of one process would take turns on the GIL. Inside a
    transaction (a caller's atomic block, the tests) and where processes cannot be forked,
    the same chunks are read in line, with the same functions.
    """
    products: dict[str, int] = {}  # sku -> id, kept across chunks
    buyers: dict = {}  # claims -> customer id, kept across chunks
    touched: set[int] = set()
    reading = _ReadingProcess(table, parser) if _ReadingProcess.possible() else None
    folding = _Checkpointer(reading) if reading and connection.vendor == "sqlite" else None
    try:
        with _bar(progress, None, "orders") as bar:

            def total(rows: int) -> None:
                bar.total = rows
                bar.refresh()

            if reading:
                chunks, ready = reading.chunks(bad, total), reading.ready
            else:
                chunks, ready = _order_chunks(table, parser, bad, total), _always
            for group in _transactions(chunks, ready):
                touched |= _write_orders(group, summary, products, buyers)
                if folding:
                    folding.poke()
                bar.update(group.last.read - bar.n)
                summary.rows_read = group.last.read
        # Queued while the checkpointer folds the last transaction in (it is waited for next).
        flows.bulk_loaded(touched)
        summary.queued_customers = len(touched)
    finally:
        if reading:
            reading.stop()
        if folding:
            folding.stop()


def _always() -> bool:
    return True


def _transactions(chunks: Iterable[_Chunk], ready: Callable[[], bool]) -> Iterator[_Transaction]:
    """The chunks in the transactions that write them; each ``_Transaction`` is to be
    written whole before the next is asked for."""
    chunks = iter(chunks)
    while (first := next(chunks, None)) is not None:
        group = _Transaction(chunks, first, ready)
        yield group
        if group.exhausted:
            return


class _Transaction:
    """The chunks one transaction writes, taken as it writes them: a chunk, then the next
    while it has fewer than ``ORDER_MIN_LINES`` lines or another chunk is ``ready()``
    (read already), up to ``ORDER_BATCH_LINES`` lines.

    So the writer never waits for a chunk while one is ready, and where it keeps up with
    the reading process, it writes each chunk as it comes but commits only every
    ``ORDER_MIN_LINES`` lines. Fewer, larger transactions commit fewer pages: at millions
    of orders a transaction's inserts touch most pages of the orders' indexes, and each
    commit writes them all to the log. (Committing whenever the writer had caught up
    with the reading process gave the bench's 500,000-line import at 1M customers 15
    commits, 1.8 s of them and a 1.4 GB log, against 7, 1.5 s and 1.0 GB now; it had
    cost the PostgreSQL and UCI imports 3-5 %. Transactions of up to 1,000,000 lines
    instead of 100,000 made the bench-like import at 1M customers 13-24 % faster: its
    500,000 lines are one commit of the pages it changed, about a third of the log
    five commits wrote; docs/IMPORT.md.)"""

    def __init__(self, chunks: Iterator[_Chunk], first: _Chunk, ready: Callable[[], bool]):
        self._chunks, self._ready = chunks, ready
        self._first: _Chunk | None = first
        self.last = first
        self.exhausted = False  # no chunk left after this transaction's

    def __iter__(self) -> Iterator[_Chunk]:
        chunk, lines = self._first, 0
        if chunk is None:
            raise RuntimeError("a transaction's chunks are taken once")
        self._first = None
        while True:
            self.last = chunk
            lines += chunk.lines
            yield chunk
            if lines >= ORDER_BATCH_LINES or (lines >= ORDER_MIN_LINES and not self._ready()):
                return
            chunk = next(self._chunks, None)
            if chunk is None:
                self.exhausted = True
                return


class _BuyerLookups:
    """In the reading process: which of a chunk's buyers stored profiles hold with every
    one of their identifiers (``customers.known_profiles``), looked up on the reading
    process's own connection before the chunk is sent. Their orders and returns then go
    with the customer id instead of the buyer (``set_apart``), and the importing process
    only takes the profile each was merged into since, if any
    (``customers.live_profiles``). Before, the importing process looked buyers up itself
    while it waited for the next chunk; with chunks it no longer waits. At 1M customers
    its buyer resolution for a 500,000-line file went from 0.66 to 0.28 s, and the
    command from 10.99 to 10.65 s (medians of 4, interleaved; docs/IMPORT.md). Sending
    the ids instead of the buyers and their claims saved the importing process another
    0.3 s of unpickling and of looking claims up.

    A file of new customers (a first import) gains nothing from the lookups: they stop
    from the ``TRIAL``-th chunk on when under a quarter of the buyers looked up so far
    were stored profiles."""

    TRIAL = 2

    def __init__(self):
        self.on = True
        self.chunks = self.asked = self.found = 0
        self.customer_ids: dict[int, int] = {}  # id(record) -> customer id, found so far
        self._kept: list = []  # those records, so that their ids are not reused

    def set_apart(self, chunk: _Chunk, sent: dict[int, int]) -> None:
        """``chunk``'s orders and returns of stored buyers set apart with their customer
        ids (``_Chunk.set_apart``): the buyers found in this or an earlier chunk. Buyers
        ``sent`` before (id(record) -> number) are not looked up."""
        ask = [r for r in chunk.buyers if id(r) not in sent and id(r) not in self.customer_ids]
        stored = self(ask) if ask else {}
        for record in ask:
            cid = stored.get(record.claims)
            if cid is not None:
                self.customer_ids[id(record)] = cid
                self._kept.append(record)
        chunk.set_apart(self.customer_ids)

    def __call__(self, records: Iterable) -> dict:
        """Claims -> customer id of the stored buyers among ``records``."""
        if not self.on:
            return {}
        claim_sets = {record.claims for record in records}
        stored = customers.known_profiles(claim_sets)
        self.chunks += 1
        self.asked += len(claim_sets)
        self.found += len(stored)
        if self.chunks >= self.TRIAL and self.found * 4 < self.asked:
            self.on = False
        return stored


_SYNC_DATA = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


class _Checkpointer:
    """SQLite: moves what the import commits out of the write-ahead log, in a thread beside
    the writer (it waits on the disk and in SQLite's C code, which releases the GIL).

    While the reading process parses, each commit's frames are only written to disk ahead
    (``fdatasync`` of the log): a checkpoint then would take CPU from the reading process,
    a sync only the disk, idle meanwhile. Once the reading process has ended and left its
    core free, what is committed is copied into the database file (a passive checkpoint,
    on a connection of its own) at once, and again after each later commit, while the
    writer writes on.

    Before, the log was synced and copied only after the first commit that followed the
    reading process's end, mostly the last commit: the bench's 500,000-line import at 1M
    customers ended by syncing its whole log (1.1 GB, 0.6 s) and copying it in (1.0 s).
    From the reading process's end to the command's end now takes 2.50 s instead of 2.87
    (means of 6 interleaved runs; docs/IMPORT.md, "eleventh session")."""

    POLL = 0.05  # seconds between looks at whether the reading process has ended

    def __init__(self, reading: _ReadingProcess):
        self._reading = reading
        self._log = Path(f"{connection.settings_dict['NAME']}-wal")
        self._wanted = threading.Event()
        self._stopping = False
        self.synced = 0  # commits whose frames were synced ahead
        self._thread = threading.Thread(target=self._run, name="import-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """A transaction was committed."""
        self._wanted.set()

    def stop(self) -> None:
        """Wait for the sync or checkpoint under way; safe to call twice."""
        self._stopping = True
        self._wanted.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._reading.finished():
                if self._wanted.wait(self.POLL):
                    self._wanted.clear()
                    self._sync_ahead()
                if self._stopping:
                    return
            while not self._stopping:
                self._wanted.clear()
                with suppress(DatabaseError):  # a missed checkpoint only leaves the log longer
                    flows.checkpoint_wal()
                self._wanted.wait()
        finally:
            connection.close()  # this thread's own connection

    def _sync_ahead(self) -> None:
        """The log's frames written to disk, so that the checkpoint finds them there."""
        with suppress(OSError):  # the log gone or not syncable: the checkpoint syncs it
            descriptor = os.open(self._log, os.O_RDONLY)
            try:
                _SYNC_DATA(descriptor)
            finally:
                os.close(descriptor)
            self.synced += 1


@dataclass
class _Chunk:
    """Complete orders and returns read from the file, for ``_write_orders``."""

    buyers: list  # of ProfileRecord, each once
    # (OrderInput, index of the buyer in ``buyers`` or None) while read; ``packed()`` turns
    # each OrderInput into a PackedOrder before the chunk is sent.
    orders: list
    returns: list  # of (ReturnInput, index of the buyer or None)
    read: int  # rows of the file read so far (the last chunk: all of them)
    lines: int = 0
    # Sent by the reading process: a buyer an earlier chunk sent is its number (the order
    # in which buyers were first sent) instead of the record; True: numbering restarts.
    restart_buyers: bool = False
    # The orders and returns of buyers the reading process found stored
    # (``_BuyerLookups``), as (packed order or ReturnInput, customer id): those buyers are
    # not sent.
    known_orders: list = field(default_factory=list)
    known_returns: list = field(default_factory=list)
    _buyer_index: dict = field(default_factory=dict)  # id(ProfileRecord) -> index

    def buyer(self, record) -> int | None:
        if record is None:
            return None
        index = self._buyer_index.get(id(record))
        if index is None:
            index = self._buyer_index[id(record)] = len(self.buyers)
            self.buyers.append(record)
        return index

    def set_apart(self, customer_ids: dict[int, int]) -> None:
        """The orders and returns of the buyers in ``customer_ids`` (id(record) -> customer
        id) moved to ``known_orders`` and ``known_returns``, those buyers left out."""
        found = [customer_ids.get(id(record)) for record in self.buyers]
        if not any(found):
            return
        index: dict[int, int] = {}  # old index -> new, of the buyers still sent
        for n, cid in enumerate(found):
            if cid is None:
                index[n] = len(index)
        self.buyers = [self.buyers[n] for n in index]

        def split(items: list, known: list) -> list:
            rest = []
            for item, b in items:
                if b is not None and found[b] is not None:
                    known.append((item, found[b]))
                else:
                    rest.append((item, None if b is None else index[b]))
            return rest

        self.orders = split(self.orders, self.known_orders)
        self.returns = split(self.returns, self.known_returns)

    def packed(self) -> _Chunk:
        """The chunk with its orders packed (``orders.pack_orders``) for writing."""
        documents = orders.pack_orders(order for order, _ in self.orders)
        self.orders = list(zip(documents, (buyer for _, buyer in self.orders), strict=True))
        return self

    def __getstate__(self) -> dict:
        state = {**self.__dict__, "_buyer_index": {}}
        # Packed orders are plain tuples; on SQLite only strings, numbers and None, which
        # marshal writes in a third of pickle's time (PostgreSQL's decimals and datetimes
        # it cannot write: those chunks are pickled whole).
        with suppress(ValueError):
            state["orders"] = marshal.dumps(self.orders)
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state["orders"], bytes):
            state["orders"] = marshal.loads(state["orders"])
        self.__dict__.update(state)


def _rows_per_order(table: Table, parser: RowParser) -> Counter[str]:
    """Order id -> rows of the file (blank rows and rows without an id under "")."""
    column = parser.order_id_column
    counts = table.column_counts(column) if column is not None else None
    if counts is None:
        return Counter(_order_key(parser, row) for row in table.raw_rows())
    for raw in [raw for raw in counts if raw != raw.strip()]:
        counts[raw.strip()] += counts.pop(raw)
    return counts


def _order_chunks(table, parser, bad, total: Callable[[int], None]) -> Iterator[_Chunk]:
    """The file's complete orders, ``ORDER_CHUNK_LINES`` lines at a time.

    A first quick pass counts the rows of each order (``total`` learns their sum); the
    second pass hands an order on as soon as its last row has been read, so only
    incomplete orders are held in memory. The last chunk holds every row read.
    """
    expected = _rows_per_order(table, parser)
    total(sum(expected.values()))
    open_orders: dict[str, list[tuple[int, list]]] = {}
    poisoned: dict[str, tuple[int, Message]] = {}  # order id -> (line, reason) of an unreadable row
    chunk = _Chunk([], [], [], 0)
    read = 0

    def complete(key: str, group: list) -> None:
        if key in poisoned:
            line, reason = poisoned.pop(key)
            _reject_order(bad, key, group, line, reason)
            return
        parsed = _parse_order(parser, key, group, bad)
        if parsed is None:
            return
        buyer = chunk.buyer(parsed.customer)
        if parsed.is_return:
            chunk.returns.append((parsed.document, buyer))
        else:
            chunk.orders.append((parsed.document, buyer))
        chunk.lines += len(group)

    for record in table.records():
        read += 1
        line, values = record[0], record[1]
        key = _order_key(parser, values) if values is not None else ""
        if len(record) == 3:
            if not key:
                bad.add(line, record[2], values)
                continue
            poisoned.setdefault(key, (line, record[2]))
        elif not key:
            bad.add(line, parser.order_id_problem(values), values)
            continue
        group = open_orders.setdefault(key, [])
        group.append((line, values))
        if len(group) < expected.get(key, 0):
            continue
        del open_orders[key]
        complete(key, group)
        if chunk.lines >= ORDER_CHUNK_LINES:
            chunk.read = read
            yield chunk.packed()
            chunk = _Chunk([], [], [], read)
    for key, group in open_orders.items():
        complete(key, group)
    chunk.read = read
    yield chunk.packed()


class _ReadingProcess:
    """``_order_chunks`` in a forked child process.

    The child inherits the open file's table, the parser and its caches, and leaves with
    ``os._exit``. It looks each chunk's new buyers up (``_BuyerLookups``) on a database
    connection of its own: this process closes its connection before the fork (a
    connection must not be used on both sides of one) and opens a new one after. On SQLite
    the library keeps one lock state per database file for a whole process, which the
    child inherits; so the child looks up only where no other thread of this process may
    hold a connection to the database (the command line, not a worker's thread). Its
    rejected rows come back at the end; an exception in it is raised here, in the parent,
    with the child's traceback as a note.

    Each chunk (about 8 MB for 25,000 lines) goes through a file in a private temporary
    directory; only its name goes through a pipe, sent by the reading thread itself. (A
    ``multiprocessing.Queue`` hands its messages to a feeder thread, which waited for the
    GIL while the child parsed: a chunk's name reached the writer 0.2–0.9 s after it was
    spooled.) At most ``SPOOLED`` chunks wait on disk; the child waits for the writer to
    take one before it spools another.
    """

    SPOOLED = 16  # four transactions' worth
    # Buyers a chunk refers to by number (sent whole once); the numbering restarts after
    # this many. A buyer's orders are spread over the file: about half of a chunk's buyers
    # came in earlier chunks, and pickling them again cost both processes.
    BUYERS_SENT = 1_000_000

    @staticmethod
    def possible() -> bool:
        return (
            not connection.in_atomic_block
            and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
        )

    def __init__(self, table, parser: RowParser):
        self.spool = Path(tempfile.mkdtemp(prefix="ecrm-import-"))
        context = multiprocessing.get_context("fork")
        self.receiver, self.sender = context.Pipe(duplex=False)
        self.slots = context.BoundedSemaphore(self.SPOOLED)
        looking = bool(parser.buyer_columns) and (
            connection.vendor != "sqlite" or threading.active_count() == 1
        )
        self.process = context.Process(
            target=self._read, args=(table, parser, looking), name="import-reader", daemon=True
        )
        connection.close()
        self.process.start()
        if connection.vendor == "sqlite":
            _bulk_pragmas()

    def _read(self, table, parser: RowParser, looking: bool) -> None:
        """In the child. A chunk that cannot be pickled fails the import."""
        put = self.sender.send
        bad = Rejects(table.header)
        numbers: dict[int, int] = {}  # id(record) -> number, the records kept in ``sent``
        sent: list = []
        lookups = _BuyerLookups() if looking else None
        try:
            chunks = _order_chunks(table, parser, bad, lambda rows: put(("total", rows)))
            for number, chunk in enumerate(chunks):
                if len(sent) >= self.BUYERS_SENT:
                    numbers.clear()
                    sent.clear()
                    chunk.restart_buyers = True
                if lookups:
                    lookups.set_apart(chunk, numbers)
                chunk.buyers = [self._number(record, numbers, sent) for record in chunk.buyers]
                path = self.spool / f"{number}.pickle"
                self.slots.acquire()
                with open(path, "wb") as spooled:
                    pickle.dump(chunk, spooled, protocol=pickle.HIGHEST_PROTOCOL)
                put(("chunk", path))
            put(("done", bad.rows))
        except BaseException as exc:
            note = traceback.format_exc()
            try:
                pickle.loads(pickle.dumps(exc))
            except Exception:
                exc = RuntimeError(f"{exc.__class__.__name__}: {exc}")
            put(("failed", (exc, note)))
        self.sender.close()
        connection.close()  # the child's own, if it looked buyers up

    @staticmethod
    def _number(record, numbers: dict[int, int], sent: list):
        """In the child: a buyer sent before as its number, a new one as itself (kept, so
        that its id is not reused)."""
        known = numbers.get(id(record))
        if known is not None:
            return known
        numbers[id(record)] = len(sent)
        sent.append(record)
        return record

    def chunks(self, bad: Rejects, total: Callable[[int], None]) -> Iterator[_Chunk]:
        """The child's chunks, as it sends them."""
        received: list = []  # the buyers the child sent, by number
        while True:
            kind, value = self._get()
            if kind == "total":
                total(value)
            elif kind == "chunk":
                with open(value, "rb") as spooled:
                    chunk = pickle.load(spooled)
                value.unlink()
                self.slots.release()
                if chunk.restart_buyers:
                    received.clear()
                for n, buyer in enumerate(chunk.buyers):
                    if buyer.__class__ is int:
                        chunk.buyers[n] = received[buyer]
                    else:
                        received.append(buyer)
                yield chunk
            elif kind == "done":
                bad.rows.extend(value)
                return
            else:
                exc, note = value
                exc.add_note(f"in the import's reading process:\n{note}")
                raise exc

    def _get(self):
        while not self.receiver.poll(1.0):
            if not self.process.is_alive() and not self.receiver.poll():
                raise RuntimeError(
                    "the import's reading process ended unexpectedly "
                    f"(exit code {self.process.exitcode})"
                )
        return self.receiver.recv()

    def ready(self) -> bool:
        """Whether the child has sent something not yet taken (a chunk, or its end)."""
        return self.receiver.poll(0)

    def finished(self) -> bool:
        """Whether the child has ended: it has read the whole file (or failed). Safe in
        another thread: it looks at the process's sentinel and does not reap the child."""
        return bool(wait([self.process.sentinel], 0))

    def stop(self) -> None:
        """End the child (also when writing failed half-way) and remove the chunks it
        spooled; safe to call twice."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.receiver.close()
        self.sender.close()
        shutil.rmtree(self.spool, ignore_errors=True)


def _reject_order(bad: Rejects, key: str, group: list, culprit: int, reason: Message) -> None:
    """Every row of a bad order goes to the rejects: nothing of it is half-written."""
    whole = Message(
        N_("order %(order)s is rejected whole: line %(line)s is bad"), order=key, line=culprit
    )
    for line, values in group:
        bad.add(line, reason if line == culprit else whole, values)


def _parse_order(parser: RowParser, key: str, group: list, bad: Rejects):
    try:
        return parser.order([values for _, values in group])
    except RowError as exc:
        culprit = group[exc.row if exc.row is not None else 0][0]
        _reject_order(bad, key, group, culprit, exc.text)
        return None


def _write_orders(
    chunks: Iterable[_Chunk], summary: ImportSummary, products: dict[str, int], buyers: dict
) -> set[int]:
    """One transaction: of each chunk the buyers, then orders and returns, set-based.
    ``products``: sku -> id known so far in this import; ``buyers``: the buyers its
    transactions resolved so far (``customers.resolve_customers_bulk``'s ``remembered``)."""
    touched: set[int] = set()
    with transaction.atomic():
        for chunk in chunks:
            if chunk.orders or chunk.returns or chunk.known_orders or chunk.known_returns:
                touched |= _write_chunk(chunk, summary, products, buyers)
    return touched


def _write_chunk(
    chunk: _Chunk, summary: ImportSummary, products: dict[str, int], buyers: dict
) -> set[int]:
    resolved = customers.resolve_customers_bulk(
        chunk.buyers, source="import", update_existing=False, remembered=buyers
    )
    ids = resolved.customer_ids
    # Profiles merged into another since the reading process found them: that one.
    live = customers.live_profiles(
        {cid for _, cid in chunk.known_orders} | {cid for _, cid in chunk.known_returns}
    )
    placed = [(order, ids[b] if b is not None else None) for order, b in chunk.orders]
    placed += [(order, live[cid]) for order, cid in chunk.known_orders]
    returned = [(ret, ids[b] if b is not None else None) for ret, b in chunk.returns]
    returned += [(ret, live[cid]) for ret, cid in chunk.known_returns]
    done_orders = orders.record_packed_orders(placed, products=products)
    done_returns = orders.record_returns(returned, products=products)
    summary.add("created", "customers", resolved.created)
    summary.add("changed", "customers", resolved.changed)
    for name, result in (("orders", done_orders), ("returns", done_returns)):
        summary.add("created", name, result.created)
        summary.add("changed", name, result.changed)
        summary.add("unchanged", name, result.unchanged)
        summary.add("created", "products", result.products_created)
    return set(done_orders.customer_ids | done_returns.customer_ids)
