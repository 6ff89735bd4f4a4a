"""``core.currency.iso_code``: the one rule for a currency every write path applies."""

import pytest

from ecrm.core.currency import iso_code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("CNY", "CNY"),
        (" usd ", "USD"),
        ("RMB", "CNY"),  # what Chinese shops' exports write
        ("人民币", "CNY"),
        ("DEM", "DEM"),  # withdrawn, still in old exports
        ("XAF", "XAF"),
        ("CYN", None),  # the typo that split revenue by currency
        ("XAU", None),  # gold is no money a customer pays in
        ("XTS", None),
        ("元", None),
        ("", None),
        ("US", None),
        (156, None),  # the ISO number, not the code
        (None, None),
    ],
)
def test_a_currency_is_its_iso_4217_code_or_none(raw, code):
    assert iso_code(raw) == code
