"""Measurements of ``ecrm bench``: each returns a ``rules.Figure``.

Everything runs against the database of the current settings; the HTTP figures use a
``gunicorn -w 1 --threads 4`` subprocess on a free 127.0.0.1 port, and the import runs
``ecrm import orders`` in a subprocess, so what is measured is what a user runs.
Every loop is bounded in count and in time.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
from django.conf import settings
from django.db import connection

from ecrm.bench.rules import Figure, median, percentile

HTTP_TIMEOUT = 30.0


# --- environment ---------------------------------------------------------------------


def database_url() -> str:
    """The URL of the database this process uses (the test database under pytest)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}{'@' if auth else ''}{host}{port}/{s['NAME']}"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env["ECRM_DATA_DIR"] = str(settings.ECRM["DATA_DIR"])
    env["ECRM_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    env.setdefault("ECRM_SECRET_KEY", "bench-" + uuid.uuid4().hex)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def database_label() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]} (WAL)"
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"


def machine_label() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total / 2**30
    system = f"{platform.system()} {platform.release()}"
    return f"{model}, {os.cpu_count()} cores, {ram:.1f} GiB RAM, {system}"


def data_sizes() -> dict[str, int]:
    from ecrm.customers.models import Customer
    from ecrm.events.models import Event
    from ecrm.orders.models import Order, OrderLine

    return {
        "customers": Customer.objects.count(),
        "events": Event.objects.count(),
        "orders": Order.objects.count(),
        "order lines": OrderLine.objects.count(),
    }


def read_into_cache() -> int:
    """SQLite: read the database file once, so that a reused dataset is measured as a just
    generated one is (and as a running server has it): in the page cache. A file dropped from
    the cache made the 1M import take 21.7 s instead of 12-15 s. Skipped where the file
    would take more than four fifths of the memory available. Bytes read (0 when skipped).

    The file is read by a child process. Closing a descriptor of the database file in this
    process would drop every POSIX lock this process's SQLite connections hold on it
    (sqlite.org/howtocorrupt.html, 2.2): the import's process, closing last as far as the
    locks showed, then folded in and deleted the log this process was still reading, and
    the follow-up measured next found "database disk image is malformed"."""
    if connection.vendor != "sqlite":
        return 0
    path = Path(connection.settings_dict["NAME"])
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    if size > psutil.virtual_memory().available * 0.8:
        return 0
    subprocess.run([sys.executable, "-c", _READ_FILE, str(path)], check=True)
    return size


_READ_FILE = """
import sys
with open(sys.argv[1], "rb", buffering=0) as handle:
    while handle.read(1 << 24):
        pass
"""


# --- samples from the data -----------------------------------------------------------


@dataclass(frozen=True)
class Samples:
    customer_ids: list[int]
    user_ids: list[str]
    skus: list[tuple[str, str, str]]  # sku, name, price
    queries: list[tuple[str, str]]  # (kind, text)


def samples(count: int, seed: int = 7) -> Samples:
    """Real ids, names, phones and emails to request, spread over the whole table."""
    from ecrm.catalog.models import Product
    from ecrm.customers.models import Customer, Identity

    rng = random.Random(seed)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    picks = sorted({rng.randint(1, top) for _ in range(count * 3)}) if top else []
    rows = list(
        Customer.objects.filter(
            pk__in=picks, merged_into__isnull=True, is_anonymous=False
        ).values_list("pk", "name", "name_pinyin", "phone", "email")[: count * 2]
    )
    rng.shuffle(rows)
    ids = [r[0] for r in rows][:count]
    user_ids = list(
        Identity.objects.filter(kind="user_id", customer_id__in=ids).values_list("value", flat=True)
    )
    queries: list[tuple[str, str]] = []
    for i, (_, name, pinyin, phone, email) in enumerate(rows):
        kind = i % 4
        if kind == 0 and pinyin:
            queries.append(("pinyin", pinyin[: max(4, len(pinyin) - 2)]))  # "zhangw"
        elif kind == 1 and phone:
            queries.append(("phone", phone[3:]))  # as typed: 13812345678
        elif kind == 2 and email:
            queries.append(("email", email))
        elif name:
            queries.append(("汉字", name))
    skus = [
        (sku, name, str(price))
        for sku, name, price in Product.objects.order_by("pk").values_list("sku", "name", "price")[
            :500
        ]
    ]
    return Samples(ids, user_ids, skus, queries[:count])


def buyers(count: int, seed: int) -> list[str]:
    """User ids of about ``count`` random known customers: the buyers of an import file.

    A new draw each run (``seed``), so repeated runs on one dataset do not pile hundreds
    of orders onto the same few customers, which would make each run slower than the last.
    """
    from ecrm.customers.models import Customer, Identity

    rng = random.Random(seed)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    picks = sorted({rng.randint(1, top) for _ in range(count)}) if top else []
    found: list[str] = []
    for start in range(0, len(picks), 500):
        found += Identity.objects.filter(
            kind="user_id", customer_id__in=picks[start : start + 500]
        ).values_list("value", flat=True)
    return found


# --- 1. bulk import ------------------------------------------------------------------

IMPORT_COLUMNS = (
    "order_id",
    "customer_id",
    "placed_at",
    "status",
    "channel",
    "currency",
    "sku",
    "product_name",
    "quantity",
    "unit_price",
)


def write_orders_csv(
    path: Path, lines: int, sample: Samples, seed: int = 11, users: list[str] | None = None
) -> int:
    """A CSV of order lines (1–3 per order, 1.75 on average) bought by ``users`` (default the
    sample's), about as many orders per buyer as the dataset has; returns the line count."""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]  # new order numbers each run: a re-import would be a no-op
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    written = 0
    order_no = 0
    users = users or sample.user_ids or ["bench-guest"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(IMPORT_COLUMNS)
        while written < lines:
            order_no += 1
            order_id = f"BENCH-{run}-{order_no:08d}"
            customer = rng.choice(users)
            placed = (start + dt.timedelta(seconds=rng.randint(0, 700 * 86400))).isoformat()
            for _ in range(min(rng.choice((1, 1, 2, 3)), lines - written)):
                sku, name, price = rng.choice(sample.skus)
                out.writerow(
                    (
                        order_id,
                        customer,
                        placed,
                        "delivered",
                        "web",
                        "CNY",
                        sku,
                        name,
                        rng.choice((1, 1, 1, 2)),
                        price,
                    )
                )
                written += 1
    return written


def measure_import(path: Path, lines: int) -> Figure:
    # The file's customer ids are the shop's user ids, which tracking already knows.
    mapping = path.with_name("bench-orders-mapping.json")
    mapping.write_text('{"kind": "orders", "name": "bench", "customer_id_kind": "user_id"}')
    command = ["ecrm", "import", "orders", str(path), "--mapping", str(mapping), "--no-progress"]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ecrm", *command[1:]],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=3600,
        )
    except subprocess.TimeoutExpired:
        return Figure("import", None, detail="not measured: the import ran over an hour")
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return Figure(
            "import",
            None,
            detail=f"not measured: `{' '.join(command[:3])}` failed: {tail[0][:160]}",
        )
    rate = lines / seconds
    return Figure(
        "import",
        rate,
        detail=f"{lines:,} lines in {seconds:.1f} s (process start included; figures, "
        "loyalty, segments and promotions then follow on the worker)",
        command="ecrm import orders FILE --mapping bench-orders-mapping.json --no-progress",
    )


def drain_queue() -> tuple[int, float]:
    """Run every job waiting in the worker's queue here, in line; (jobs, seconds)."""
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")  # what `ecrm worker` registers
    started = time.perf_counter()
    jobs = 0
    while (task := HUEY.dequeue()) is not None:
        HUEY.execute(task)
        jobs += 1
    return jobs, time.perf_counter() - started


def discard_queue() -> int:
    """Drop the jobs earlier runs left waiting (a dataset's own state lives in tables, not
    in the queue), so that the follow-up measured next is the import's alone; how many."""
    from huey.contrib.djhuey import HUEY

    waiting = HUEY.pending_count()
    HUEY.flush()
    return waiting


def measure_import_followup(lines: int) -> Figure:
    """What the worker does after ``measure_import``: the jobs the import queued, timed."""
    jobs, seconds = drain_queue()
    if not jobs:
        return Figure("import_followup", None, detail="not measured: the import queued no job")
    return Figure(
        "import_followup",
        seconds,
        detail=f"{jobs} queued job(s) for the customers of the {lines:,}-line import, run by "
        "the worker's code in line: their figures, then loyalty, segment membership and "
        "promotions",
    )


UCI_LINES = 541_909


def uci_file() -> Path | None:
    """The UCI Online Retail file in ``../shared/data`` beside the checkout, if present."""
    override = os.environ.get("ECRM_SHARED_DATA")
    roots = [Path(override)] if override else []
    here = Path(__file__).resolve()
    roots += [Path.cwd().parent / "shared" / "data"]
    roots += [parent.parent / "shared" / "data" for parent in here.parents[:5]]
    for root in roots:
        path = root / "online_retail" / "online_retail.csv.gz"
        if path.is_file():
            return path
    return None


@contextmanager
def _fresh_database(data_dir: Path):
    """An empty database of the same kind as the bench's, removed afterwards."""
    if connection.vendor == "sqlite":
        folder = data_dir / "uci"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        yield f"sqlite:///{folder / 'ecrm.sqlite3'}", folder
        return
    import psycopg

    base = database_url()
    name = f"{connection.settings_dict['NAME']}_uci"[:60]
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    folder = data_dir / "uci"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield base.rsplit("/", 1)[0] + "/" + name, folder
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure_uci_import(data_dir: Path) -> list[Figure]:
    """The real file into a fresh database, then the same file again."""
    path = uci_file()
    if path is None:
        reason = "not measured: ../shared/data/online_retail/online_retail.csv.gz is absent"
        return [Figure("import_uci", None, detail=reason),
                Figure("reimport_uci", None, detail=reason)]  # fmt: skip
    command = ["ecrm", "import", "orders", "FILE", "--mapping", "online-retail", "--no-progress"]
    figures = []
    with _fresh_database(data_dir) as (url, folder):
        env = {**child_env(), "DATABASE_URL": url, "ECRM_DATA_DIR": str(folder)}
        subprocess.run([sys.executable, "-m", "ecrm", "init"], env=env, check=True,
                       capture_output=True, timeout=600)  # fmt: skip
        for key in ("import_uci", "reimport_uci"):
            args = [sys.executable, "-m", "ecrm", "import", "orders", str(path),
                    "--mapping", "online-retail", "--no-progress"]  # fmt: skip
            started = time.perf_counter()
            done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                figures.append(Figure(key, None, detail=f"not measured: failed: {tail[0][:160]}"))
                continue
            figures.append(
                Figure(
                    key,
                    UCI_LINES / seconds,
                    detail=f"{UCI_LINES:,} lines in {seconds:.1f} s (process start included)",
                    command=" ".join(command),
                )
            )
    return figures


# --- the server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MemoryWatch:
    """Peak RSS of a process and its children, sampled on a thread."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            procs = [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> MemoryWatch:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path


@contextmanager
def server(log_dir: Path, *, startup_timeout: float = 60.0):
    """``gunicorn -w 1 --threads 4 ecrm.config.wsgi`` on a free local port."""
    port = free_port()
    log = log_dir / "bench-server.log"
    with open(log, "w") as handle:
        yield from _serve(port, log, handle, startup_timeout)


def _serve(port: int, log: Path, handle, startup_timeout: float):
    import requests

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "ecrm.config.wsgi",
        ],
        env=child_env(),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited at start-up; see {log}")
            try:
                requests.get(url + "/api/customers", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the server did not answer within {startup_timeout:.0f} s"
                    ) from None
                time.sleep(0.2)
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- 2. /v1/batch --------------------------------------------------------------------


def _batch_body(rng: random.Random, sample: Samples, size: int) -> bytes:
    now = dt.datetime.now(dt.UTC)
    users = sample.user_ids or [""]
    items = []
    for i in range(size):
        sku, name, price = rng.choice(sample.skus) if sample.skus else ("SKU1", "商品", "9.9")
        stamp = (now - dt.timedelta(seconds=rng.randint(0, 3600))).isoformat()
        user = rng.choice(users)
        common = {
            "messageId": str(uuid.uuid4()),
            "anonymousId": str(uuid.uuid5(uuid.NAMESPACE_URL, user or str(i))),
            "timestamp": stamp,
            "context": {"library": {"name": "ecrm-bench", "version": "1"}, "locale": "zh-CN"},
        }
        if user:
            common["userId"] = user
        if i % 4 == 0:
            items.append(
                {
                    "type": "page",
                    "name": "商品详情",
                    **common,
                    "properties": {"path": f"/item/{sku}", "title": name},
                }
            )
        else:
            items.append(
                {
                    "type": "track",
                    "event": "Product Viewed",
                    **common,
                    "properties": {
                        "product_id": sku,
                        "sku": sku,
                        "name": name,
                        "price": float(price),
                        "currency": "CNY",
                    },
                }
            )
    return json.dumps({"batch": items}, ensure_ascii=False).encode()


def _send_all(
    url: str, headers: dict, bodies: list[bytes], threads: int, time_limit: float
) -> tuple[int, list[str], float]:
    """POST every body from ``threads`` clients; returns (sent, failures, seconds)."""
    import requests

    lock = threading.Lock()
    queue = list(range(len(bodies)))
    failed: list[str] = []
    deadline = time.monotonic() + time_limit

    def client() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                index = queue.pop()
            r = session.post(url, data=bodies[index], headers=headers, timeout=HTTP_TIMEOUT)
            if r.status_code >= 300:
                with lock:
                    failed.append(f"{r.status_code} {r.text[:120]}")

    workers = [threading.Thread(target=client) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(bodies) - len(queue), failed, time.perf_counter() - started


def measure_batch(
    srv: Server,
    write_key: str,
    sample: Samples,
    *,
    batches: int = 200,
    threads: int = 4,
    runs: int = 3,
    size: int = 100,
    time_limit: float = 300.0,
) -> Figure:
    import requests

    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    probe = requests.post(
        srv.url + "/v1/batch", data=b'{"batch": []}', headers=headers, timeout=HTTP_TIMEOUT
    )
    if probe.status_code == 404:
        return Figure("batch", None, detail="not measured: endpoint missing (/v1/batch is 404)")
    rates: list[float] = []
    errors = 0
    for run in range(runs):
        rng = random.Random(run)
        bodies = [_batch_body(rng, sample, size) for _ in range(batches)]
        sent, failed, seconds = _send_all(
            srv.url + "/v1/batch", headers, bodies, threads, time_limit
        )
        errors += len(failed)
        if failed and len(failed) == sent:
            return Figure("batch", None, detail=f"not measured: every batch failed: {failed[0]}")
        rates.append((sent - len(failed)) * size / seconds)
    mid = median(rates)
    return Figure(
        "batch",
        mid,
        median=mid,
        detail=(
            f"{runs} runs × {batches} batches of {size} events, {threads} client threads; "
            f"runs: {', '.join(f'{r:,.0f}' for r in rates)} events/s; {errors} failed batches"
        ),
    )


# --- 3. and 4. latency ---------------------------------------------------------------


def _latencies(
    srv: Server, token: str, paths: list[str], time_limit: float
) -> tuple[list[float], int, int]:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    times: list[float] = []
    missing = failed = 0
    deadline = time.monotonic() + time_limit
    for path in paths:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        r = session.get(srv.url + path, timeout=HTTP_TIMEOUT)
        elapsed = (time.perf_counter() - started) * 1000
        if r.status_code == 404 and not r.headers.get("content-type", "").startswith(
            "application/json"
        ):
            missing += 1
        elif r.status_code >= 300:
            failed += 1
        times.append(elapsed)
    return times, missing, failed


def by_kind(kinds: list[str], times: list[float]) -> str:
    """Median and p95 per kind of request, e.g. ``pinyin 12.0/30.1 ms``."""
    groups: dict[str, list[float]] = {}
    for kind, t in zip(kinds, times, strict=False):
        groups.setdefault(kind, []).append(t)
    return "; ".join(
        f"{k} {median(v):.1f}/{percentile(v, 0.95):.1f} ms" for k, v in sorted(groups.items())
    )


def measure_latency(
    key: str,
    srv: Server,
    token: str,
    paths: list[str],
    warmup: int = 10,
    time_limit: float = 300.0,
    kinds: list[str] | None = None,
) -> Figure:
    if not paths:
        return Figure(key, None, detail="not measured: no customers to ask for")
    _latencies(srv, token, paths[:warmup], time_limit)
    times, missing, failed = _latencies(srv, token, paths, time_limit)
    if missing == len(times):
        return Figure(
            key, None, detail=f"not measured: endpoint missing ({paths[0].split('?')[0]} is 404)"
        )
    if failed + missing == len(times):
        return Figure(key, None, detail=f"not measured: every request failed ({failed} errors)")
    p95 = percentile(times, 0.95)
    return Figure(
        key,
        p95,
        median=median(times),
        p95=p95,
        detail=(
            f"{len(times):,} sequential requests after {warmup} warm-up; "
            f"{failed + missing} non-2xx"
            + (f"; median/p95 by query: {by_kind(kinds, times)}" if kinds else "")
        ),
    )


# --- 5. recompute --------------------------------------------------------------------


def measure_recompute() -> Figure:
    from ecrm.figures import api as figures

    started = time.perf_counter()
    count = figures.recompute_all()
    seconds = time.perf_counter() - started
    return Figure("recompute", seconds, detail=f"{count:,} customers", command="ecrm recompute")
