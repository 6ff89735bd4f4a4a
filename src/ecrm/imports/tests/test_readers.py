"""Reading import files: formats, compression and encodings are detected from the bytes."""

import gzip
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_a_jsonl_number_no_database_stores_rejects_its_line(tmp_path):
    """NaN, Infinity and 1e999 went in as the text "nan"/"inf" (an extra column became a
    custom attribute of that text)."""
    path = tmp_path / "customers.jsonl"
    path.write_text(
        '{"customer_id": "C1", "score": NaN}\n'
        '{"customer_id": "C2", "score": -Infinity}\n'
        '{"customer_id": "C3", "score": 1e999}\n'
        '{"customer_id": "C4", "score": 1.5}\n',
        encoding="utf-8",
    )
    records = [(r[0], r[1], str(r[2]) if len(r) > 2 else None) for r in open_table(path).records()]
    assert records == [
        (1, None, "NaN is not a number a database can store"),
        (2, None, "-Infinity is not a number a database can store"),
        (3, None, "1e999 is not a number a database can store"),
        (4, ["C4", "1.5"], None),
    ]


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
    expected = (
        f"{path.name}: not valid utf-8 text at line 5,000 (invalid start byte); "
        'set "encoding" in the mapping'
    )
    with pytest.raises(ImportFileError) as caught:
        list(table.records())
    assert str(caught.value) == expected
    # An import counts each order's rows first: that pass fails the same way, before a write.
    with pytest.raises(ImportFileError) as caught:
        table.column_counts(0)
    assert str(caught.value) == expected


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
    # The blank line has no first column: split from the bytes, it counts under "".
    assert column == {"A": 1, " B ": 1, "": 2, " A": 1, "B": 1}


def test_rows_per_order_counts_the_column_when_every_row_has_it(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,placed_at,sku,unit_price\nA,x,S1,1\n A,x,S2,1\nB ,x,S1\n")
    counts, row_by_row, column = _rows_per_order(path)
    assert column == {"A": 1, " A": 1, "B ": 1}
    assert counts == row_by_row == {"A": 2, "B": 1}


def _csv_counts(path, index: int, encoding: str = "utf-8", delimiter: str = ","):
    """What the csv module reads in column ``index``; rows too short for it under ""."""
    import csv
    from collections import Counter

    with open(path, encoding=encoding, newline="") as text:
        rows = csv.reader(text, delimiter=delimiter)
        next(rows)
        return Counter(row[index] if len(row) > index else "" for row in rows)


SPLITTABLE = {
    "lf": ("order_id,sku\nA,S1\n B ,S2\nA,S3\n\nC,S4", "utf-8", ",", 0),
    "crlf": ("order_id,sku\r\nA,S1\r\nB,S2\r\nA,S3\r\n", "utf-8", ",", 0),
    "crlf, a blank line, one cell, no last end": (
        "order_id,sku\r\nA,S1\r\n\r\nB\r\nA,S3",
        "utf-8",
        ",",
        0,
    ),
    "bom": ("\ufefforder_id,sku\nA,S1\nB,S2\nA,S3\n", "utf-8-sig", ",", 0),
    "quotes later in the row": ('order_id,name\nA,"x, ""y"""\nB,"a;b"\nA,z\n', "utf-8", ",", 0),
    "gb18030 semicolons": (
        "sku;order_id\nS1;订单一\nS2;订单二\nS3;订单一\nS4\n",
        "gb18030",
        ";",
        1,
    ),
    "tabs, last column": (
        "sku\tname\torder_id\nS1\tx\tA\r\nS2\ty\tB\r\nS3\tz\tA",
        "cp1252",
        "\t",
        2,
    ),
}


@pytest.mark.parametrize("name", list(SPLITTABLE))
def test_order_ids_are_counted_from_the_bytes_as_the_csv_module_reads_them(tmp_path, name):
    """The count an import starts with splits the bytes at line ends and delimiters where
    that reads the csv module's cells; checked against the csv module."""
    text, encoding, delimiter, index = SPLITTABLE[name]
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode(encoding))
    table = open_table(path, encoding=encoding, delimiter=delimiter)

    counts = table._split_counts(index)

    expected = {
        "lf": {"A": 2, " B ": 1, "": 1, "C": 1},
        "crlf": {"A": 2, "B": 1},
        "crlf, a blank line, one cell, no last end": {"A": 2, "": 1, "B": 1},
        "bom": {"A": 2, "B": 1},
        "quotes later in the row": {"A": 2, "B": 1},
        "gb18030 semicolons": {"订单一": 2, "订单二": 1, "": 1},
        "tabs, last column": {"A": 2, "B": 1},
    }[name]
    assert counts == expected
    assert counts == _csv_counts(path, index, encoding, delimiter)


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_a_row_longer_than_a_read_is_counted_whole(tmp_path, monkeypatch, end):
    from ecrm.imports import readers

    monkeypatch.setattr(readers, "SPLIT_CHUNK", 16)
    path = tmp_path / "orders.csv"
    path.write_bytes(end.join(["order_id,name", "A," + "x" * 100, "B,y", "A,z", ""]).encode())
    assert open_table(path)._split_counts(0) == {"A": 2, "B": 1}


UNSPLITTABLE = {
    "quoted id": ('order_id,sku\n"A",S1\nB,S2\n', "utf-8", ",", 0),
    "quoted id on a later line": ('order_id,sku\nB,S2\n"A,1",S1\n', "utf-8", ",", 0),
    "a quote before the ids": ('sku,order_id\n"S,1",A\nS2,B\n', "utf-8", ",", 1),
    "quoted header": ('"order_id",sku\nA,S1\n', "utf-8", ",", 0),
    "a quoted line end after the id": ('order_id,name\nA,"x\nA,y"\nB,z\n', "utf-8", ",", 0),
    "lone carriage returns": ("order_id,sku\rA,S1\rB,S2\r", "utf-8", ",", 0),
    "a carriage return before a crlf": ("order_id,sku\r\nA,S1\r\r\nB,S2\r\n", "utf-8", ",", 0),
    "nul": ("order_id,sku\nA,S\x001\n", "utf-8", ",", 0),
    "gbk and a pipe": ("order_id|sku\n订单|S1\n", "gb18030", "|", 0),
    "utf-16": ("order_id,sku\nA,S1\n", "utf-16", ",", 0),
}


@pytest.mark.parametrize("name", list(UNSPLITTABLE))
def test_files_that_splitting_could_misread_are_left_to_the_csv_module(tmp_path, name):
    """A quote that could hold a delimiter or line end before the ids, a lone CR, a NUL, an
    encoding whose other characters may contain the delimiter's byte: not split."""
    text, encoding, delimiter, index = UNSPLITTABLE[name]
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode(encoding))
    table = open_table(path, encoding=encoding, delimiter=delimiter)
    assert table._split_counts(index) is None


def test_the_csv_module_counts_what_is_not_split(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text('order_id,sku\n"A,1",S1\nB,S2\n"A,1",S3\n')
    assert open_table(path).column_counts(0) == {"A,1": 2, "B": 1}


# Mostly plain cells, so that many files are split; the others quote what needs it.
CELL = st.one_of(
    st.text(alphabet=["A", "b", "1", " ", "订"], max_size=4),
    st.text(alphabet=["A", "b", ",", ";", '"', "\n", "\r", "订"], max_size=3),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(CELL, max_size=4), max_size=12),
    end=st.sampled_from(["\n", "\r\n"]),
    index=st.integers(0, 2),
    delimiter=st.sampled_from([",", ";"]),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
)
def test_splitting_reads_what_the_csv_module_reads_or_declines(
    tmp_path, rows, end, index, delimiter, encoding
):
    """Any file the csv module writes: the split counts are the csv module's, or None."""
    import csv
    import io

    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter, lineterminator=end)
    writer.writerow(["order_id", "sku", "name"])
    writer.writerows(rows)
    path = tmp_path / "orders.csv"
    path.write_bytes(text.getvalue().encode(encoding))
    table = open_table(path, encoding=encoding, delimiter=delimiter)

    counts = table._split_counts(index)

    assert counts is None or counts == _csv_counts(path, index, encoding, delimiter)
