from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrm.core.fields import money
from ecrm.value.groups import GROUPS


class CustomerScore(models.Model):
    """RFM scores and flags of one customer; rebuilt by ``compute_rfm``. Every row is the
    latest ``RfmRun``'s (a run writes them all in its transaction), so a row carries no
    time of its own: stamping one would rewrite every row on each run."""

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    r = models.PositiveSmallIntegerField(_("recency score"))
    f = models.PositiveSmallIntegerField(_("frequency score"))
    m = models.PositiveSmallIntegerField(_("monetary score"))
    rfm_group = models.CharField(
        _("RFM group"), max_length=24, choices=[(g.code, g.en) for g in GROUPS]
    )
    # The monetary figure that was scored (revenue in the window).
    revenue = money(_("revenue"))
    dormant = models.BooleanField(_("dormant"), default=False)
    low_return = models.BooleanField(_("low return"), default=False)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        indexes = [models.Index(fields=["rfm_group"], name="score_group_idx")]

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        # The next run scores the merged profile.
        cls.objects.filter(customer_id=source_id).delete()
        return 0


class RfmRun(models.Model):
    """One run of ``compute_rfm``: its settings and the 80/20 figures, for the console."""

    computed_at = models.DateTimeField(_("computed at"))
    window_days = models.PositiveIntegerField(_("window (days)"), null=True)
    dormant_days = models.PositiveIntegerField(_("dormant after (days)"))
    low_return_revenue = models.FloatField(_("low return: net revenue at most"), default=0.0)
    low_return_ratio = models.FloatField(_("low return: returned share at least"), default=0.5)
    customers = models.PositiveIntegerField(_("customers"))
    top20_share = models.FloatField(_("revenue share of the top 20 %"))
    # [[customer share, revenue share], ...] at 101 evenly spaced customer shares.
    curve = models.JSONField(_("80/20 curve"), default=list)
    seconds = models.FloatField(_("seconds"))

    class Meta:
        verbose_name = _("RFM run")
        verbose_name_plural = _("RFM runs")
        ordering = ["-computed_at", "-pk"]


class PredictionRun(models.Model):
    """One run of ``score_customers``: the fitted models, the horizon and the timings."""

    computed_at = models.DateTimeField(_("computed at"))
    horizon_days = models.PositiveIntegerField(_("horizon (days)"))
    discount_rate = models.FloatField(_("annual discount rate"))
    customers = models.PositiveIntegerField(_("customers"))
    repeat_buyers = models.PositiveIntegerField(_("repeat buyers"))
    # {"bgnbd": {"params": {...}, "log_likelihood": ..., ...}, "gamma_gamma": ..., ...}
    fits = models.JSONField(_("fitted models"), default=dict)
    total_clv = money(_("total CLV"))
    expected_purchases = models.FloatField(_("expected purchases"), default=0.0)
    # {"read": s, "fit": s, "score": s, "write": s}
    timings = models.JSONField(_("timings"), default=dict)
    seconds = models.FloatField(_("seconds"))

    class Meta:
        verbose_name = _("prediction run")
        verbose_name_plural = _("prediction runs")
        ordering = ["-computed_at", "-pk"]


class CustomerPrediction(models.Model):
    """Predicted purchases, P(alive) and CLV of one customer; rebuilt by ``score_customers``.

    ``frequency`` is repeat purchase days, ``recency`` and ``age`` are days from the first
    purchase to the last one and to the run, as the models read them.
    """

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    run = models.ForeignKey(
        PredictionRun, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    frequency = models.PositiveIntegerField(_("repeat purchases"))
    recency = models.FloatField(_("recency (days)"))
    age = models.FloatField(_("age (days)"))
    monetary = money(_("average repeat spend"))
    p_alive = models.FloatField(_("P(alive)"))
    expected_purchases = models.FloatField(_("expected purchases"))
    pareto_p_alive = models.FloatField(_("P(alive), Pareto/NBD"), null=True)
    pareto_expected_purchases = models.FloatField(_("expected purchases, Pareto/NBD"), null=True)
    expected_order_value = money(_("expected order value"))
    clv = money(_("predicted CLV"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("customer prediction")
        verbose_name_plural = _("customer predictions")
        indexes = [models.Index(fields=["clv"], name="prediction_clv_idx")]

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        # The next run scores the merged profile.
        cls.objects.filter(customer_id=source_id).delete()
        return 0


class ProfitRun(models.Model):
    """One run of ``compute_profit``: its settings (contact costs, unknown cost treatment)
    and totals. The latest run's settings are the ones the nightly job repeats."""

    computed_at = models.DateTimeField(_("computed at"))
    # {"contact_costs": {"phone": "8.00", ...}, "default_contact_cost": "0",
    #  "unknown_cost_ratio": null}
    settings = models.JSONField(_("settings"), default=dict)
    # The cost / sales ratio applied to lines whose product has no cost.
    applied_cost_ratio = models.FloatField(_("cost ratio for unknown costs"))
    points_source = models.CharField(_("points redeemed from"), max_length=40, blank=True)
    customers = models.PositiveIntegerField(_("customers"))
    totals = models.JSONField(_("totals"), default=dict)
    seconds = models.FloatField(_("seconds"))

    class Meta:
        verbose_name = _("profit run")
        verbose_name_plural = _("profit runs")
        ordering = ["-computed_at", "-pk"]


class CustomerProfit(models.Model):
    """Value and cost of one customer; rebuilt as a whole by ``compute_profit``.

    profit = (revenue - product cost) - discounts - points redeemed
             - (refunds - cost of goods returned) - service cost
    """

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    orders = models.PositiveIntegerField(_("orders"))
    # Product lines of orders not cancelled (fees and shipping left out), before discounts.
    revenue = money(_("revenue"))
    product_cost = money(_("product cost"))
    # Revenue whose product cost was unknown and estimated with the run's cost ratio.
    estimated_cost_revenue = money(_("revenue with estimated cost"))
    margin = money(_("margin"))
    discounts = money(_("discounts"))
    points_redeemed = money(_("points redeemed"))
    refunds = money(_("refunds"))
    returned_cost = money(_("cost of goods returned"))
    contacts = models.PositiveIntegerField(_("service contacts"))
    service_cost = money(_("service cost"))
    profit = money(_("profit"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("customer profit")
        verbose_name_plural = _("customer profits")
        indexes = [models.Index(fields=["profit"], name="profit_profit_idx")]

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        cls.objects.filter(customer_id=source_id).delete()
        return 0
