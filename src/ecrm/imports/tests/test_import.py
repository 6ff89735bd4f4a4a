"""Bulk import end to end against the database: exact counts, totals, rejects, idempotency."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecrm.catalog.models import Brand, Category, Product
from ecrm.customers import api as customers
from ecrm.customers.models import Consent, Customer, Identity
from ecrm.figures import api as figures
from ecrm.imports import api as imports
from ecrm.imports.models import ImportRun
from ecrm.orders.models import Order, OrderLine, Return, ReturnLine

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.django_db


def state() -> dict:
    """Everything an import writes, summed up, to compare two runs."""
    return {
        "customers": Customer.objects.count(),
        "identities": sorted(Identity.objects.values_list("kind", "namespace", "value")),
        "consents": sorted(Consent.objects.values_list("channel", "status")),
        "products": sorted(Product.objects.values_list("sku", "name", "price", "updated_at")),
        "categories": Category.objects.count(),
        "orders": sorted(Order.objects.values_list("external_id", "content_hash", "total")),
        "lines": OrderLine.objects.count(),
        "line_sum": sum(OrderLine.objects.values_list("amount", flat=True), Decimal(0)),
        "returns": sorted(Return.objects.values_list("external_id", "content_hash", "amount")),
        "return_lines": ReturnLine.objects.count(),
        "updated": sorted(Customer.objects.values_list("updated_at", flat=True)),
    }


def read_rejects(path) -> list[list[str]]:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_customers_file_imports_with_dedup_consents_and_attributes(tmp_path):
    """customers.csv: 3 profiles from 4 good rows (the 4th row is C3 again, by email);
    5 bad rows rejected with their line and reason; consents and extra columns kept."""
    rejects = tmp_path / "rejects.csv"
    summary = imports.run_import("customers", FIXTURES / "customers.csv", rejects=rejects)

    assert (summary.rows_read, summary.rows_accepted, summary.rows_rejected) == (9, 4, 5)
    assert summary.created == {"customers": 3}
    c1 = Customer.objects.get(identities__kind="external", identities__value="C1")
    assert (c1.name, c1.email, c1.phone, c1.gender, c1.birthday, c1.country) == (
        "李雷",
        "li.lei@example.com",
        "+8613812345678",
        "m",
        dt.date(1990, 5, 1),
        "CN",
    )
    assert c1.registered_at == dt.datetime(2020, 1, 2, 2, 0, tzinfo=dt.UTC)  # Asia/Shanghai
    assert c1.attributes == {"vip_level": "gold", "favourite_colour": "red"}
    assert sorted(Consent.objects.filter(customer=c1).values_list("channel", "status")) == [
        ("email", "granted"),
        ("sms", "denied"),
    ]
    c3 = Customer.objects.get(identities__kind="external", identities__value="C3")
    assert (c3.email, c3.phone) == ("wang.fang@example.com", "+8613700002222")
    assert sorted(
        Identity.objects.filter(customer=c3).values_list("kind", "value", "verified")
    ) == [
        ("email", "wang.fang@example.com", True),
        ("external", "C3", True),
        ("phone", "+8613700002222", True),
    ]
    assert read_rejects(rejects) == [
        ["line", "reason", *read_rejects(FIXTURES / "customers.csv")[0]],
        ["6", "email: 'not-an-email' is not an e-mail address",
         "C5", "Bad Mail", "not-an-email", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["7", "phone: '12345' is not a valid phone number",
         "C6", "Bad Phone", "", "12345", "", "", "", "", "", "", "", "", "", "", ""],
        ["8", "birthday: '1990-13-01' is not a date (YYYY-MM-DD)",
         "C7", "Bad Birthday", "", "", "", "1990-13-01", "", "", "", "", "", "", "", "", ""],
        ["9", "country: 'China' is not a two-letter ISO 3166 country code; "
         'map it under "values"',
         "C8", "Bad Country", "c8@example.com", "", "", "", "China",
         "", "", "", "", "", "", "", ""],
        ["10", "email_opt_in: 'maybe' is not yes/no (1/0, true/false, 是/否)",
         "C9", "No Consent", "c9@example.com", "", "", "", "", "", "", "", "", "maybe", "", "", ""],
    ]  # fmt: skip


def test_customers_import_twice_changes_nothing(tmp_path):
    """The second import of the same file creates and changes nothing."""
    imports.run_import("customers", FIXTURES / "customers.csv", rejects=tmp_path / "r1.csv")
    before = state()
    again = imports.run_import("customers", FIXTURES / "customers.csv", rejects=tmp_path / "r.csv")
    assert (again.created, again.changed) == ({"customers": 0}, {"customers": 0})
    assert state() == before


def test_gb18030_customers_with_a_mapping_file(tmp_path):
    """Chinese headers and GB18030 bytes; the mapping names columns, a date format, a
    namespace and which extra columns become attributes."""
    summary = imports.run_import(
        "customers",
        FIXTURES / "customers_gb18030.csv",
        mapping=str(FIXTURES / "gb18030-customers.json"),
        rejects=tmp_path / "r.csv",
    )
    assert (summary.rows_accepted, summary.rows_rejected, summary.created) == (
        2,
        1,
        {"customers": 2},
    )
    rows = Customer.objects.order_by("pk").values_list(
        "name", "phone", "province", "city", "birthday", "country", "attributes", "name_pinyin"
    )
    assert list(rows) == [
        ("张伟", "+8613812340001", "广东", "深圳", dt.date(1988, 7, 15), "CN",
         {"会员等级": "金卡"}, "zhangwei"),
        ("王芳", "+8613812340002", "江苏", "南京", dt.date(1995, 12, 1), "CN",
         {"会员等级": "银卡"}, "wangfang"),
    ]  # fmt: skip
    assert sorted(Identity.objects.filter(kind="external").values_list("namespace", "value")) == [
        ("youzan", "Y001"),
        ("youzan", "Y002"),
    ]
    assert read_rejects(tmp_path / "r.csv")[1][:3] == [
        "4",
        "phone (手机): '1381234' is not a valid phone number",
        "Y003",
    ]


def test_a_rejected_customer_row_names_every_bad_field_in_the_uploaders_language(tmp_path):
    source = tmp_path / "customers.csv"
    source.write_text(
        "customer_id,name,phone,birthday\nC-1,王芳,12345,1991-13-45\nC-2,李娜,13800138000,\n",
        encoding="utf-8",
    )
    summary = imports.run_import(
        "customers", source, rejects=tmp_path / "r.csv", language="zh-hans"
    )
    assert (summary.rows_accepted, summary.rows_rejected) == (1, 1)
    assert read_rejects(tmp_path / "r.csv")[1][:2] == [
        "2",
        "phone: '12345' 不是有效的电话号码; birthday: '1991-13-45' 不是日期（YYYY-MM-DD）",
    ]


def test_products_jsonl(tmp_path):
    """JSON Lines products: category paths create both levels, brands are shared; a row
    without SKU, a line that is not JSON and a bad price are rejected."""
    summary = imports.run_import(
        "products", FIXTURES / "products.jsonl", rejects=tmp_path / "r.csv"
    )
    assert (summary.rows_read, summary.rows_accepted, summary.rows_rejected) == (6, 3, 3)
    assert summary.created == {"products": 3}
    assert list(
        Product.objects.order_by("sku").values_list(
            "sku", "name", "category__code", "brand__name", "price", "cost", "currency"
        )
    ) == [
        ("SKU-1", "电饭煲", "家电/厨房电器", "美的", Decimal("299"), Decimal("180.5"), "CNY"),
        ("SKU-2", "保温杯", "家居/杯具", "膳魔师", Decimal("49.5"), Decimal("0"), "CNY"),
        ("SKU-3", "空气炸锅", "家电/厨房电器", None, Decimal("399"), Decimal("0"), ""),
    ]
    assert sorted(Category.objects.values_list("code", flat=True)) == [
        "家居",
        "家居/杯具",
        "家电",
        "家电/厨房电器",
    ]
    assert Brand.objects.count() == 2
    assert [r[:2] for r in read_rejects(tmp_path / "r.csv")] == [
        ["line", "reason"],
        ["4", "sku: is empty"],
        ["5", "not valid JSON (Expecting value at column 1)"],
        ["6", "price: 'abc' is not a number"],
    ]
    again = imports.run_import("products", FIXTURES / "products.jsonl", rejects=tmp_path / "r.csv")
    assert (again.created, again.changed) == ({"products": 0}, {"products": 0})


def test_a_negative_price_or_cost_is_rejected_as_the_catalogue_api_refuses_it(tmp_path):
    """A products file stored -5 as a price, which the catalogue API answers 400 for."""
    source = tmp_path / "products.csv"
    source.write_text(
        "sku,name,price,cost\nSKU-1,电饭煲,-5,1\nSKU-2,保温杯,49.5,-0.01\nSKU-3,杯盖,0,0\n",
        encoding="utf-8",
    )
    summary = imports.run_import("products", source, rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (1, 2)
    assert [r[:2] for r in read_rejects(tmp_path / "r.csv")[1:]] == [
        ["2", "price: must not be negative"],
        ["3", "cost: must not be negative"],
    ]
    assert list(Product.objects.values_list("sku", "price")) == [("SKU-3", Decimal("0"))]


def test_a_currency_is_read_as_its_iso_code_or_the_row_is_rejected(tmp_path):
    source = tmp_path / "products.csv"
    source.write_text("sku,currency\nS-1,rmb\nS-2,CYN\nS-3, usd \nS-4,DEM\n", encoding="utf-8")
    summary = imports.run_import("products", source, rejects=tmp_path / "r.csv")
    assert [r[:2] for r in read_rejects(tmp_path / "r.csv")[1:]] == [
        ["3", "currency: 'CYN' is not an ISO 4217 currency code such as CNY"]
    ]
    assert summary.rows_accepted == 3
    assert sorted(Product.objects.values_list("sku", "currency")) == [
        ("S-1", "CNY"),
        ("S-3", "USD"),
        ("S-4", "DEM"),
    ]


def test_prices_with_a_decimal_comma_or_thousands_separators_are_read_at_their_value(tmp_path):
    """European Excel writes ``12,50`` and ``1.299,00`` (in a ``;`` file); English and
    Chinese Excel ``1,299.00`` and ``¥1,299``. Each is read at its value: ``12,50`` went in
    as 1250 and ``1.299,00`` was rejected for its decimal places. Commas that are neither
    (``1,2,3``) reject the row instead of being dropped."""
    source = tmp_path / "products.csv"
    source.write_text(
        'sku;price;cost\r\nE-1;12,50;0,5\r\nE-2;1.299,00;\r\nE-3;"1,299.00";\r\n'
        "E-4;¥1,299;\r\nE-5;1,2,3;\r\n",
        encoding="utf-8",
    )
    summary = imports.run_import("products", source, rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (4, 1)
    assert [r[:2] for r in read_rejects(tmp_path / "r.csv")[1:]] == [
        ["6", "price: '1,2,3' is not a number"]
    ]
    assert sorted(Product.objects.values_list("sku", "price", "cost")) == [
        ("E-1", Decimal("12.50"), Decimal("0.5")),
        ("E-2", Decimal("1299.00"), Decimal("0")),
        ("E-3", Decimal("1299.00"), Decimal("0")),
        ("E-4", Decimal("1299"), Decimal("0")),
    ]


def test_numbers_in_excels_accounting_format_are_read_at_their_value(tmp_path):
    """Excel's accounting format saves zero as `` ¥-   `` or `` -   `` and a negative amount
    as ``(5.00)``; both rejected the row as "not a number". Zero is 0, (5.00) is -5, and
    the rules that refuse a negative cost still apply."""
    source = tmp_path / "orders.csv"
    source.write_text(
        "order_id,placed_at,sku,unit_price,discount,shipping\n"
        'AC-1,2024-06-18 20:15:00,A,"¥1,299.00", ¥-   , -   \n'
        "AC-2,2024-06-18 20:15:00,A,(¥10.00),0,(2)\n",
        encoding="utf-8",
    )
    summary = imports.run_import("orders", source, rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 0)
    assert sorted(Order.objects.values_list("external_id", "discount", "shipping", "total")) == [
        ("AC-1", Decimal("0"), Decimal("0"), Decimal("1299")),
        ("AC-2", Decimal("0"), Decimal("-2"), Decimal("-12")),
    ]
    products = tmp_path / "products.csv"
    products.write_text("sku,price,cost\nP-1, ¥-   ,\nP-2,10,(0.50)\n", encoding="utf-8")
    summary = imports.run_import("products", products, rejects=tmp_path / "p.csv")
    assert [r[:2] for r in read_rejects(tmp_path / "p.csv")[1:]] == [
        ["3", "cost: must not be negative"]
    ]
    assert Product.objects.get(sku="P-1").price == Decimal("0")


def test_order_lines_with_a_decimal_comma_are_read_at_their_value(tmp_path):
    """The same rule for an order's unit prices and quantities: 2 × 12,50 is 25.00."""
    source = tmp_path / "orders.csv"
    source.write_text(
        "order_id;placed_at;sku;quantity;unit_price\n"
        "EU-1;2024-06-18 20:15:00;A;2;12,50\nEU-1;2024-06-18 20:15:00;B;0,5;1.000,00\n",
        encoding="utf-8",
    )
    summary = imports.run_import("orders", source, rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 0)
    assert list(
        OrderLine.objects.order_by("line_no").values_list("sku", "quantity", "unit_price", "amount")
    ) == [
        ("A", Decimal("2"), Decimal("12.5"), Decimal("25")),
        ("B", Decimal("0.5"), Decimal("1000"), Decimal("500")),
    ]
    assert Order.objects.get().total == Decimal("525")


def test_dates_as_chinese_excel_shows_them_are_read(tmp_path):
    """Excel on Chinese Windows saves dates as ``2024/6/18 20:15`` and ``1990/5/1`` (no
    leading zeros), or ``1990年5月1日``; each row was rejected as "not a date". A date that
    does not exist (``1990/2/30``) and a day-first one still reject their row."""
    customers_file = tmp_path / "customers.csv"
    customers_file.write_text(
        "customer_id,birthday,registered_at\n"
        "D1,1990/5/1,2020/1/2 10:00\nD2,1990年5月1日,2020年1月2日 9:05:30\n"
        "D3,1990/2/30,\nD4,01/05/1990,\n",
        encoding="utf-8",
    )
    summary = imports.run_import("customers", customers_file, rejects=tmp_path / "c.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 2)
    assert [r[:2] for r in read_rejects(tmp_path / "c.csv")[1:]] == [
        ["4", "birthday: '1990/2/30' is not a date (YYYY-MM-DD)"],
        ["5", "birthday: '01/05/1990' is not a date (YYYY-MM-DD)"],
    ]
    assert sorted(
        Customer.objects.values_list("identities__value", "birthday", "registered_at")
    ) == [
        ("D1", dt.date(1990, 5, 1), dt.datetime(2020, 1, 2, 2, 0, tzinfo=dt.UTC)),
        ("D2", dt.date(1990, 5, 1), dt.datetime(2020, 1, 2, 1, 5, 30, tzinfo=dt.UTC)),
    ]

    orders_file = tmp_path / "orders.csv"
    orders_file.write_text(
        "order_id,placed_at,sku,unit_price\nX-1,2024/6/18 20:15,A,10\nX-2,2024/6/8,A,10\n",
        encoding="utf-8",
    )
    summary = imports.run_import("orders", orders_file, rejects=tmp_path / "o.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 0)
    assert sorted(Order.objects.values_list("external_id", "placed_at")) == [
        ("X-1", dt.datetime(2024, 6, 18, 12, 15, tzinfo=dt.UTC)),
        ("X-2", dt.datetime(2024, 6, 7, 16, 0, tzinfo=dt.UTC)),
    ]


def test_a_date_with_more_after_it_rejects_the_row(tmp_path):
    """Only the first ten characters of a date were read: ``1990-05-0112`` went in as
    1 May 1990 and ``1990-05-01 junk`` too. A date with a time (what Excel writes for a
    date cell) is still read."""
    source = tmp_path / "customers.csv"
    source.write_text(
        "customer_id,birthday\nT1,1990-05-0112\nT2,1990-05-01 junk\nT3,1990-05-01 00:00:00\n",
        encoding="utf-8",
    )
    summary = imports.run_import("customers", source, rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (1, 2)
    assert [r[:2] for r in read_rejects(tmp_path / "r.csv")[1:]] == [
        ["2", "birthday: '1990-05-0112' is not a date (YYYY-MM-DD)"],
        ["3", "birthday: '1990-05-01 junk' is not a date (YYYY-MM-DD)"],
    ]
    assert list(Customer.objects.values_list("identities__value", "birthday")) == [
        ("T3", dt.date(1990, 5, 1))
    ]


ORDER_REJECTS = [
    ["7", "quantity: 'abc' is not a number"],
    ["8", "order SO-4 is rejected whole: line 7 is bad"],
    ["9", "order_id: is empty"],
    ["10", "email: 'not-an-email' is not an e-mail address"],
    ["11", "placed_at: '2024-13-45 12:00:00' is not a date and time "
     "(ISO 8601, e.g. 2024-06-18 20:15:00)"],
]  # fmt: skip


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz"])
def test_orders_csv_groups_lines_and_rejects_bad_orders_whole(tmp_path, name):
    """orders.csv (plain or gzip): SO-1's rows are apart and still make one order of four
    lines; SO-2 is a guest order; SO-4 has one bad line so both its rows are rejected."""
    rejects = tmp_path / "rejects.csv"
    summary = imports.run_import("orders", FIXTURES / name, rejects=rejects)

    assert (summary.rows_read, summary.rows_accepted, summary.rows_rejected) == (10, 5, 5)
    assert summary.created == {"customers": 2, "orders": 3, "products": 3, "returns": 0}
    so1 = Order.objects.get(external_id="SO-1")
    assert (so1.status, so1.channel, so1.store, so1.country, so1.city, so1.currency) == (
        "paid",
        "tmall",
        "旗舰店",
        "CN",
        "上海",
        "CNY",
    )
    assert (so1.subtotal, so1.discount, so1.total, so1.coupon) == (
        Decimal("403"),
        Decimal("10"),
        Decimal("393"),
        "618",
    )
    assert list(so1.lines.order_by("line_no").values_list("sku", "kind", "quantity", "amount")) == [
        ("SKU-1", "product", Decimal("1"), Decimal("299")),
        ("SKU-2", "product", Decimal("2"), Decimal("99")),
        ("GIFT-WRAP", "fee", Decimal("1"), Decimal("5")),
    ]
    so2 = Order.objects.get(external_id="SO-2")
    assert (so2.customer_id, so2.status, so2.shipping, so2.total) == (
        None,
        "placed",
        Decimal("12"),
        Decimal("61.5"),
    )
    assert sum(Order.objects.values_list("total", flat=True)) == Decimal("853.5")
    assert [row[:2] for row in read_rejects(rejects)[1:]] == ORDER_REJECTS
    assert read_rejects(rejects)[2][2:6] == ["SO-4", "C3", "", ""]
    buyer = so1.customer
    assert (buyer.email, buyer.phone, buyer.country, buyer.city) == (
        "li.lei@example.com",
        "+8613812345678",
        "CN",
        "上海",
    )
    assert figures.figures_of(buyer.pk).order_count == 1
    assert figures.figures_of(buyer.pk).revenue == Decimal("393")


def test_orders_import_twice_changes_nothing(tmp_path):
    """Second run: 0 created, 0 changed, identical tables and sums."""
    imports.run_import("orders", FIXTURES / "orders.csv", rejects=tmp_path / "r1.csv")
    before = state()
    again = imports.run_import("orders", FIXTURES / "orders.csv.gz", rejects=tmp_path / "r2.csv")
    assert again.created == {"customers": 0, "orders": 0, "products": 0, "returns": 0}
    assert again.changed == {"customers": 0, "orders": 0, "returns": 0}
    assert again.unchanged == {"orders": 3, "returns": 0}
    assert state() == before
    assert read_rejects(tmp_path / "r1.csv") == read_rejects(tmp_path / "r2.csv")


def test_orders_join_customers_by_identity(tmp_path):
    """A customer imported from the master file is the buyer of the orders naming the same
    customer id; a profile known by verified email only is found by email."""
    existing = customers.create_customer(
        profile={"name": "韩梅梅"},
        claims=[customers.make_claim("email", "han.meimei@example.com", verified=True)],
    )
    imports.run_import("customers", FIXTURES / "customers.csv", rejects=tmp_path / "c.csv")
    c1 = Customer.objects.get(identities__kind="external", identities__value="C1")
    imports.run_import("orders", FIXTURES / "orders.csv", rejects=tmp_path / "o.csv")
    assert Order.objects.get(external_id="SO-1").customer_id == c1.pk
    assert Order.objects.get(external_id="SO-3").customer_id == existing.pk
    assert Customer.objects.count() == 3  # C1, C3 from the file and the existing 韩梅梅
    assert sorted(Identity.objects.filter(customer=existing).values_list("kind", "value")) == [
        ("email", "han.meimei@example.com"),
        ("external", "C2"),
        ("phone", "+8613900001111"),
    ]


def test_a_changed_order_is_rewritten(tmp_path):
    """Re-importing a file where one order changed rewrites that order only."""
    imports.run_import("orders", FIXTURES / "orders.csv", rejects=tmp_path / "r.csv")
    changed = tmp_path / "orders.csv"
    text = (FIXTURES / "orders.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace("SKU-3,空气炸锅,1,399,", "SKU-3,空气炸锅,2,399,"), "utf-8")
    summary = imports.run_import("orders", changed, rejects=tmp_path / "r.csv")
    assert (summary.created["orders"], summary.changed["orders"], summary.unchanged["orders"]) == (
        0,
        1,
        2,
    )
    so3 = Order.objects.get(external_id="SO-3")
    assert (so3.total, so3.lines.get().quantity) == (Decimal("798"), Decimal("2"))


def test_online_retail_builtin_mapping(tmp_path):
    """The UCI layout: C invoices are returns with positive amounts and their products,
    lines without CustomerID are guest orders, POST/D/gift_/B are fees, GBP, countries
    become ISO codes on orders and new profiles; the bad-price invoice is rejected."""
    rejects = tmp_path / "r.csv"
    summary = imports.run_import(
        "orders", FIXTURES / "online_retail_sample.csv", mapping="online-retail", rejects=rejects
    )
    assert (summary.rows_read, summary.rows_accepted, summary.rows_rejected) == (13, 12, 1)
    assert summary.created == {"customers": 5, "orders": 7, "products": 7, "returns": 2}
    assert sorted(Order.objects.filter(customer=None).values_list("external_id", flat=True)) == [
        "536366",
        "536367",
        "A563185",
        "A563186",
    ]
    assert sorted(Return.objects.values_list("external_id", "amount", "currency")) == [
        ("C536379", Decimal("27.5"), "GBP"),
        ("C536383", Decimal("4.65"), "GBP"),
    ]
    duck = ReturnLine.objects.get(ret__external_id="C536383")
    assert (duck.kind, duck.product.sku, duck.quantity, duck.amount) == (
        "product",
        "35004C",
        Decimal("1"),
        Decimal("4.65"),
    )
    assert ReturnLine.objects.get(ret__external_id="C536379").kind == "fee"
    assert sorted(OrderLine.objects.filter(kind="fee").values_list("sku", "amount")) == [
        ("B", Decimal("-11062.06")),
        ("B", Decimal("11062.06")),
        ("POST", Decimal("18")),
        ("gift_0001_20", Decimal("17.02")),
    ]
    assert sum(OrderLine.objects.values_list("amount", flat=True)) == Decimal("212.56")
    assert Order.objects.get(external_id="536365").lines.count() == 4
    first = Order.objects.get(external_id="536365")
    assert (first.placed_at, first.country, first.currency, first.total) == (
        dt.datetime(2010, 12, 1, 8, 26, tzinfo=dt.UTC),
        "GB",
        "GBP",
        Decimal("68.94"),
    )
    assert sorted(Customer.objects.values_list("country", flat=True)) == [
        "FR",
        "GB",
        "GB",
        "GB",
        "IE",
    ]
    assert read_rejects(rejects)[1] == [
        "13",
        "unit_price (UnitPrice): 'xyz' is not a number",
        "536369",
        "84029E",
        "RED WOOLLY HOTTIE\nWHITE HEART.",
        "6",
        "2010-12-01 08:35:00",
        "xyz",
        "13047",
        "EIRE",
    ]


def test_import_run_is_recorded_and_audited(tmp_path, admin_user):
    """Each run leaves an ImportRun with its counts and an audit entry by the actor."""
    from ecrm.core import audit
    from ecrm.core.models import AuditEntry

    summary = imports.run_import(
        "orders",
        FIXTURES / "orders.csv",
        rejects=tmp_path / "r.csv",
        actor=audit.Actor.of(admin_user),
    )
    run = ImportRun.objects.get(pk=summary.run_id)
    assert (run.status, run.rows_read, run.rows_accepted, run.rows_rejected) == ("done", 10, 5, 5)
    assert run.created == {"customers": 2, "orders": 3, "products": 3, "returns": 0}
    assert (run.reject_file, run.created_by_id) == (str(tmp_path / "r.csv"), admin_user.pk)
    entry = AuditEntry.objects.get(action="import")
    assert (entry.actor_label, entry.object_id, entry.after["rejected"]) == (
        "admin",
        str(run.pk),
        5,
    )


def test_queued_import_runs_in_the_worker_and_records_errors(tmp_path):
    """The worker task imports a queued run; a bad mapping marks the run failed."""
    from ecrm.core import audit
    from ecrm.imports.services import run_queued

    good = imports.queue_import("orders", FIXTURES / "orders.csv", actor=audit.SYSTEM)
    bad = imports.queue_import("orders", FIXTURES / "orders.csv", "no-such", actor=audit.SYSTEM)
    run_queued(good)
    run_queued(bad)
    assert ImportRun.objects.get(pk=good).status == "done"
    assert Order.objects.count() == 3
    failed = ImportRun.objects.get(pk=bad)
    assert (failed.status, failed.error) == (
        "failed",
        "mapping 'no-such' is neither a built-in mapping (online-retail) nor a file",
    )


def test_cli_prints_a_summary(tmp_path, capsys):
    """``ecrm import orders FILE`` prints counts and where the rejects went."""
    call_command(
        "import", "orders", str(FIXTURES / "orders.csv"), "--rejects", str(tmp_path / "r.csv"),
        "--no-progress",
    )  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "  rows: 10 read, 5 accepted, 5 rejected",
        "  customers: 2 created, 0 changed",
        "  orders: 3 created, 0 changed, 0 unchanged",
        "  products: 3 created, 0 changed",
        "  returns: 0 created, 0 changed, 0 unchanged",
        f"  rejected rows written to {tmp_path / 'r.csv'}",
        "  queued for the worker: figures, loyalty, segments and promotions of 2 customers "
        "(`ecrm worker`, or `ecrm serve`, runs it)",
    ]


def test_cli_warns_of_a_file_with_a_header_and_no_rows(tmp_path, capsys):
    """It printed "0 read" among the counts and nothing else, exit code 0 (an empty daily
    export is not an error for a cron job, but a wrong file should not pass unnoticed)."""
    source = tmp_path / "customers.csv"
    source.write_text("customer_id,name,email\n", encoding="utf-8")
    call_command("import", "customers", str(source), "--no-progress")
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1] == "  rows: 0 read, 0 accepted, 0 rejected"
    assert captured.err == f"warning: {source} has no rows after its header\n"


def test_cli_errors_exit_with_code_2(tmp_path):
    """A missing file, an unknown mapping, a mapping naming an unknown field or a missing
    column: a clear message and exit code 2, and nothing imported."""
    bad_field = tmp_path / "bad.json"
    bad_field.write_text(json.dumps({"columns": {"shoe_size": "Size"}}), "utf-8")
    missing_col = tmp_path / "missing.json"
    missing_col.write_text(
        json.dumps({"columns": {"order_id": "InvoiceNo", "placed_at": "placed_at"}}), "utf-8"
    )
    cases = [
        (["orders", str(tmp_path / "nope.csv")], f"{tmp_path / 'nope.csv'}: no such file"),
        (
            ["orders", str(FIXTURES / "orders.csv"), "--mapping", "no-such"],
            "mapping 'no-such' is neither a built-in mapping (online-retail) nor a file",
        ),
        (
            ["customers", str(FIXTURES / "customers.csv"), "--mapping", str(bad_field)],
            "\"columns\": 'shoe_size' is not an eCRM field for customers; known fields: "
            "customer_id, name, email, phone, gender, birthday, country, province, city, "
            "registration_channel, registered_at, email_opt_in, sms_opt_in",
        ),
        (
            ["orders", str(FIXTURES / "orders.csv"), "--mapping", str(missing_col)],
            "column 'InvoiceNo' (mapped to order_id) is not in the file; the file's columns "
            "are: 'order_id', 'customer_id', 'email', 'phone', 'placed_at', 'status', "
            "'channel', 'store', 'country', 'city', 'currency', 'discount', 'shipping', 'tax', "
            "'coupon', 'sku', 'product_name', 'quantity', 'unit_price', 'line_kind'",
        ),
    ]
    for args, message in cases:
        with pytest.raises(CommandError) as caught:
            call_command("import", *args, "--no-progress")
        assert (str(caught.value), caught.value.returncode) == (message, 2)
    assert (Order.objects.count(), Customer.objects.count()) == (0, 0)
    assert list(ImportRun.objects.values_list("status", flat=True)) == ["failed"] * 4


def test_a_mapping_with_a_bad_delimiter_or_fee_list_exits_with_code_2(tmp_path):
    """``"delimiter": ";;"`` crashed the command with a TypeError's traceback (exit code
    1); ``"fees": {"skus": "POST"}`` made the letters
    P, O, S and T fee SKUs. Both are refused, naming the key, and nothing is imported."""
    cases = [
        (
            {"delimiter": ";;"},
            "\"delimiter\": ';;' is not one character such as , or ; or a tab (\\t)",
        ),
        (
            {"fees": {"skus": "POST"}},
            '"fees" must be an object with "skus" and "sku_prefixes" lists',
        ),
    ]
    for data, message in cases:
        mapping = tmp_path / "mapping.json"
        mapping.write_text(json.dumps(data), "utf-8")
        with pytest.raises(CommandError) as caught:
            call_command(
                "import", "orders", str(FIXTURES / "orders.csv"), "--mapping", str(mapping),
                "--no-progress",
            )  # fmt: skip
        assert (str(caught.value), caught.value.returncode) == (message, 2)
    assert (Order.objects.count(), Customer.objects.count()) == (0, 0)
    assert list(ImportRun.objects.values_list("status", flat=True)) == ["failed"] * 2


def test_excel_unicode_text_is_read_as_utf16_without_a_mapping(tmp_path):
    """Excel's "Unicode Text" (.txt) is UTF-16 with a BOM, tab-separated: it was read as
    GB18030 and refused at line 1. Its bad rows keep their physical lines."""
    source = tmp_path / "订单.txt"
    source.write_bytes(
        "order_id\tplaced_at\tsku\tunit_price\tphone\r\n"
        "U-1\t2024-06-18 20:15:00\tA\t12.5\t138 1234 5678\r\n"
        "U-2\t2024-06-18 20:15:00\tA\tabc\t\r\n".encode("utf-16")
    )
    summary = imports.run_import("orders", source, rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (1, 1)
    assert read_rejects(tmp_path / "r.csv") == [
        ["line", "reason", "order_id", "placed_at", "sku", "unit_price", "phone"],
        ["3", "unit_price: 'abc' is not a number", "U-2", "2024-06-18 20:15:00", "A", "abc", ""],
    ]
    assert list(Order.objects.values_list("external_id", "total", "customer__phone")) == [
        ("U-1", Decimal("12.5"), "+8613812345678")
    ]


def test_utf16_named_in_the_mapping_for_a_file_without_its_bom_exits_with_code_2(tmp_path):
    """``"encoding": "utf-16"`` on a UTF-8 file crashed with "UTF-16 stream does not start
    with BOM" (a traceback, exit code 1); now the file's line is named."""
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"encoding": "utf-16"}), "utf-8")
    with pytest.raises(CommandError) as caught:
        call_command(
            "import", "orders", str(FIXTURES / "orders.csv"), "--mapping", str(mapping),
            "--no-progress",
        )  # fmt: skip
    assert (str(caught.value), caught.value.returncode) == (
        "orders.csv: not valid utf-16 text at line 1 (UTF-16 stream does not start with BOM); "
        'set "encoding" in the mapping',
        2,
    )
    assert list(ImportRun.objects.values_list("status", flat=True)) == ["failed"]


def test_blank_rows_excel_saves_as_delimiters_are_skipped_like_blank_lines(tmp_path):
    """Excel saves a blank row in a formatted range as ``,,,,``; each was rejected
    ("order_id: is empty", "a customer needs ..."), so a clean file came back with rejects.
    They are skipped as blank lines are, and later lines keep their physical numbers."""
    orders_file = tmp_path / "orders.csv"
    orders_file.write_text(
        "order_id,placed_at,sku,unit_price,email\r\n"
        "B-1,2024-06-18 20:15:00,A,10,b@example.com\r\n,,,,\r\n , ,,,\r\n"
        "B-2,2024-06-18 20:15:00,A,x,\r\n,,,,\r\n",
        encoding="utf-8-sig",
    )
    summary = imports.run_import("orders", orders_file, rejects=tmp_path / "o.csv")
    assert (summary.rows_read, summary.rows_accepted, summary.rows_rejected) == (2, 1, 1)
    assert [r[:2] for r in read_rejects(tmp_path / "o.csv")[1:]] == [
        ["5", "unit_price: 'x' is not a number"]
    ]
    customers_file = tmp_path / "customers.csv"
    customers_file.write_text("customer_id,name,email\nK1,Kim,\n,,\n", encoding="utf-8")
    summary = imports.run_import("customers", customers_file, rejects=tmp_path / "c.csv")
    assert (summary.rows_read, summary.rows_accepted, summary.rows_rejected) == (1, 1, 0)
    assert not (tmp_path / "c.csv").exists()
    assert sorted(Customer.objects.values_list("name", "email")) == [
        ("", "b@example.com"),
        ("Kim", ""),
    ]


@pytest.mark.parametrize("order_id_first", [True, False])
def test_excel_keep_as_text_cells_are_read_as_their_text(tmp_path, order_id_first):
    """Exports write long numbers as ``="3849201938475"`` so that Excel keeps them as text;
    order numbers, SKUs and customer ids went in with the ``="..."`` around them (only
    phones were unwrapped), so the same order from another export never matched. The rows
    of one order are still grouped when they are apart, and a re-import changes nothing."""
    columns = ["order_id", "placed_at", "sku", "unit_price", "customer_id"]
    rows = [
        ['="3849201938475"', "2024-06-18 20:15:00", '="0012"', "10", '="000123"'],
        ['="3849201938476"', "2024-06-18 20:16:00", "0013", "5", "000124"],
        ['="3849201938475"', "2024-06-18 20:15:00", '="0014"', "1", '="000123"'],
    ]
    if not order_id_first:  # the order id not in the first column is counted another way
        columns.append(columns.pop(0))
        rows = [[*row[1:], row[0]] for row in rows]
    source = tmp_path / "orders.csv"
    source.write_text("\n".join(",".join(r) for r in [columns, *rows]) + "\n", "utf-8")
    summary = imports.run_import("orders", source, rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (3, 0)
    assert summary.created["orders"] == 2
    buyer_id = "order__customer__identities__value"
    assert sorted(OrderLine.objects.values_list("order__external_id", "sku", buyer_id)) == [
        ("3849201938475", "0012", "000123"),
        ("3849201938475", "0014", "000123"),
        ("3849201938476", "0013", "000124"),
    ]  # fmt: skip
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["0012", "0013", "0014"]
    before = state()
    again = imports.run_import("orders", source, rejects=tmp_path / "r.csv")
    assert (again.created["orders"], again.changed["orders"]) == (0, 0)
    assert state() == before


SHORTENED = (
    "is a number Excel shortened, not the id; format the column as text in Excel "
    "and save the file again"
)


def test_ids_excel_shortened_to_scientific_notation_reject_their_rows(tmp_path):
    """Excel shows a 19-digit order number as 3.8492E+18 and saves it so: every order of
    the export then had that number, and different orders of different buyers went in as
    one order (3 rows, 1 order, 1 buyer). Such order ids, customer ids and SKUs reject
    their rows, naming the value."""
    source = tmp_path / "orders.csv"
    source.write_text(
        "order_id,placed_at,sku,unit_price,customer_id\n"
        "3.8492E+18,2024-06-18 20:15:00,A,10,C1\n3.8492E+18,2024-06-19 10:00:00,B,20,C2\n"
        "S-1,2024-06-20 10:00:00,1.2E+05,30,C3\nS-2,2024-06-20 10:00:00,C,30,1.2346E+11\n"
        "S-3,2024-06-20 10:00:00,C,30,C4\n",
        encoding="utf-8",
    )
    summary = imports.run_import("orders", source, rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (1, 4)
    assert [r[:2] for r in read_rejects(tmp_path / "r.csv")[1:]] == [
        ["2", f"order_id: '3.8492E+18' {SHORTENED}"],
        ["3", "order 3.8492E+18 is rejected whole: line 2 is bad"],
        ["4", f"sku: '1.2E+05' {SHORTENED}"],
        ["5", f"customer_id: '1.2346E+11' {SHORTENED}"],
    ]
    assert list(Order.objects.values_list("external_id", flat=True)) == ["S-3"]

    products = tmp_path / "products.csv"
    products.write_text("sku,name\n1.2E+05,杯子\n1E5,盘子\n", encoding="utf-8")
    summary = imports.run_import("products", products, rejects=tmp_path / "p.csv")
    assert [r[:2] for r in read_rejects(tmp_path / "p.csv")[1:]] == [
        ["2", f"sku: '1.2E+05' {SHORTENED}"]
    ]
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["1E5", "C"]


def test_a_json_array_file_is_refused_saying_what_it_is(tmp_path):
    """A .json export that is one array of objects (``[{...}, {...}]``) was refused as
    "no columns found"; the message now says what the file is and what is expected."""
    source = tmp_path / "customers.json"
    source.write_text('[\n  {"customer_id": "J1", "email": "j1@example.com"}\n]\n', "utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import", "customers", str(source), "--no-progress")
    assert (str(caught.value), caught.value.returncode) == (
        "customers.json: is one JSON array, not JSON Lines; write one JSON object per line",
        2,
    )
    assert Customer.objects.count() == 0


def test_customer_ids_that_are_tracking_user_ids_land_on_the_tracked_profiles(tmp_path):
    """With "customer_id_kind": "user_id" an order export joins the profiles the tracking
    API made from the same userId instead of creating a second profile per customer."""
    tracked = customers.resolve_customer(
        [customers.make_claim("user_id", "U-100"), customers.make_claim("anonymous_id", "dev-9")]
    ).customer_id
    data = tmp_path / "orders.csv"
    data.write_text(
        "order_id,customer_id,placed_at,sku,quantity,unit_price\n"
        "SO-1,U-100,2026-11-11T10:00:00+08:00,CUP,2,9.50\n"
        "SO-2,U-200,2026-11-12T10:00:00+08:00,CUP,1,9.50\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"kind": "orders", "customer_id_kind": "user_id"}))
    summary = imports.run_import("orders", data, mapping=str(mapping), rejects=tmp_path / "r.csv")
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 0)
    assert Order.objects.get(external_id="SO-1").customer_id == tracked
    new = Order.objects.get(external_id="SO-2").customer_id
    assert list(Identity.objects.filter(customer_id=new).values_list("kind", "value")) == [
        ("user_id", "U-200")
    ]
    assert Customer.objects.count() == 2


def test_unknown_customer_id_kind_is_refused_by_name(tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"kind": "orders", "customer_id_kind": "wechat"}))
    with pytest.raises(imports.MappingError) as info:
        imports.run_import(
            "orders", FIXTURES / "orders.csv", mapping=str(mapping), rejects=tmp_path / "r.csv"
        )
    assert str(info.value) == "\"customer_id_kind\": 'wechat' is not one of external, user_id"


def test_imported_orders_earn_the_points_the_per_customer_path_gives(tmp_path):
    """The worker's follow-up awards an import's orders with the set-based path; the
    ledger is the one reconciling each buyer by hand would write."""
    from django.db import transaction

    from ecrm.loyalty import api as loyalty
    from ecrm.loyalty.tests.factories import programme

    programme(settings={"starts_on": "2024-01-01", "expiry_days": 3650})
    imports.run_import("orders", FIXTURES / "orders.csv", rejects=tmp_path / "r.csv")
    buyers = sorted(set(Order.objects.exclude(customer=None).values_list("customer_id", flat=True)))
    imported = [loyalty.balance(c) for c in buyers]
    with transaction.atomic():
        loyalty.reconcile_customers(buyers)  # nothing left to do: same ledger
        assert [loyalty.balance(c) for c in buyers] == imported
        transaction.set_rollback(True)
    by_order = {
        o: loyalty.balance(Order.objects.get(external_id=o).customer_id) for o in ("SO-1", "SO-3")
    }
    assert by_order == {
        "SO-1": 393,
        "SO-3": 399,
    }  # 1 point per CNY paid: 299 + 2 × 49.50 + 5 (gift wrap) − 10; 399


@pytest.mark.parametrize(
    "shares", [(1.0, 1.0), (0.0, 0.0)], ids=["refresh-imported", "rebuild-all"]
)
def test_the_follow_up_ends_the_same_whether_it_refreshes_or_rebuilds(
    tmp_path, monkeypatch, shares
):
    """Below its share of the shop each domain refreshes the imported customers, above it
    rebuilds everyone: figures, points and segment membership come out the same."""
    from ecrm import flows
    from ecrm.core.audit import SYSTEM
    from ecrm.loyalty import api as loyalty
    from ecrm.loyalty.tests.factories import programme
    from ecrm.segments import services as segments
    from ecrm.segments.models import Member

    monkeypatch.setattr(flows, "FIGURES_REFRESH_SHARE", shares[0])
    monkeypatch.setattr(flows, "SEGMENTS_RECHECK_SHARE", shares[1])
    programme(settings={"starts_on": "2024-01-01", "expiry_days": 3650})
    big = segments.save_segment(
        name="高消费",
        definition={
            "version": 1,
            "match": {"all": [{"figure": "revenue", "op": "gte", "value": 300}]},
        },
        actor=SYSTEM,
    )
    imports.run_import("orders", FIXTURES / "orders.csv", rejects=tmp_path / "r.csv")

    by_order = {}
    for external in ("SO-1", "SO-3"):
        customer = Order.objects.get(external_id=external).customer_id
        row = figures.figures_of(customer)
        by_order[external] = (row.order_count, row.revenue, loyalty.balance(customer))
    assert by_order == {
        "SO-1": (1, Decimal("393.0000"), 393),
        "SO-3": (1, Decimal("399.0000"), 399),
    }
    members = Member.objects.filter(segment_id=big.pk).values_list("customer__email", flat=True)
    assert sorted(members) == ["han.meimei@example.com", "li.lei@example.com"]


def test_the_summary_counts_one_queued_customer_in_the_singular():
    from importlib import import_module

    from ecrm.imports.services import ImportSummary

    format_summary = import_module("ecrm.imports.management.commands.import").format_summary
    summary = ImportSummary(run_id=1, kind="orders", file="o.csv", queued_customers=1)
    assert format_summary(summary).splitlines()[-1] == (
        "  queued for the worker: figures, loyalty, segments and promotions of 1 customer "
        "(`ecrm worker`, or `ecrm serve`, runs it)"
    )


def _table_and_parser(path: Path):
    """An orders file's table and its row parser, with the identity mapping."""
    from ecrm.imports import rules, services
    from ecrm.imports.readers import open_table

    table = open_table(path)
    mapping = services.load_mapping(None, "orders")
    parser = rules.RowParser(
        rules.bind(mapping, table.header), currency="CNY", timezone="Asia/Shanghai"
    )
    return table, parser


def _buyers(parser, *customer_ids: str) -> list:
    return [
        parser.order([[f"T-{cid}", cid, "2026-11-11 10:00:00", "A", "1"]]).customer
        for cid in customer_ids
    ]


def test_buyer_lookups_find_the_buyers_stored_profiles_hold_whole(tmp_path):
    """What the reading process asks of a chunk's new buyers: the stored profile holding
    each with every one of its identifiers."""
    from ecrm.imports import services

    claim = customers.make_claim
    wang = customers.create_customer(
        profile={"name": "王芳"}, claims=[claim("external", "C1", namespace="import")]
    ).pk
    li = customers.create_customer(
        profile={"name": "李娜"}, claims=[claim("external", "C2", namespace="import")]
    ).pk
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,placed_at,sku,unit_price\n", encoding="utf-8")
    _, parser = _table_and_parser(path)
    lookups = services._BuyerLookups()
    c1, c2 = ((claim("external", c, namespace="import", verified=True),) for c in ("C1", "C2"))
    assert lookups(_buyers(parser, "C1", "C9")) == {c1: wang}  # no stored profile holds C9
    assert lookups(_buyers(parser, "C2")) == {c2: li}


def test_buyer_lookups_stop_when_few_buyers_are_stored(tmp_path, monkeypatch):
    """A file of new customers gains nothing from the lookups: they stop from the
    ``TRIAL``-th chunk on when under a quarter of the buyers were stored profiles."""
    from ecrm.imports import services

    claim = customers.make_claim
    customers.create_customer(
        profile={"name": "王芳"}, claims=[claim("external", "C1", namespace="import")]
    )
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,placed_at,sku,unit_price\n", encoding="utf-8")
    _, parser = _table_and_parser(path)
    lookups = services._BuyerLookups()
    assert lookups(_buyers(parser, "C7")) == {}
    assert lookups(_buyers(parser, "C8")) == {}  # none of 2 stored: no more lookups
    assert lookups(_buyers(parser, "C1")) == {}
    assert not lookups.on


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_text_no_database_stores_is_a_rejected_row_not_a_crash(tmp_path, suffix):
    """A NUL character (PostgreSQL refuses it in text; SQLite kept it) and, in JSON Lines,
    an unpaired surrogate (no UTF-8 for it: the import stopped with a traceback) reject
    their row, naming the column; the other rows go in. The reject file shows "?" for what
    it cannot encode."""
    path = tmp_path / f"people.{suffix}"
    if suffix == "csv":
        path.write_bytes("customer_id,name\nN1,张\x00三\nN2,李四\n".encode())
        expected = [["2", "name contains a NUL character", "N1", "张\x00三"]]
    else:
        path.write_text(
            '{"customer_id": "N1", "name": "王\\u0000五"}\n'
            '{"customer_id": "N3", "name": "\\ud800"}\n'
            '{"customer_id": "N2", "name": "李四"}\n'
        )
        expected = [
            ["1", "name contains a NUL character", "N1", "王\x00五"],
            ["2", "name contains an unpaired surrogate", "N3", "?"],
        ]
    summary = imports.run_import("customers", path, rejects=tmp_path / "r.csv")

    assert (summary.rows_accepted, summary.rows_rejected) == (1, len(expected))
    assert list(Customer.objects.values_list("name", flat=True)) == ["李四"]
    assert read_rejects(tmp_path / "r.csv")[1:] == expected
