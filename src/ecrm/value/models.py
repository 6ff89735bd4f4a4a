from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrm.core.fields import money
from ecrm.value.rfm import GROUPS


class CustomerScore(models.Model):
    """RFM scores and flags of one customer; rebuilt as a whole by ``compute_rfm``."""

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
    computed_at = models.DateTimeField(_("computed at"))

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
    customers = models.PositiveIntegerField(_("customers"))
    top20_share = models.FloatField(_("revenue share of the top 20 %"))
    # [[customer share, revenue share], ...] at 101 evenly spaced customer shares.
    curve = models.JSONField(_("80/20 curve"), default=list)
    seconds = models.FloatField(_("seconds"))

    class Meta:
        verbose_name = _("RFM run")
        verbose_name_plural = _("RFM runs")
        ordering = ["-computed_at", "-pk"]
