from django.db import models


def money(verbose_name, **kwargs) -> models.DecimalField:
    """Money and prices: four decimals, so fractions of a cent in unit prices survive."""
    kwargs.setdefault("default", 0)
    return models.DecimalField(verbose_name, max_digits=18, decimal_places=4, **kwargs)
