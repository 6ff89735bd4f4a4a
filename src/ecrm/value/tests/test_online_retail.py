"""The three customer-value runs on the real UCI Online Retail file, with one customer's
figures checked against plain Python over the CSV (../shared/data; skipped where absent).

Days are the shop's (Asia/Shanghai, UTC+8); the file's times are UTC."""

import csv
import datetime as dt
import gzip
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from ecrm.core.testing import worker_in_line
from ecrm.imports import api as imports
from ecrm.orders import api as orders
from ecrm.value import api
from ecrm.value.models import CustomerPrediction, CustomerProfit

CANDIDATES = [
    Path(__file__).resolve().parents[5] / "shared/data/online_retail/online_retail.csv.gz",
    Path("/work/shared/data/online_retail/online_retail.csv.gz"),
]
FILE = next((p for p in CANDIDATES if p.is_file()), None)
SHIFT = dt.timedelta(hours=8)
NOW = dt.datetime(2011, 12, 10, 16, 0, tzinfo=dt.UTC)  # 2011-12-11 00:00 in Shanghai
FEES = {"POST", "DOT", "C2", "M", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS"}
CUSTOMER, FIRST_INVOICE = "12347", "537626"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.django_db,
    pytest.mark.skipif(
        FILE is None, reason="../shared/data/online_retail/online_retail.csv.gz is not here"
    ),
]


def expected() -> dict:
    """Customer 12347: spend per local day, goods revenue, refunds; all buyers."""
    day_spend = defaultdict(Decimal)
    goods = refunds = Decimal(0)
    buyers = set()
    with gzip.open(FILE, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            customer = row["CustomerID"].strip()
            amount = Decimal(row["Quantity"]) * Decimal(row["UnitPrice"])
            if row["InvoiceNo"].startswith("C"):
                if customer == CUSTOMER:
                    refunds += abs(amount)
                continue
            if customer:
                buyers.add(customer)
            if customer != CUSTOMER:
                continue
            day = (dt.datetime.fromisoformat(row["InvoiceDate"]) + SHIFT).date()
            day_spend[day] += amount
            if row["StockCode"] not in FEES:
                goods += amount
    return {"days": day_spend, "goods": goods, "refunds": refunds, "buyers": len(buyers)}


def test_value_runs_on_online_retail(tmp_path):
    with worker_in_line():  # the import's follow-up jobs, as the worker runs them
        imports.run_import("orders", FILE, mapping="online-retail", rejects=tmp_path / "r")
    want = expected()
    customer_id = orders.order_brief(FIRST_INVOICE).customer_id

    rfm = api.compute_rfm(now=NOW, window_days=None)
    assert rfm.customers == want["buyers"]

    run = api.score_customers(now=NOW, pareto_sample=0)
    assert run.customers == want["buyers"]
    assert run.fits["bgnbd"]["converged"] and run.fits["gamma_gamma"]["converged"]
    days = sorted(want["days"])
    end = (NOW + SHIFT).date()
    row = CustomerPrediction.objects.get(customer_id=customer_id)
    repeat = [want["days"][d] for d in days[1:]]
    assert (row.frequency, row.recency, row.age) == (
        len(days) - 1,
        float((days[-1] - days[0]).days),
        float((end - days[0]).days),
    )
    assert row.monetary == (sum(repeat) / len(repeat)).quantize(Decimal("0.0001"))
    assert 0 < row.p_alive <= 1 and row.clv > 0

    profit = api.compute_profit(now=NOW)
    assert profit.applied_cost_ratio == 0.0  # the file has no product costs
    mine = CustomerProfit.objects.get(customer_id=customer_id)
    assert (mine.revenue, mine.refunds, mine.product_cost) == (
        want["goods"].quantize(Decimal("0.0001")),
        want["refunds"].quantize(Decimal("0.0001")),
        Decimal("0.0000"),
    )
    assert mine.profit == (want["goods"] - want["refunds"]).quantize(Decimal("0.0001"))
