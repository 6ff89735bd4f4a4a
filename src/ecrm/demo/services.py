"""Loading the demo shop: set-based inserts of the generator's rows.

The one place in eCRM that writes around the domain services, and only because a
million customers must load in minutes: ``generator.py`` produces complete, consistent
rows for every table (identities, search keys, lines, returns), and figures are rebuilt
with ``figures.api.recompute_all()`` at the end so they are exact.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max

from ecrm.analytics import api as analytics
from ecrm.catalog.models import Brand, Category, Product
from ecrm.contacts.models import Contact
from ecrm.core import audit, database
from ecrm.customers.models import Consent, Customer, Identity, Merge
from ecrm.demo import generator, rules
from ecrm.events.models import Event
from ecrm.figures import api as figures
from ecrm.figures.models import CustomerFigures
from ecrm.loyalty import api as loyalty
from ecrm.orders.models import Order, OrderLine, Return, ReturnLine
from ecrm.promotions import api as promotions
from ecrm.segments import api as segments
from ecrm.staff import api as staff
from ecrm.staff.models import Department
from ecrm.value import api as value

MODELS: dict[str, type[models.Model]] = {
    "category": Category,
    "brand": Brand,
    "product": Product,
    "customer": Customer,
    "identity": Identity,
    "consent": Consent,
    "order": Order,
    "order_line": OrderLine,
    "return": Return,
    "return_line": ReturnLine,
    "event": Event,
    "contact": Contact,
}
# Tables a reset empties (with whatever else references customers).
RESET_MODELS = (*MODELS.values(), CustomerFigures, Merge)


class DemoError(ValueError):
    pass


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def default_until() -> dt.date:
    """Yesterday in the shop's time zone: the demo's history ends before today."""
    from django.utils import timezone

    return timezone.localdate() - dt.timedelta(days=1)


def _insert_sql(table: str) -> tuple[str, list[str]]:
    model = MODELS[table]
    columns = [model._meta.get_field(name).column for name in generator.FIELDS[table]]
    return model._meta.db_table, columns


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


class _Writer:
    """Set-based inserts: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

    def __init__(self):
        self.raw = connection.cursor().cursor
        self.statements = {}
        for table in generator.TABLES:
            db_table, columns = _insert_sql(table)
            cols = ", ".join(_quote(c) for c in columns)
            if connection.vendor == "postgresql":
                self.statements[table] = f"COPY {_quote(db_table)} ({cols}) FROM STDIN"
            else:
                marks = ", ".join("?" * len(columns))
                self.statements[table] = f"INSERT INTO {_quote(db_table)} ({cols}) VALUES ({marks})"

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        sql = self.statements[table]
        if connection.vendor == "postgresql":
            with self.raw.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.raw.executemany(sql, rows)


def existing_data() -> dict[str, int]:
    """Rows already present in tables the demo fills; empty dict when all are empty."""
    held = {}
    for label, model in (
        ("customers", Customer),
        ("products", Product),
        ("orders", Order),
        ("events", Event),
    ):
        if model.objects.exists():
            held[label] = model.objects.count()
    return held


def reset_demo_tables() -> None:
    """Empty every table the demo fills, and those that point at its customers."""
    tables = [m._meta.db_table for m in RESET_MODELS]
    sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Checks deferred earlier in an enclosing transaction would block TRUNCATE.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        connection.ops.execute_sql_flush(sql)


def ensure_staff() -> tuple[list[tuple[str, str, str]], tuple[int, ...]]:
    """The demo's staff accounts (created once); returns logins and who logs contacts."""
    User = get_user_model()
    logins, employees = [], []
    for username, role, dept_code, dept_name, display in rules.STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            department, _ = Department.objects.get_or_create(
                code=dept_code, defaults={"name": dept_name}
            )
            user = staff.create_staff(
                username,
                rules.STAFF_PASSWORD,
                role,
                department=department,
                actor=audit.Actor("demo"),
            )
            user.staff_profile.display_name = display
            user.staff_profile.save(update_fields=["display_name"])
        logins.append((username, rules.STAFF_PASSWORD, role))
        if role in ("service_agent", "sales_rep"):
            employees.append(user.pk)
    return logins, tuple(employees)


def _first_ids() -> dict[str, int]:
    return {
        table: (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        for table, model in MODELS.items()
    }


def _reset_sequences() -> None:
    sql = connection.ops.sequence_reset_sql(no_style(), list(MODELS.values()))
    with connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)


def _pragma(*statements: str) -> None:
    """SQLite settings for the load; skipped inside a transaction, where they cannot change."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# Up to this many customers the demo builds the report read model and scores customer
# value itself; above, the worker does both after the load (minutes per million customers).
INLINE_UP_TO = 200_000


def load_demo(
    *,
    customers: int,
    seed: int = 42,
    until: dt.date | None = None,
    reset: bool = False,
    orders: int | None = None,
    events: int | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> LoadReport:
    """Generate the demo shop and load it into the (empty or reset) database."""
    if customers < 1:
        raise DemoError("--customers must be at least 1")
    report = LoadReport()
    started = time.perf_counter()
    if reset:
        reset_demo_tables()
    else:
        held = existing_data()
        if held:
            listing = ", ".join(f"{n:,} {name}" for name, n in held.items())
            raise DemoError(
                f"the database already holds data ({listing}); "
                "run `ecrm demo --reset` to replace it with the demo shop"
            )
    report.logins, employees = ensure_staff()
    report.seconds["prepare"] = time.perf_counter() - started

    plan = generator.Plan(
        customers=customers,
        seed=seed,
        until=until or default_until(),
        vendor="postgresql" if connection.vendor == "postgresql" else "sqlite",
        employees=employees,
        first_ids=_first_ids(),
        # About 3 orders and 10 events per customer unless asked otherwise (issue scale:
        # 1,000,000 customers, 3,000,000 orders, 10,000,000 events).
        **generator.shape(customers, orders or 3 * customers, events or 10 * customers),
    )
    report.rows = {table: 0 for table in generator.TABLES}
    started = time.perf_counter()
    # Durability is pointless while loading a demo that can be regenerated: trade it
    # for speed, and restore the normal settings afterwards.
    _pragma("PRAGMA synchronous=OFF", "PRAGMA cache_size=-524288")
    try:
        writer = _Writer()
        step = generator.CHUNK * max(1, customers // (generator.CHUNK * 20))
        for chunk in generator.generate(plan):
            # One transaction per chunk of customers with all their rows.
            with transaction.atomic():
                for table, rows in chunk:
                    writer.write(table, rows)
                    report.rows[table] += len(rows)
            done = report.rows["customer"]
            if done and (done == customers or done % step == 0):
                elapsed = time.perf_counter() - started
                progress(
                    f"  {done:>10,} / {customers:,} customers  {report.rows['event']:>12,} events  "
                    f"{report.rows['order']:>11,} orders  {elapsed:7.1f} s"
                )
        if connection.vendor == "postgresql":
            _reset_sequences()
    finally:
        _pragma("PRAGMA synchronous=FULL", "PRAGMA cache_size=-65536")
    report.seconds["insert"] = time.perf_counter() - started

    started = time.perf_counter()
    progress("  recomputing customer figures …")
    figures.recompute_all()
    report.seconds["figures"] = time.perf_counter() - started
    started = time.perf_counter()
    loyalty.load_demo(seed=seed, progress=progress)
    report.seconds["loyalty"] = time.perf_counter() - started
    started = time.perf_counter()
    if customers <= INLINE_UP_TO:
        progress("  building the analytics read model …")
        analytics.rebuild()
    else:
        # Minutes per million customers: the worker builds the reports after the load.
        progress("  the analytics read model is queued: the worker builds it after the load")
        analytics.queue_rebuild()
    report.seconds["analytics"] = time.perf_counter() - started
    started = time.perf_counter()
    progress("  coupons, rewards and referrals …")
    promotions.load_demo(until=plan.until, seed=seed, progress=progress)
    report.seconds["promotions"] = time.perf_counter() - started
    started = time.perf_counter()
    progress("  updating planner statistics …")
    database.refresh_planner_statistics(postgresql=True)
    report.seconds["analyze"] = time.perf_counter() - started
    started = time.perf_counter()
    # Before the segments: a demo segment picks customers by RFM group.
    if customers <= INLINE_UP_TO:
        progress("  customer value: RFM scores, predicted value, profit …")
        done = value.refresh_all()
        if done.skipped:
            progress(f"  customer value: no predictions ({done.skipped})")
    else:
        progress("  customer value is queued: the worker scores it after the load")
        value.queue_refresh_all()
    report.seconds["value"] = time.perf_counter() - started
    started = time.perf_counter()
    segments.load_demo(progress=progress)
    report.seconds["segments"] = time.perf_counter() - started
    return report
