from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrm.core.fields import money


class CustomerFigures(models.Model):
    """Derived from orders, returns and events; rebuilt by ``figures.services``.

    Never edited by hand: ``refresh_customers`` and ``recompute_all`` run the same SQL.
    """

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="figures"
    )
    first_order_at = models.DateTimeField(_("first order"), null=True)
    last_order_at = models.DateTimeField(_("last order"), null=True)
    order_count = models.IntegerField(_("orders"), default=0)
    revenue = money(_("revenue"))
    average_order_value = money(_("average order value"))
    return_count = models.IntegerField(_("returns"), default=0)
    returned_amount = money(_("returned amount"))
    last_seen_at = models.DateTimeField(_("last seen"), null=True)
    distinct_products = models.IntegerField(_("distinct products"), default=0)
    distinct_categories = models.IntegerField(_("distinct categories"), default=0)

    class Meta:
        verbose_name = _("customer figures")
        verbose_name_plural = _("customer figures")
        indexes = [
            models.Index(fields=["last_order_at"], name="figures_last_order_idx"),
            models.Index(fields=["revenue"], name="figures_revenue_idx"),
        ]

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        # Recomputed for the target after every merge.
        cls.objects.filter(customer_id=source_id).delete()
        return 0
