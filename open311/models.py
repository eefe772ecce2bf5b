"""Open311 GeoReport v2: the client systems that may speak it, and what each request
brought that an incident does not hold.

An Open311 *service* is an incident category; a *service request* is an incident created
through ``incidents.services.incident_create`` (routing, deadlines, notifications and history
as for any incident). ``ApiKey`` is one client system (a 12345 hotline, a FixMyStreet
installation): its key is stored only as a keyed hash (``gridmap.crypto.keyed_hash``), it
acts within one district or city (``scope_code``), and the incidents it creates are reported
by its own login (``reporter``, which cannot sign in). ``Open311Request`` keeps, next to the
incident, the reporter's details as sent (encrypted at rest), the link to their media (a
link, never fetched) and the token of the request.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap.crypto import EncryptedCharField
from incidents.models import Incident


class ApiKey(models.Model):
    """One client system's key, scoped to a district or a city."""

    name = models.CharField(
        _("client system"),
        max_length=100,
        unique=True,
        help_text=_("Which system uses this key, for example the county's 12345 hotline."),
    )
    # The first characters of the key, to recognise it in lists; the key itself is only ever
    # shown once, when it is issued.
    key_prefix = models.CharField(_("key starts with"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope_code = models.CharField(
        _("jurisdiction"),
        max_length=6,
        help_text=_("The code of the district or city the key may report in and read."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    reporter = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="open311_key",
        editable=False,
        verbose_name=_("reporting login"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        editable=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    # The rate limit's window (open311.selectors.key_of): the start of the current minute
    # and the requests counted in it.
    window_start = models.DateTimeField(null=True, editable=False)
    window_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope_code__regex=r"^[0-9]{6}$"), name="open311_key_scope_code"
            ),
            models.CheckConstraint(condition=~Q(key_hash=""), name="open311_key_hash_set"),
        ]

    def __str__(self) -> str:
        return self.name


class Open311Request(models.Model):
    """What an Open311 POST brought besides the incident itself."""

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="open311", verbose_name=_("incident")
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, related_name="requests", verbose_name=_("API key")
    )
    token = models.UUIDField(_("token"), default=uuid.uuid4, unique=True, editable=False)
    # The reporter's details, encrypted like residents' phones (gridmap.crypto); never in a
    # GET answer.
    email = EncryptedCharField(_("e-mail"), max_length=254, blank=True)
    first_name = EncryptedCharField(_("first name"), max_length=100, blank=True)
    last_name = EncryptedCharField(_("last name"), max_length=100, blank=True)
    phone = EncryptedCharField(_("phone"), max_length=30, blank=True)
    device_id = models.CharField(_("device"), max_length=100, blank=True)
    account_id = models.CharField(_("account"), max_length=100, blank=True)
    # A link to the reporter's photo, stored as sent (http or https) and never fetched by
    # the server (no request to an address a client chose).
    media_url = models.URLField(_("media link"), max_length=500, blank=True)
    address_string = models.CharField(_("address as sent"), max_length=250, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")

    def __str__(self) -> str:
        return f"#{self.incident_id}"
