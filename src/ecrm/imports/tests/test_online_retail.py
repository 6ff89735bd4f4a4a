"""The real UCI Online Retail file, end to end, twice (../shared/data; skipped where absent)."""

from decimal import Decimal
from pathlib import Path

import pytest

from ecrm.customers.models import Customer
from ecrm.figures.models import CustomerFigures
from ecrm.imports import api as imports
from ecrm.orders.models import Order, OrderLine, Return, ReturnLine

CANDIDATES = [
    Path(__file__).resolve().parents[5] / "shared/data/online_retail/online_retail.csv.gz",
    Path("/work/shared/data/online_retail/online_retail.csv.gz"),
]
FILE = next((p for p in CANDIDATES if p.is_file()), None)

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.django_db,
    pytest.mark.skipif(
        FILE is None, reason="../shared/data/online_retail/online_retail.csv.gz is not here"
    ),
]


def sums() -> dict:
    def total(rows) -> Decimal:
        return sum(rows.values_list("amount", flat=True), Decimal(0))

    return {
        "orders": Order.objects.count(),
        "returns": Return.objects.count(),
        "guest_orders": Order.objects.filter(customer=None).count(),
        "customers": Customer.objects.count(),
        "order_product_lines": total(OrderLine.objects.filter(kind="product")),
        "order_fee_lines": total(OrderLine.objects.filter(kind="fee")),
        "return_product_lines": total(ReturnLine.objects.filter(kind="product")),
        "return_fee_lines": total(ReturnLine.objects.filter(kind="fee")),
        "lines": OrderLine.objects.count() + ReturnLine.objects.count(),
        "order_totals": sum(Order.objects.values_list("total", flat=True), Decimal(0)),
        "refunds": sum(Return.objects.values_list("amount", flat=True), Decimal(0)),
        "figures": sorted(
            CustomerFigures.objects.values_list("customer_id", "order_count", "revenue")
        ),
    }


def test_online_retail_imports_twice_with_identical_results(tmp_path):
    """541,909 lines: 25,900 invoices = 22,064 orders + 3,836 returns; 4,372 customers
    (4,339 of them with orders); 3,528 guest orders (no CustomerID, incl. the two "Adjust
    bad debt" A invoices); the sum of Quantity x UnitPrice, 9,747,747.934, is order lines
    minus return lines, split into products and fees below; the second import changes
    nothing."""
    first = imports.run_import("orders", FILE, mapping="online-retail", rejects=tmp_path / "r")
    after_first = sums()
    second = imports.run_import("orders", FILE, mapping="online-retail", rejects=tmp_path / "r")

    assert (first.rows_read, first.rows_accepted, first.rows_rejected) == (541_909, 541_909, 0)
    assert first.created == {
        "customers": 4_372,
        "orders": 22_064,
        "products": 4_053,
        "returns": 3_836,
    }
    assert second.created == {"customers": 0, "orders": 0, "products": 0, "returns": 0}
    assert second.changed == {"customers": 0, "orders": 0, "returns": 0}
    assert second.unchanged == {"orders": 22_064, "returns": 3_836}
    assert sums() == after_first
    figures = after_first.pop("figures")
    assert after_first == {
        "orders": 22_064,
        "returns": 3_836,
        "guest_orders": 3_528,
        "customers": 4_372,
        "order_product_lines": Decimal("10271433.06"),
        "order_fee_lines": Decimal("373127.364"),
        "return_product_lines": Decimal("478724.18"),
        "return_fee_lines": Decimal("418088.31"),
        "lines": 541_909,
        "order_totals": Decimal("10644560.424"),
        "refunds": Decimal("896812.49"),
    }
    assert (
        after_first["order_product_lines"]
        + after_first["order_fee_lines"]
        - after_first["return_product_lines"]
        - after_first["return_fee_lines"]
    ) == Decimal("9747747.934")
    assert len(figures) == 4_372
    assert Order.objects.exclude(customer=None).values("customer").distinct().count() == 4_339
