from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20)
    file_name = models.CharField(_("file"), max_length=500)
    mapping = models.CharField(_("mapping"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    rows_read = models.IntegerField(_("rows read"), default=0)
    rows_accepted = models.IntegerField(_("rows accepted"), default=0)
    rows_rejected = models.IntegerField(_("rows rejected"), default=0)
    created = models.JSONField(_("created"), default=dict)
    changed = models.JSONField(_("changed"), default=dict)
    reject_file = models.CharField(_("reject file"), max_length=500, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The uploader's console language: the reasons of rejected rows are written in it.
    language = models.CharField(_("language"), max_length=16, blank=True, default="")
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name}"
