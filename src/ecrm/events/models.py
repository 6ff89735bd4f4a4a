from django.db import models
from django.utils.translation import gettext_lazy as _


class WriteKey(models.Model):
    """A source's key: the HTTP Basic user name Segment and RudderStack SDKs send."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("key starts with"), max_length=10)
    created_at = models.DateTimeField(_("created at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("write key")
        verbose_name_plural = _("write keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class EventType(models.TextChoices):
    IDENTIFY = "identify", "identify"
    TRACK = "track", "track"
    PAGE = "page", "page"
    SCREEN = "screen", "screen"
    GROUP = "group", "group"
    ALIAS = "alias", "alias"


class Event(models.Model):
    """Append-only: one row per accepted message, never updated except for merges."""

    message_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(_("type"), max_length=10, choices=EventType.choices)
    name = models.CharField(_("event"), max_length=200, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # served by event_customer_idx (customer, timestamp)
    )
    anonymous_id = models.CharField(max_length=100, blank=True)
    user_id = models.CharField(max_length=100, blank=True)
    timestamp = models.DateTimeField(_("time"))
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    page_url = models.CharField(max_length=1000, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    write_key = models.ForeignKey(
        WriteKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [models.Index(fields=["customer", "timestamp"], name="event_customer_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.name}".strip()
