"""The dashboards' figures on the real UCI Online Retail file, checked against the same
figures computed here with plain Python from the CSV (../shared/data; skipped where absent).

The shop's calendar is the project's time zone (Asia/Shanghai, UTC+8) and the file's times
are UTC, so an invoice at 2011-03-31 17:00 belongs to April."""

import csv
import datetime as dt
import gzip
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from ecrm.analytics import queries, rules, services
from ecrm.core.testing import worker_in_line
from ecrm.imports import api as imports

CANDIDATES = [
    Path(__file__).resolve().parents[5] / "shared/data/online_retail/online_retail.csv.gz",
    Path("/work/shared/data/online_retail/online_retail.csv.gz"),
]
FILE = next((p for p in CANDIDATES if p.is_file()), None)
SHIFT = dt.timedelta(hours=8)

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.django_db,
    pytest.mark.skipif(
        FILE is None, reason="../shared/data/online_retail/online_retail.csv.gz is not here"
    ),
]


def expected() -> dict:
    """Per shop month: revenue, invoices and customers of Germany; all buyers' first-order
    months; per month the buyers who had bought before."""
    germany = defaultdict(lambda: {"revenue": Decimal(0), "orders": set(), "customers": set()})
    invoices: dict[str, tuple[str, dt.date]] = {}  # invoice -> (customer, local day)
    with gzip.open(FILE, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            invoice = row["InvoiceNo"]
            if invoice.startswith("C"):
                continue
            day = (dt.datetime.fromisoformat(row["InvoiceDate"]) + SHIFT).date()
            month = f"{day.year}-{day.month:02d}"
            customer = row["CustomerID"].strip()
            invoices[invoice] = (customer, dt.datetime.fromisoformat(row["InvoiceDate"]))
            if row["Country"] == "Germany":
                g = germany[month]
                g["revenue"] += Decimal(row["Quantity"]) * Decimal(row["UnitPrice"])
                g["orders"].add(invoice)
                if customer:
                    g["customers"].add(customer)
    first: dict[str, tuple[dt.datetime, str]] = {}
    months_of: dict[str, set[str]] = defaultdict(set)
    for invoice, (customer, moment) in invoices.items():
        if not customer:
            continue
        if customer not in first or (moment, invoice) < first[customer]:
            first[customer] = (moment, invoice)
    repeat = defaultdict(set)
    for invoice, (customer, moment) in invoices.items():
        if not customer:
            continue
        local = moment + SHIFT
        month = f"{local.year}-{local.month:02d}"
        months_of[customer].add(month)
        if first[customer][1] != invoice:
            repeat[month].add(customer)
    cohorts = defaultdict(int)
    for moment, _invoice in first.values():
        local = moment + SHIFT
        cohorts[f"{local.year}-{local.month:02d}"] += 1
    return {
        "germany": {
            m: (v["revenue"].quantize(Decimal("0.01")), len(v["orders"]), len(v["customers"]))
            for m, v in germany.items()
        },
        "cohorts": dict(cohorts),
        "repeat": {m: len(c) for m, c in repeat.items()},
        "buyers": {
            m: sum(1 for ms in months_of.values() if m in ms)
            for m in {m for ms in months_of.values() for m in ms}
        },
    }


def test_reports_on_online_retail_match_plain_python(tmp_path):
    with worker_in_line():  # the import's follow-up jobs, as the worker runs them
        imports.run_import("orders", FILE, mapping="online-retail", rejects=tmp_path / "r")
    services.refresh_pending()  # the worker's minute job, after the import marked them
    want = expected()

    result = queries.run_report(
        rules.parse_report(
            {
                "dimensions": ["month"],
                "measures": ["revenue", "orders", "customers"],
                "filters": {"country": ["DE"]},
                "limit": 100,
            }
        )
    )

    assert result.currency == "GBP"
    got = {
        r.keys[0]: (r.values["revenue"], r.values["orders"], r.values["customers"])
        for r in result.rows
    }
    assert got == want["germany"]
    assert len(got) == 13

    with translation.override("en"):
        matrix = queries.cohorts(36)
    assert {r["cohort"]: r["size"] for r in matrix["rows"]} == want["cohorts"]
    series = {r["label"]: (r["buyers"], r["repeat_buyers"]) for r in queries.activity_series("m")}
    assert series == {m: (want["buyers"][m], want["repeat"].get(m, 0)) for m in want["buyers"]}
