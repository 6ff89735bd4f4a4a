from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SegmentKind(models.TextChoices):
    RULES = "rules", _("rules")
    STATIC = "static", _("static list")


class Segment(models.Model):
    """A named segment: a versioned rule tree (``definition`` is valid under
    ``rules.validate``) or a static list whose members staff add and remove."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=SegmentKind.choices, default=SegmentKind.RULES
    )
    # A static list keeps {} here.
    definition = models.JSONField(_("definition"))
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_static(self) -> bool:
        return self.kind == SegmentKind.STATIC


class SegmentVersion(models.Model):
    """Every definition a segment ever had, kept."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("segment version")
        verbose_name_plural = _("segment versions")
        constraints = [
            models.UniqueConstraint(fields=["segment", "version"], name="segment_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} v{self.version}"


class Member(models.Model):
    """A customer who is in a segment now, since ``entered_at``."""

    # Indexed by member_once (segment, customer).
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [models.UniqueConstraint(fields=["segment", "customer"], name="member_once")]
        indexes = [models.Index(fields=["customer"], name="member_customer_idx")]

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        from ecrm.segments import services

        return services.fold_memberships(source_id, target_id)


class ChangeKind(models.TextChoices):
    ENTERED = "entered", _("entered")
    LEFT = "left", _("left")


class ChangeReason(models.TextChoices):
    EVENT = "event", _("event")
    ORDER = "order", _("order")
    PROFILE = "profile", _("profile")
    SCHEDULE = "schedule", _("scheduled refresh")
    REBUILD = "rebuild", _("rebuild")
    MANUAL = "manual", _("by hand")
    MERGE = "merge", _("profiles merged")
    POINTS = "points", _("points or tier")


class MembershipChange(models.Model):
    """Append-only: a customer entered or left a segment, when and why."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No foreign key constraint: the log outlives merges and keeps the id it was written with.
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(_("change"), max_length=8, choices=ChangeKind.choices)
    at = models.DateTimeField(_("time"))
    reason = models.CharField(_("reason"), max_length=10, choices=ChangeReason.choices)

    class Meta:
        verbose_name = _("membership change")
        verbose_name_plural = _("membership changes")
        indexes = [
            models.Index(fields=["segment", "at"], name="change_segment_idx"),
            models.Index(fields=["customer", "at"], name="change_customer_idx"),
        ]

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        # The log keeps the ids it was written with; fold_memberships logs the merge.
        return 0


class SegmentSize(models.Model):
    """A point of a segment's size history: after every build or refresh, and hourly."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+", db_index=False)
    at = models.DateTimeField(_("time"))
    size = models.PositiveIntegerField(_("size"))

    class Meta:
        verbose_name = _("segment size")
        verbose_name_plural = _("segment sizes")
        indexes = [models.Index(fields=["segment", "at"], name="size_segment_idx")]
