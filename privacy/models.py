"""The personal-data access log (PIPL Arts. 51 and 56): who saw which resident's ID number or
phone unmasked, when, through which page or endpoint.

Append-only: rows are written by ``privacy.services.access_log_write`` (one request, one row
per district of the records it showed) and never changed; a trigger in the database refuses
UPDATE and DELETE (migration 0001). ``district_code`` (the first six digits of the records'
place code) is what the jurisdiction rule filters the log on: a district administrator reads
the log of their district.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

# The kinds of record whose values are logged ("household:12"), as readers see them.
RECORD_TYPES = {
    "household": _("household"),
    "worker": _("worker"),
    "recipient": _("case recipient"),
}


def record_label(record: str) -> str:
    """``household:12`` as a reader sees it: ``household 12`` (住户 12)."""
    kind, _sep, number = record.partition(":")
    return f"{RECORD_TYPES.get(kind, kind)} {number}"


class AccessLogEntry(models.Model):
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    # Not a foreign key: the log outlives logins and must not be rewritten when one goes.
    user_id = models.IntegerField(_("login id"), null=True)
    username = models.CharField(_("login"), max_length=150)
    method = models.CharField(_("request method"), max_length=10)
    path = models.CharField(_("page or endpoint"), max_length=500)
    district_code = models.CharField(_("district"), max_length=6, db_index=True, blank=True)
    fields = ArrayField(models.CharField(max_length=20), verbose_name=_("fields"))
    # "household:12", "worker:7", "recipient:31": the records whose values were shown.
    records = ArrayField(models.CharField(max_length=40), verbose_name=_("records"))

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data access log")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.path}"
