"""The order fingerprint is one hash of the repr of its parts, however the repr is built."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.orders import api as orders
from ecrm.orders.rules import _line_parts, content_hash, order_content_repr, order_hash

PLACED = dt.datetime(2026, 11, 11, 10, 0, tzinfo=dt.UTC)
CUP = orders.LineInput("SKU-1", "保温杯", Decimal(2), Decimal("99.50"))
FEE = orders.LineInput("POST", "运费", Decimal(1), Decimal("8"), kind="fee", amount=Decimal("8"))
BACK = orders.LineInput("SKU-2", 'It\'s "new"', Decimal("-1.5"), Decimal("0.0100"))


def _order(lines, **extra) -> orders.OrderInput:
    return orders.OrderInput(
        external_id="A-1", placed_at=PLACED, currency="CNY", lines=lines, **extra
    )


def _reference(order: orders.OrderInput, customer_id) -> str:
    """The fingerprint as first defined: ``content_hash`` of the parts tuple."""
    parts = (
        order.placed_at.isoformat(),
        *(order.currency, order.status, order.channel, order.store, order.department),
        *(order.country, order.region, order.city, order.discount, order.shipping, order.tax),
        *(order.grand_total, order.coupon, sorted(order.attributes.items())),
        _line_parts(order.lines),
        *((order.employee,) if order.employee else ()),
    )
    return content_hash(customer_id, *parts)


@pytest.mark.parametrize(
    "lines", [(), (CUP,), (CUP, FEE), (CUP, FEE, BACK), (CUP, CUP)], ids=[0, 1, 2, 3, "same"]
)
@pytest.mark.parametrize(
    "extra",
    [{}, {"employee": "SH01-周杰", "attributes": {"b": 1, "a": "x"}, "discount": Decimal("5.00")}],
    ids=["plain", "employee"],
)
def test_the_fingerprint_equals_the_hash_of_the_parts_tuple(lines, extra):
    order = _order(lines, **extra)
    assert order_hash(order, 7) == _reference(order, 7)
    assert order_hash(order, None) == _reference(order, None)


def test_the_fingerprint_of_a_known_order_never_changes():
    """Stored fingerprints decide whether a re-import rewrites an order: pinned, with the
    enum reprs the dataclasses' defaults have always given."""
    order = _order((CUP, FEE))
    assert order_content_repr(order) == (
        "'2026-11-11T10:00:00+00:00', 'CNY', OrderStatus.PAID, '', '', '', '', '', '', "
        "Decimal('0'), Decimal('0'), Decimal('0'), Decimal('207.00'), '', [], "
        "(('SKU-1', '保温杯', Decimal('2'), Decimal('99.50'), LineKind.PRODUCT, "
        "Decimal('199.00')), "
        "('POST', '运费', Decimal('1'), Decimal('8'), 'fee', Decimal('8'))))"
    )
    assert order_hash(order, 7) == "136fd20b0ac0ae09e6a9ee63de262680"


def test_a_line_shared_by_orders_keeps_its_repr_but_pickles_without_it():
    import pickle

    order_content_repr(_order((CUP,)))
    assert "_repr" in CUP.__dict__
    copy = pickle.loads(pickle.dumps(CUP))
    assert copy == CUP and "_repr" not in copy.__dict__


_TEXT = st.text(max_size=8)  # any characters: quotes, backslashes, controls, 汉字
_MONEY = st.one_of(
    *(st.decimals(min_value=-(10**6), max_value=10**6, places=p) for p in range(5)),
    st.sampled_from([Decimal(0), Decimal("-0"), Decimal("1E+2"), Decimal("0.00")]),
)
_SHAPES = st.fixed_dictionaries(
    {"currency": st.sampled_from(["CNY", "USD"])},
    optional={
        "status": st.sampled_from([*orders.OrderStatus.values, orders.OrderStatus.PAID]),
        **dict.fromkeys(
            ("channel", "store", "department", "country", "region", "city", "coupon"), _TEXT
        ),
        **dict.fromkeys(("source", "employee"), _TEXT),
        **dict.fromkeys(("discount", "shipping", "tax"), _MONEY),
    },
)
_LINES = st.lists(
    st.builds(
        orders.LineInput,
        sku=_TEXT,
        name=_TEXT,
        quantity=_MONEY,
        unit_price=_MONEY,
        kind=st.sampled_from(["product", "fee"]),
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    fields=_SHAPES,
    lines=_LINES,
    # Within the calendar every write path keeps to (clock.in_calendar): year 1 at +08:00
    # is no UTC time at all, and nothing that reaches pack_orders holds such a time.
    placed=st.datetimes(
        min_value=dt.datetime(1900, 1, 2),
        max_value=dt.datetime(2999, 12, 30),
        timezones=st.sampled_from([dt.UTC, ZoneInfo("Asia/Shanghai")]),
    ),
)
def test_an_order_built_from_its_shape_has_the_same_fingerprint_and_row(fields, lines, placed):
    """A bulk import builds orders from shapes, whose part of the fingerprint and of the
    row is worked out once: the same text and the same row as the order built whole."""
    shape = orders.OrderShape(**fields)
    shaped = shape.order("A-1", placed, tuple(lines))
    whole = orders.OrderInput(external_id="A-1", placed_at=placed, lines=tuple(lines), **fields)
    light = orders.ShapedOrder(shape, "A-1", placed, tuple(lines))  # what an import makes
    assert shaped == whole == light.whole()
    assert order_content_repr(shaped) == order_content_repr(whole)
    assert orders.pack_orders([shaped]) == orders.pack_orders([whole])
    assert orders.pack_orders([light]) == orders.pack_orders([whole])
