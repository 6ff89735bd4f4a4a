"""Reading import files: formats, compression and encodings are detected from the bytes."""

import gzip
import shutil
from pathlib import Path

import pytest

from ecrm.imports.readers import ImportFileError, detect_encoding, open_table

FIXTURES = Path(__file__).parent / "fixtures"


def test_gzip_is_detected_by_magic_bytes_not_suffix(tmp_path):
    """A gzip file named .csv is still read as gzip, with the same records as the plain file."""
    renamed = tmp_path / "orders-export.csv"
    shutil.copy(FIXTURES / "orders.csv.gz", renamed)
    plain = open_table(FIXTURES / "orders.csv")
    packed = open_table(renamed)
    assert (packed.compressed, plain.compressed) == (True, False)
    assert list(packed.records()) == list(plain.records())


def test_bom_is_stripped_from_the_header():
    """Excel's UTF-8 BOM does not end up in the first column name."""
    table = open_table(FIXTURES / "customers.csv")
    assert table.encoding == "utf-8-sig"
    assert table.header[:3] == ["customer_id", "name", "email"]


def test_gb18030_csv_is_decoded():
    """A CSV saved by Excel on Chinese Windows (GBK/GB18030) is detected and decoded."""
    table = open_table(FIXTURES / "customers_gb18030.csv")
    assert table.encoding == "gb18030"
    assert table.header == ["会员编号", "姓名", "手机", "省份", "城市", "生日", "会员等级", "备注"]
    assert list(table.records())[0] == (
        2,
        ["Y001", "张伟", "13812340001", "广东", "深圳", "1988/7/15", "金卡", "老客户"],
    )


def test_detect_encoding_prefers_utf8():
    """Valid UTF-8 is UTF-8; bytes that are not are GB18030."""
    assert detect_encoding("姓名".encode()) == "utf-8"
    assert detect_encoding("姓名".encode("gbk")) == "gb18030"


def test_physical_line_numbers_count_multiline_cells():
    """A quoted cell spanning two lines moves later records' line numbers down by one."""
    table = open_table(FIXTURES / "online_retail_sample.csv")
    lines = [record[0] for record in table.records()]
    assert lines == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15]


def test_jsonl_header_is_the_union_of_keys_and_bad_lines_are_reported():
    """JSON Lines: columns are every key seen; a line that is not JSON comes with its reason."""
    table = open_table(FIXTURES / "products.jsonl")
    assert table.format == "jsonl"
    assert table.header == ["sku", "name", "category", "brand", "price", "cost", "currency"]
    records = list(table.records())
    assert records[0] == (1, ["SKU-1", "电饭煲", "家电/厨房电器", "美的", "299", "180.50", "CNY"])
    line, values, reason = records[4]
    assert (line, values, str(reason)) == (5, None, "not valid JSON (Expecting value at column 1)")


def test_missing_and_empty_files_are_refused(tmp_path):
    """A missing or empty file is an ImportFileError naming the file."""
    with pytest.raises(ImportFileError, match="nope.csv: no such file"):
        open_table(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv.gz"
    with gzip.open(empty, "wb"):
        pass
    with pytest.raises(ImportFileError, match="empty.csv.gz: the file is empty"):
        open_table(empty)


@pytest.mark.parametrize("compress", [False, True])
def test_a_bad_byte_deep_in_the_file_is_named_by_its_line(tmp_path, monkeypatch, compress):
    from ecrm.imports import readers

    monkeypatch.setattr(readers, "SAMPLE_BYTES", 4096)  # the encoding is guessed from 4 KB
    rows = ["order_id,product_name"] + [f"A-{i},商品 {i}" for i in range(6000)]
    data = "\n".join(rows).encode("utf-8")
    at = data.index(b"A-4998,")  # physical line 5,000 (the header is line 1)
    data = data[:at] + b"\xff" + data[at:]
    path = tmp_path / ("orders.csv.gz" if compress else "orders.csv")
    path.write_bytes(gzip.compress(data) if compress else data)
    table = open_table(path)
    assert table.encoding == "utf-8"
    with pytest.raises(ImportFileError) as caught:
        list(table.records())
    assert str(caught.value) == (
        f"{path.name}: not valid utf-8 text at line 5,000 (invalid start byte); "
        'set "encoding" in the mapping'
    )


def _rows_per_order(path):
    from collections import Counter

    from ecrm.imports.rules import RowParser, bind, parse_mapping
    from ecrm.imports.services import _order_key, _rows_per_order

    table = open_table(path)
    layout = bind(parse_mapping({}, kind="orders"), table.header)
    parser = RowParser(layout, currency="CNY", timezone="Asia/Shanghai")
    row_by_row = Counter(_order_key(parser, row) for row in table.raw_rows())
    return _rows_per_order(table, parser), row_by_row, table.column_counts(0)


def test_rows_per_order_counts_a_column_at_once_and_trims_ids_as_the_parser_does(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,placed_at,sku,unit_price\n"
        "A,2026-11-11,S1,1\n B ,2026-11-11,S1,1\n\n A,2026-11-11,S2,1\nB,2026-11-11,S2,1\n"
        ",2026-11-11,S3,1\n"
    )
    counts, row_by_row, column = _rows_per_order(path)
    assert counts == row_by_row == {"A": 2, "B": 2, "": 2}  # the blank line and the id-less row
    assert column is None  # the blank line has no first column: counted row by row


def test_rows_per_order_counts_the_column_when_every_row_has_it(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,placed_at,sku,unit_price\nA,x,S1,1\n A,x,S2,1\nB ,x,S1\n")
    counts, row_by_row, column = _rows_per_order(path)
    assert column == {"A": 1, " A": 1, "B ": 1}
    assert counts == row_by_row == {"A": 2, "B": 1}
