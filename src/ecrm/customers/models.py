from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "f", _("Female")
    MALE = "m", _("Male")
    OTHER = "o", _("Other")


class Customer(models.Model):
    """One person. Static data lives here; what they did lives in other domains."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    # Search keys, kept by services.py whenever name changes: ASCII only.
    name_pinyin = models.CharField(max_length=120, blank=True, db_index=True)
    name_initials = models.CharField(max_length=40, blank=True, db_index=True)
    email = models.CharField(_("email"), max_length=254, blank=True, db_index=True)
    phone = models.CharField(_("mobile"), max_length=20, blank=True, db_index=True)
    gender = models.CharField(_("gender"), max_length=1, blank=True, choices=Gender.choices)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=60, blank=True)
    province = models.CharField(_("province"), max_length=60, blank=True)
    city = models.CharField(_("city"), max_length=60, blank=True)
    registration_channel = models.CharField(_("registration channel"), max_length=40, blank=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    is_anonymous = models.BooleanField(_("anonymous visitor"), default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            # Prefix search on names: PostgreSQL can use an index for LIKE 'x%' under a
            # linguistic collation only with the pattern operator class (SQLite ignores it).
            models.Index(
                fields=["name"], name="customer_name_idx", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone or f"#{self.pk}"


class IdentityKind(models.TextChoices):
    ANONYMOUS_ID = "anonymous_id", _("Anonymous id")
    USER_ID = "user_id", _("User id")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Mobile")
    WECHAT = "wechat_openid", _("WeChat open id")
    EXTERNAL = "external", _("External id")


# Identifiers one person owns alone. Emails and phones may be shared (a family
# mailbox, a shop's front desk), so only verified ones join profiles.
EXCLUSIVE_KINDS = (
    IdentityKind.ANONYMOUS_ID,
    IdentityKind.USER_ID,
    IdentityKind.WECHAT,
    IdentityKind.EXTERNAL,
)


class Identity(models.Model):
    # Indexed by identity_customer_idx (customer, kind).
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    namespace = models.CharField(_("namespace"), max_length=40, blank=True, default="")
    value = models.CharField(_("value"), max_length=254)
    verified = models.BooleanField(_("verified"), default=False)
    source = models.CharField(_("source"), max_length=40, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"))

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "namespace", "value"],
                condition=Q(kind__in=[k.value for k in EXCLUSIVE_KINDS]),
                name="identity_exclusive_unique",
            ),
            models.UniqueConstraint(
                fields=["kind", "namespace", "value", "customer"], name="identity_once_per_customer"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "kind"], name="identity_customer_idx"),
            models.Index(fields=["value"], name="identity_value_idx"),
        ]

    def __str__(self) -> str:
        ns = f"{self.namespace}:" if self.namespace else ""
        return f"{self.kind}={ns}{self.value}"

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        """Move identities; one the target already has is dropped, not duplicated."""
        have = set(
            cls.objects.filter(customer_id=target_id).values_list("kind", "namespace", "value")
        )
        dupes = [
            pk
            for pk, k, ns, v in cls.objects.filter(customer_id=source_id).values_list(
                "pk", "kind", "namespace", "value"
            )
            if (k, ns, v) in have
        ]
        cls.objects.filter(pk__in=dupes).delete()
        return cls.objects.filter(customer_id=source_id).update(customer_id=target_id)


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    PUSH = "push", _("Push")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    DENIED = "denied", _("Denied")


class Consent(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=60, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="consent_once_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.status}"

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        """The most recent decision per channel wins."""
        moved = 0
        for consent in cls.objects.filter(customer_id=source_id):
            theirs = cls.objects.filter(customer_id=target_id, channel=consent.channel).first()
            if theirs is None:
                consent.customer_id = target_id
                consent.save(update_fields=["customer"])
                moved += 1
            elif consent.updated_at > theirs.updated_at:
                theirs.status, theirs.source = consent.status, consent.source
                theirs.updated_at = consent.updated_at
                theirs.save(update_fields=["status", "source", "updated_at"])
                consent.delete()
                moved += 1
            else:
                consent.delete()
        return moved


class Merge(models.Model):
    """A record of one profile folded into another: kept forever, shown on both."""

    source = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merged_away")
    target = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_received")
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("merged by"), max_length=120)
    reason = models.CharField(_("reason"), max_length=200)
    source_snapshot = models.JSONField(_("source profile"))
    moved = models.JSONField(_("moved records"), default=dict)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"#{self.source_id} → #{self.target_id}"

    @classmethod
    def on_customer_merge(cls, source_id: int, target_id: int) -> int:
        # Merge history stays pointing at the profiles it was about.
        return 0
