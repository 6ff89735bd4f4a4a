"""The membership and points programme: settings, tiers, earning rules, members, the ledger.

The points ledger (``PointsEntry``) is append-only: every movement is a row and the balance is
their sum. ``Membership.points`` is a copy of that sum for lists and segments, written only in
the same transaction as the entries (``services``) and checked by ``ecrm loyalty verify``.
"""

from django.conf import settings as django_settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Programme(models.Model):
    """The one programme of the shop (row ``pk=1``); ``services.programme()`` creates it."""

    name = models.CharField(_("name"), max_length=120, default="会员计划")
    enabled = models.BooleanField(_("switched on"), default=False)
    # The validated settings (``rules.validate_settings``): joining, earning statuses,
    # point value, expiry, tier metric and grace, festivals, tracked event names.
    settings = models.JSONField(_("settings"), default=dict)
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated at"), null=True)
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programmes")

    def __str__(self) -> str:
        return self.name


class Tier(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    rank = models.PositiveIntegerField(_("rank"), unique=True)  # 0 = the entry tier
    threshold = models.DecimalField(_("qualifies from"), max_digits=18, decimal_places=2)
    multiplier = models.DecimalField(_("earning multiplier"), max_digits=6, decimal_places=2)
    discount_percent = models.DecimalField(_("discount %"), max_digits=5, decimal_places=2)
    description = models.CharField(_("benefits"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


class EarningRule(models.Model):
    """A named earning rule; ``definition`` is valid under ``rules.validate_rule``."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(_("definition"))
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EarningRuleVersion(models.Model):
    """Every definition a rule ever had, with who saved it."""

    rule = models.ForeignKey(EarningRule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=120)
    definition = models.JSONField(_("definition"))
    active = models.BooleanField(_("active"))
    created_at = models.DateTimeField(_("created at"))
    created_by_label = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="loyalty_rule_version_once")
        ]


class Membership(models.Model):
    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    number = models.CharField(_("member number"), max_length=20, unique=True)
    joined_at = models.DateTimeField(_("joined"))
    channel = models.CharField(_("join channel"), max_length=40, blank=True)
    recruited_by = models.CharField(_("recruited by (employee)"), max_length=80, blank=True)
    store = models.CharField(_("recruiting store"), max_length=80, blank=True)
    tier = models.CharField(_("tier"), max_length=40, blank=True)  # Tier.code
    tier_since = models.DateTimeField(_("tier since"), null=True)
    # The day the member stopped qualifying for their tier; downgraded when grace ends.
    below_since = models.DateTimeField(_("below tier since"), null=True)
    special = models.BooleanField(_("special member"), default=False)
    points = models.IntegerField(_("points"), default=0)  # = SUM(PointsEntry.points)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        indexes = [
            models.Index(fields=["tier", "points"], name="loyalty_member_tier_idx"),
            models.Index(fields=["joined_at"], name="loyalty_member_joined_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        """Keep one membership: the target's, with the earlier join and either special flag.
        The points follow the ledger; the merge's reconcile recomputes the copy."""
        source = cls.objects.filter(customer_id=source_id).first()
        if source is None:
            return 0
        target = cls.objects.filter(customer_id=target_id).first()
        if target is None:
            cls.objects.filter(customer_id=source_id).update(customer_id=target_id)
            return 1
        target.joined_at = min(target.joined_at, source.joined_at)
        target.special = target.special or source.special
        target.save(update_fields=["joined_at", "special"])
        source.delete()
        return 1


class TierChange(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    at = models.DateTimeField(_("at"))
    from_tier = models.CharField(max_length=40, blank=True)
    to_tier = models.CharField(max_length=40, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "at"], name="loyalty_tierchange_idx")]


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    SPEND = "spend", _("Redeemed")
    CLAWBACK = "clawback", _("Clawed back")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Staff adjustment")
    RESTORE = "restore", _("Redemption returned")


class Source(models.TextChoices):
    ORDER = "order", _("Order")
    EVENT = "event", _("Activity")
    CAMPAIGN = "campaign", _("Campaign")
    REFERRAL = "referral", _("Referral")
    STAFF = "staff", _("Staff adjustment")
    CHECKOUT = "checkout", _("Checkout")
    REWARD = "reward", _("Reward")
    EXPIRY = "expiry", _("Expiry")


# Kinds that happen at most once per (source, source_ref): the idempotency key.
ONCE_KINDS = ("earn", "spend", "adjust", "restore")
# The condition of the ledger's totals index: true of every movement; a query that sums
# movements by kind filters on it to read that index (see ``PointsEntry.Meta.indexes``).
TOTALS = Q(points__isnull=False)


class PointsEntry(models.Model):
    """One movement of points. Never updated, never deleted (merges re-point the customer)."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices)
    points = models.IntegerField(_("points"))  # positive: a lot; negative: a debit
    source = models.CharField(_("source"), max_length=20)
    source_ref = models.CharField(_("reference"), max_length=120)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # For earnings: the rules that gave the points, [{"rule": id, "name": ..., "points": n}].
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("at"))
    # When a lot's unspent points expire (null: never); on debits null.
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    actor_label = models.CharField(_("by"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("points movement")
        verbose_name_plural = _("points movements")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_ref", "kind"],
                condition=Q(kind__in=ONCE_KINDS),
                name="loyalty_entry_once",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="loyalty_entry_customer_idx"),
            # Idempotency look-ups and an order's clawbacks (SQLite cannot use the partial
            # unique index for them).
            models.Index(fields=["source", "source_ref"], name="loyalty_entry_source_idx"),
            models.Index(
                fields=["expires_at"], name="loyalty_entry_expiry_idx", condition=Q(points__gt=0)
            ),
            # Totals by kind read this index alone: all time on the programme page
            # (``queries.ledger_totals``: at 2M movements 0.26 s instead of 0.7 s for a scan
            # of the table), a period's in member analytics (``analytics._movements``).
            # Partial, on a condition every row meets, so that only queries naming it
            # (``TOTALS``) use it: SQLite without planner statistics otherwise took it for
            # ``kind = 'earn'`` in the look-ups by source and reference, and read every
            # earning for each (the 1M demo's activities ran for half an hour and more).
            models.Index(
                fields=["kind", "created_at", "points"],
                name="loyalty_entry_totals_idx",
                condition=TOTALS,
            ),
        ]


class PointsDebit(models.Model):
    """Which lot a debit (spend, clawback, expiry, negative adjustment) took points from.
    A debit the lots could not cover (a clawback of points already spent) is covered by
    later lots as they arrive."""

    debit = models.ForeignKey(PointsEntry, on_delete=models.CASCADE, related_name="+")
    lot = models.ForeignKey(PointsEntry, on_delete=models.CASCADE, related_name="+")
    points = models.IntegerField()
