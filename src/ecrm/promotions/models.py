"""Coupons, rewards bought with points, and referrals.

A campaign's terms are a validated JSON ``definition`` (``rules.validate_campaign``); the
columns beside it that checkout must test and move atomically (limits, budget, what has
been used) are copies of it kept by ``services``, so one conditional UPDATE of the campaign
row decides whether another use fits.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecrm.core.fields import money


class CampaignStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class CouponCampaign(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(_("definition"))
    version = models.PositiveIntegerField(_("version"), default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE
    )
    # Copied from the definition for the checkout's conditional UPDATE.
    limit_total = models.PositiveIntegerField(_("total uses allowed"), null=True, blank=True)
    budget = models.DecimalField(
        _("budget"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    # What has been used: moved by redeem and release only.
    uses = models.PositiveIntegerField(_("uses"), default=0)
    spent = money(_("discount given"))
    issued = models.PositiveIntegerField(_("coupons issued"), default=0)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("coupon campaign")
        verbose_name_plural = _("coupon campaigns")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class CampaignVersion(models.Model):
    """Every definition a campaign ever had, kept."""

    campaign = models.ForeignKey(CouponCampaign, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="campaign_version_once")
        ]


class Coupon(models.Model):
    """A code. A shared code (``customer`` empty) serves everyone the campaign targets; an
    issued code belongs to one customer; a batch code serves whoever holds it."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    campaign = models.ForeignKey(CouponCampaign, on_delete=models.CASCADE, related_name="coupons")
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # served by coupon_customer_idx
    )
    max_uses = models.PositiveIntegerField(_("uses allowed"), null=True, blank=True)
    uses = models.PositiveIntegerField(_("uses"), default=0)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    void = models.BooleanField(_("void"), default=False)
    # Why it was issued, so issuing twice for the same reason is a no-op.
    source = models.CharField(_("source"), max_length=40, blank=True)
    source_ref = models.CharField(max_length=120, blank=True)
    issued_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        indexes = [models.Index(fields=["customer", "issued_at"], name="coupon_customer_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "source", "source_ref"],
                condition=~Q(source_ref=""),
                name="coupon_issue_once",
            )
        ]

    def __str__(self) -> str:
        return self.code


class RedemptionState(models.TextChoices):
    REDEEMED = "redeemed", _("Redeemed")
    RELEASED = "released", _("Released")


class Redemption(models.Model):
    """One use of a coupon on one order."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="redemptions")
    campaign = models.ForeignKey(
        CouponCampaign,
        on_delete=models.CASCADE,
        related_name="redemptions",
        db_index=False,  # served by redemption_campaign_idx
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # served by redemption_customer_idx
    )
    order_ref = models.CharField(_("order number"), max_length=80)
    currency = models.CharField(_("currency"), max_length=3)
    cart_subtotal = money(_("cart subtotal"))
    discount = money(_("discount"))
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=RedemptionState.choices,
        default=RedemptionState.REDEEMED,
    )
    redeemed_at = models.DateTimeField(_("redeemed at"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    release_reason = models.CharField(_("release reason"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        indexes = [
            models.Index(fields=["campaign", "customer"], name="redemption_campaign_idx"),
            models.Index(fields=["customer", "state"], name="redemption_customer_idx"),
            models.Index(fields=["order_ref"], name="redemption_order_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "order_ref"],
                condition=Q(state="redeemed"),
                name="redemption_once_per_order",
            )
        ]


class RewardKind(models.TextChoices):
    COUPON = "coupon", _("Coupon")
    GIFT = "gift", _("Gift")


class Reward(models.Model):
    """An entry of the rewards catalogue: ``points`` buy a coupon of a campaign or a gift."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=RewardKind.choices)
    points = models.PositiveIntegerField(_("points"))
    campaign = models.ForeignKey(
        CouponCampaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rewards",
        verbose_name=_("coupon campaign"),
    )
    gift_sku = models.CharField(_("gift SKU"), max_length=80, blank=True)
    stock = models.PositiveIntegerField(_("stock left"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    claimed = models.PositiveIntegerField(_("claimed"), default=0)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points", "id"]

    def __str__(self) -> str:
        return self.name


class RewardClaim(models.Model):
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="claims")
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # served by reward_claim_customer_idx
    )
    points = models.PositiveIntegerField(_("points"))
    coupon = models.ForeignKey(
        Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_ref = models.CharField(_("request"), max_length=120, unique=True)
    claimed_at = models.DateTimeField(_("claimed at"))
    actor_label = models.CharField(_("by"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("reward claim")
        verbose_name_plural = _("reward claims")
        indexes = [
            models.Index(fields=["customer", "claimed_at"], name="reward_claim_customer_idx")
        ]


class ReferralProgramme(models.Model):
    """The one referral programme: a validated, versioned definition (``rules``)."""

    definition = models.JSONField(_("definition"))
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("referral programme")


class ReferralCode(models.Model):
    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="+"
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    clicks = models.PositiveIntegerField(_("link clicks"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")

    def __str__(self) -> str:
        return self.code

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        """The surviving profile keeps its own code; the other's code moves only if it has none."""
        if cls.objects.filter(customer_id=target_id).exists():
            return cls.objects.filter(customer_id=source_id).delete()[0]
        return cls.objects.filter(customer_id=source_id).update(customer_id=target_id)


class ReferralState(models.TextChoices):
    PENDING = "pending", _("Waiting for a first order")
    REWARDED = "rewarded", _("Rewarded")
    REJECTED = "rejected", _("Rejected")


class Referral(models.Model):
    referrer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # served by referral_referrer_idx
    )
    referee = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("code"), max_length=20)
    state = models.CharField(_("state"), max_length=10, choices=ReferralState.choices)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    anonymous_id = models.CharField(max_length=100, blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("referred at"))
    order_ref = models.CharField(_("qualifying order"), max_length=80, blank=True)
    rewarded_at = models.DateTimeField(_("rewarded at"), null=True, blank=True)
    referrer_points = models.PositiveIntegerField(default=0)
    referee_points = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [
            models.Index(fields=["referrer", "created_at"], name="referral_referrer_idx"),
            models.Index(fields=["state", "created_at"], name="referral_state_idx"),
        ]

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        """One referral per referee: the surviving profile's own wins."""
        moved = cls.objects.filter(referrer_id=source_id).update(referrer_id=target_id)
        if cls.objects.filter(referee_id=target_id).exists():
            cls.objects.filter(referee_id=source_id).delete()
        else:
            moved += cls.objects.filter(referee_id=source_id).update(referee_id=target_id)
        return moved
