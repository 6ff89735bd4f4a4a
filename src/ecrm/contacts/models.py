from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    CHAT = "chat", _("Chat")
    WECHAT = "wechat", _("WeChat")
    FAX = "fax", _("Fax")
    WEB = "web", _("Web form")
    VISIT = "visit", _("In person")


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class Contact(models.Model):
    """One interaction between the shop and a customer, on any channel."""

    # Indexed by contact_customer_idx (customer, occurred_at).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField(_("summary"))
    occurred_at = models.DateTimeField(_("time"))
    created_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contact log")
        indexes = [models.Index(fields=["customer", "occurred_at"], name="contact_customer_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.direction} {self.occurred_at:%Y-%m-%d}"
