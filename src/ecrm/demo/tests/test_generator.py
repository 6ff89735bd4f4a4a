"""The demo generator is pure: same plan, same rows; and its rows look like a real shop."""

import datetime as dt

import phonenumbers

from ecrm.core.phone import normalize_phone
from ecrm.core.text import has_cjk, pinyin_keys
from ecrm.demo import generator, rules

PLAN = generator.Plan(customers=300, seed=7, until=dt.date(2026, 6, 30), employees=(11, 12))


def _rows(plan: generator.Plan) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for chunk in generator.generate(plan):
        for table, rows in chunk:
            out.setdefault(table, []).extend(rows)
    return out


def _by_field(rows: list[tuple], table: str, name: str) -> list:
    index = generator.FIELDS[table].index(name)
    return [row[index] for row in rows]


def test_same_seed_gives_identical_rows():
    """Two runs of one plan yield exactly the same rows in every table."""
    assert _rows(PLAN) == _rows(PLAN)


def test_another_seed_gives_other_customers():
    """A different seed draws different names."""
    other = generator.Plan(customers=300, seed=8, until=PLAN.until, employees=(11, 12))
    names = _by_field(_rows(PLAN)["customer"], "customer", "name")
    other_names = _by_field(_rows(other)["customer"], "customer", "name")
    assert names != other_names


def test_every_table_has_rows_with_their_own_columns():
    """Each table gets rows, each row as wide as its column list, keys numbered from 1."""
    rows = _rows(PLAN)
    assert sorted(rows) == sorted(generator.TABLES)
    for table, table_rows in rows.items():
        assert {len(r) for r in table_rows} == {len(generator.FIELDS[table])}
        assert [r[0] for r in table_rows] == list(range(1, len(table_rows) + 1))


def test_phones_are_valid_e164_mobiles():
    """Every mobile number passes ecrm.core.phone.normalize_phone unchanged, and none repeats."""
    phones = [p for p in _by_field(_rows(PLAN)["customer"], "customer", "phone") if p]
    assert [normalize_phone(p) for p in phones] == phones
    assert len(set(phones)) == len(phones)
    assert {p[:4] for p in phones} <= {"+861"}


def test_every_prefix_block_is_a_valid_mobile_range():
    """Each prefix the generator uses is valid for every fourth digit (e.g. 1349 is not)."""
    invalid = [
        f"{prefix}{digit}"
        for prefix in rules.MOBILE_PREFIXES
        for digit in range(10)
        for tail in ("0000000", "5555555", "9999999")
        if not phonenumbers.is_valid_number(phonenumbers.parse(f"+86{prefix}{digit}{tail}"))
    ]
    assert invalid == []


def test_names_are_chinese_with_their_pinyin_keys():
    """Identified customers have Chinese names whose search keys are pinyin_keys of the name."""
    customers = _rows(PLAN)["customer"]
    named = [r for r in customers if not r[generator.FIELDS["customer"].index("is_anonymous")]]
    assert all(has_cjk(r[1]) and 2 <= len(r[1]) <= 4 for r in named)
    assert [(r[2], r[3]) for r in named] == [pinyin_keys(r[1]) for r in named]


def test_anonymous_visitors_have_no_name_and_an_anonymous_identity():
    """Visitors who never identified carry only an anonymous id."""
    rows = _rows(PLAN)
    f = generator.FIELDS
    anonymous = {r[0] for r in rows["customer"] if r[f["customer"].index("is_anonymous")]}
    kinds = {r[1]: r[2] for r in rows["identity"] if r[1] in anonymous}
    assert set(kinds) == anonymous
    assert set(kinds.values()) == {"anonymous_id"}


def test_events_before_sign_up_are_anonymous_and_on_the_same_profile():
    """A customer's events before registration have no user id but the customer's anonymous id."""
    rows = _rows(PLAN)
    f = generator.FIELDS
    registered = {
        r[0]: r[f["customer"].index("registered_at")]
        for r in rows["customer"]
        if r[f["customer"].index("registered_at")]
    }
    anon_ids = {r[1]: r[4] for r in rows["identity"] if r[2] == "anonymous_id"}
    ev = f["event"]
    before = [
        r
        for r in rows["event"]
        if r[ev.index("customer_id")] in registered
        and r[ev.index("timestamp")] < registered[r[ev.index("customer_id")]]
    ]
    assert len(before) > 0
    assert {r[ev.index("user_id")] for r in before} == {""}
    assert all(r[ev.index("anonymous_id")] == anon_ids[r[ev.index("customer_id")]] for r in before)


def test_order_totals_are_lines_less_discount_plus_shipping():
    """An order's subtotal is the sum of its lines; total = subtotal - discount + shipping."""
    rows = _rows(PLAN)
    f = generator.FIELDS
    sums: dict[int, float] = {}
    for line in rows["order_line"]:
        sums[line[1]] = sums.get(line[1], 0) + float(line[f["order_line"].index("amount")])
    o = f["order"]
    for order in rows["order"]:
        subtotal, discount, shipping, total = (
            float(order[o.index(k)]) for k in ("subtotal", "discount", "shipping", "total")
        )
        assert round(sums[order[0]], 2) == subtotal
        assert round(subtotal - discount + shipping, 2) == total


def test_calendar_has_singles_day_618_and_spring_festival():
    """11-11 and 6-18 are peaks; the Spring Festival week is a dip after a pre-holiday peak."""
    ordinary = rules.day_weight(dt.date(2025, 9, 17))
    assert rules.day_weight(dt.date(2025, 11, 11)) > 5 * ordinary
    assert rules.day_weight(dt.date(2025, 6, 18)) > 3 * ordinary
    assert rules.day_weight(dt.date(2025, 1, 30)) < 0.5 * ordinary
    assert rules.day_weight(dt.date(2025, 1, 10)) > 1.2 * ordinary


def test_shape_aims_at_the_requested_totals():
    """3 orders and 10 events per customer: 3.16 orders per identified customer, 0.91 sessions."""
    shape = generator.shape(1_000, 3_000, 10_000)
    assert round(shape["orders_per_customer"], 3) == 3.158
    assert round(shape["browse_sessions"], 3) == 0.912


def test_store_orders_carry_their_stores_clerk_and_some_online_orders_the_sales_rep():
    rows = _rows(PLAN)["order"]
    pairs = list(
        zip(
            _by_field(rows, "order", "id"),
            _by_field(rows, "order", "store"),
            _by_field(rows, "order", "employee"),
            strict=True,
        )
    )
    for order_id, store, employee in pairs:
        if store:
            index = rules.STORES.index(store) * 2 + order_id % 2
            assert employee == rules.STORE_CLERKS[index]
        elif order_id % rules.ONLINE_ASSISTED_EVERY == 0:
            assert employee == "sales"
        else:
            assert employee == ""
    assert any(store for _, store, _ in pairs)
