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


def test_missing_column_is_refused_by_name():
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


def test_required_fields_must_be_mapped():
    """Orders need an order id, a date and a price column (or a default)."""
    with pytest.raises(MappingError, match="unit_price: no column is mapped to it"):
        bind(parse_mapping({}, kind="orders"), ["order_id", "placed_at", "sku"])
