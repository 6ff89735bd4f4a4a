from decimal import Decimal

from django.db import models

MONEY_DIGITS, MONEY_PLACES = 18, 4
# The first amount too large to store. PostgreSQL holds 14 digits before the point; SQLite
# keeps a decimal column's value as an 8-byte float (15-16 significant digits), and an
# amount near 10**14 may round up to one that Django's quantize to the column's 18 digits
# refuses, on every later read of the row. Write paths refuse such an amount first.
MONEY_LIMIT = Decimal(10) ** 13
QUANTITY_LIMIT = Decimal(10) ** 11  # order lines' quantity: 3 places


def money(verbose_name, **kwargs) -> models.DecimalField:
    """Money and prices: four decimals, so fractions of a cent in unit prices survive."""
    kwargs.setdefault("default", 0)
    return models.DecimalField(
        verbose_name, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs
    )
