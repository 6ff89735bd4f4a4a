"""Mappings: what a user writes is checked, and refused with a message naming the problem."""

import pytest

from ecrm.imports.rules import MappingError, bind, parse_mapping


def test_unknown_field_is_refused_by_name():
    """A mapping naming a field eCRM does not have says which one and lists the known ones."""
    with pytest.raises(MappingError) as caught:
        parse_mapping({"columns": {"shoe_size": "Size"}}, kind="customers")
    assert str(caught.value).startswith(
        "\"columns\": 'shoe_size' is not an eCRM field for customers; known fields: customer_id,"
    )


def test_unknown_key_and_wrong_kind_are_refused():
    """Typos in top-level keys and a mapping for another kind are refused."""
    with pytest.raises(MappingError, match='unknown mapping key "colums"'):
        parse_mapping({"colums": {}}, kind="orders")
    with pytest.raises(MappingError, match='"kind": this mapping is for orders, not customers'):
        parse_mapping({"kind": "orders"}, kind="customers")
    with pytest.raises(MappingError, match="\"timezone\": unknown time zone 'Mars/Base'"):
        parse_mapping({"timezone": "Mars/Base"}, kind="orders")


def test_a_date_format_with_an_unknown_directive_is_refused():
    """``%Q`` was taken, and every row of the file was then rejected for its date."""
    with pytest.raises(MappingError) as caught:
        parse_mapping({"date_format": "%d.%m.%Y %Q"}, kind="orders")
    assert str(caught.value) == (
        "\"date_format\": '%d.%m.%Y %Q' cannot be used: "
        "'Q' is a bad directive in format '%d.%m.%Y %Q'"
    )
    with pytest.raises(MappingError, match="stray % in format '%Y-%m-%d %'"):
        parse_mapping({"date_format": "%Y-%m-%d %"}, kind="orders")
    assert parse_mapping({"date_format": "%d/%m/%Y"}, kind="orders").date_format == "%d/%m/%Y"

    """A mapped column the file does not have is named, with the file's columns."""
    mapping = parse_mapping(
        {"columns": {"order_id": "Invoice", "placed_at": "Date"}}, kind="orders"
    )
    with pytest.raises(MappingError) as caught:
        bind(mapping, ["Invoice", "When", "Price"])
    assert str(caught.value) == (
        "column 'Date' (mapped to placed_at) is not in the file; "
        "the file's columns are: 'Invoice', 'When', 'Price'"
    )


def test_without_columns_fields_map_to_themselves_and_the_rest_are_attributes():
    """No "columns": columns named like fields (any case) map to them; for customers the
    other columns become custom attributes."""
    layout = bind(parse_mapping({}, kind="customers"), ["Email", "name", "vip", "phone"])
    assert layout.index == {"name": 1, "email": 0, "phone": 3}
    assert layout.attributes == (("vip", 2),)


def test_without_columns_full_width_names_map_to_their_fields():
    """Headers typed with a Chinese input method in full-width letters (``Ｅｍａｉｌ``,
    ``ＰＨＯＮＥ``) map to their fields; they became custom attributes, and a file with
    only those identifiers was refused for having no customer_id, email or phone column."""
    layout = bind(parse_mapping({}, kind="customers"), ["Ｅｍａｉｌ", "ＰＨＯＮＥ", "Name"])
    assert layout.index == {"name": 2, "email": 0, "phone": 1}
    assert layout.attributes == ()


def test_required_fields_must_be_mapped():
    """Orders need an order id, a date and a price column (or a default)."""
    with pytest.raises(MappingError, match="unit_price: no column is mapped to it"):
        bind(parse_mapping({}, kind="orders"), ["order_id", "placed_at", "sku"])


def _order_parser():
    from ecrm.imports.rules import RowParser

    header = ["order_id", "placed_at", "sku", "product_name", "quantity", "unit_price"]
    layout = bind(parse_mapping({}, kind="orders"), header)
    return RowParser(layout, currency="CNY", timezone="Asia/Shanghai")


def test_equal_lines_of_different_orders_are_one_shared_line():
    """Lines are frozen, so orders share equal ones; what differs in any cell is its own."""
    from decimal import Decimal

    parser = _order_parser()
    rows = {
        "A": [["A", "2026-11-11 10:00", "SKU-1", "保温杯", "2", "99.5"]],
        "B": [
            ["B", "2026-11-11 11:00", " SKU-1 ", "保温杯", "2", "99.5"],
            ["B", "2026-11-11 11:00", "SKU-1", "保温杯", "2", "99.50"],
            ["B", "2026-11-11 11:00", "SKU-1", "保温杯", "2", "99.5"],
        ],
        "C": [["C", "2026-11-11 12:00", "SKU-1", "保温杯", "2", "99.5"]],
    }
    a, b, c = (parser.order(rows[key]).document for key in "ABC")
    assert b.lines[0] is b.lines[2] is c.lines[0]
    assert b.lines[1] is not b.lines[0] and b.lines[1] == b.lines[0]
    assert [str(line.unit_price) for line in b.lines] == ["99.5", "99.50", "99.5"]
    assert a.lines[0] == c.lines[0] and a.lines[0].line_amount == Decimal("199.0")


def test_a_bad_customer_row_names_every_bad_field():
    """A bad mobile, an impossible birthday and a bad opt-in flag are told together, in the
    row's one reason; a good row still parses."""
    from ecrm.imports.rules import RowError, RowParser

    header = ["customer_id", "phone", "birthday", "sms_opt_in", "name"]
    layout = bind(parse_mapping({}, kind="customers"), header)
    parser = RowParser(layout, currency="CNY", timezone="Asia/Shanghai")

    with pytest.raises(RowError) as info:
        parser.customer(["C-1", "12345", "1991-13-45", "maybe", "王芳"])

    assert info.value.field == "phone"
    assert str(info.value.text) == (
        "phone: '12345' is not a valid phone number; "
        "birthday: '1991-13-45' is not a date (YYYY-MM-DD); "
        "sms_opt_in: 'maybe' is not yes/no (1/0, true/false, 是/否)"
    )
    record = parser.customer(["C-1", "138 0013 8000", "1991-12-25", "是", "王芳"])
    assert record.profile["phone"] == "+8613800138000"
