"""Service to residents (代办): the catalogue of service items and service requests.

A service request is the second kind of case (``cases``) beside incidents: it inherits the
case fields (``cases.models.Case``), its history is ``ServiceRequestEvent`` (append-only),
the clock's due events ``ServiceRequestDue`` and the 15-day supervision records
``ServiceRequestSupervision``; ``servicedesk.kind.ServiceRequestKind`` names them to the
engine. Its states are the engine's, labelled for service (``ServiceStatus``): received
(``acknowledged``: taken at the desk, the receiver acknowledged it there and then), in
progress, done (``resolved``), picked up or delivered (``closed``), returned as not eligible
(``declined``) and withdrawn (``cancelled``). Each hand-off to a town or county office is a
``ServiceStep`` with its own promised date, written with the ``hand_off`` event.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cases.models import (
    Case,
    CaseEventBase,
    DueEventBase,
    Status,
    SupervisionRecordBase,
    list_indexes,
)
from gridmap.codes import Level
from gridmap.crypto import EncryptedCharField
from grids.models import Grid, Station, Town, Village, Worker, district_field
from households.models import Household
from presence.models import Visit


class ServiceKind(models.TextChoices):
    """The six kinds of service item (Long'an's catalogue)."""

    GOVERNMENT = "government", pgettext_lazy("service kind", "government affairs")
    PRODUCTION = "production", pgettext_lazy("service kind", "production and livelihood")
    LEGAL = "legal", pgettext_lazy("service kind", "legal services")
    CULTURE = "culture", pgettext_lazy("service kind", "culture and education")
    HEALTH = "health", pgettext_lazy("service kind", "health and social security")
    PARTY = "party", pgettext_lazy("service kind", "party building")


class ApprovingLevel(models.TextChoices):
    COUNTY = Level.COUNTY, pgettext_lazy("approving level", "county")
    TOWN = Level.TOWN, pgettext_lazy("approving level", "town")
    VILLAGE = Level.VILLAGE, pgettext_lazy("approving level", "village")


class ServiceItem(models.Model):
    """One item of a district's service catalogue (办事指南): what it takes, who approves it
    and in how many working days it is promised. Data, edited by district administrators and
    imported from a spreadsheet; ``district`` empty: every district."""

    code = models.CharField(_("item code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ServiceKind.choices)
    approving_level = models.CharField(
        _("approved by"), max_length=10, choices=ApprovingLevel.choices
    )
    office = models.CharField(
        _("responsible office"),
        max_length=100,
        blank=True,
        help_text=_("The office that handles it, e.g. the county civil affairs bureau."),
    )
    conditions = models.TextField(_("conditions"), blank=True)
    materials = models.TextField(_("materials to bring"), blank=True)
    steps = models.TextField(_("steps"), blank=True)
    fees = models.CharField(_("fees"), max_length=200, blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    promised_days = models.PositiveSmallIntegerField(_("promised working days"))
    at_village = models.BooleanField(
        _("can be handled at the village"),
        default=True,
        help_text=_("Taken at the village service station (by proxy where not approved there)."),
    )
    district = district_field()
    active = models.BooleanField(_("in use"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        ordering = ["kind", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "district"], nulls_distinct=False, name="service_item_code"
            ),
            models.CheckConstraint(
                condition=Q(promised_days__gte=1) & Q(promised_days__lte=365),
                name="service_item_days",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ServiceStatus(models.TextChoices):
    """The engine's states (``cases.models.Status``, same values) as service names them."""

    REPORTED = Status.REPORTED, pgettext_lazy("service request", "new")
    ACKNOWLEDGED = Status.ACKNOWLEDGED, pgettext_lazy("service request", "received")
    IN_PROGRESS = Status.IN_PROGRESS, pgettext_lazy("service request", "in progress")
    RESOLVED = Status.RESOLVED, pgettext_lazy("service request", "done")
    CLOSED = Status.CLOSED, pgettext_lazy("service request", "picked up or delivered")
    DECLINED = Status.DECLINED, pgettext_lazy("service request", "returned (not eligible)")
    CANCELLED = Status.CANCELLED, pgettext_lazy("service request", "withdrawn")


class Channel(models.TextChoices):
    DESK = "desk", pgettext_lazy("service channel", "at the village service station")
    VISIT = "visit", pgettext_lazy("service channel", "on a visit")
    FIELD = "field", pgettext_lazy("service channel", "in the field")


class ServiceRequest(Case):
    """A resident's matter handled by proxy (代办), with a promised completion date
    (``resolve_due_at``: the item's working days from receipt, to the end of that working
    day) and a short code the resident looks up on the public status page."""

    status = models.CharField(
        _("status"), max_length=20, choices=ServiceStatus.choices, default=Status.ACKNOWLEDGED
    )
    item = models.ForeignKey(
        ServiceItem, on_delete=models.PROTECT, related_name="requests", verbose_name=_("item")
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_requests",
        verbose_name=_("household"),
    )
    # The resident who asked (personal data: masked like a household's head and phone).
    applicant_name = models.CharField(_("applicant"), max_length=50)
    applicant_phone = EncryptedCharField(_("applicant's phone"), max_length=20, blank=True)
    matter = models.TextField(_("the matter"), blank=True)
    channel = models.CharField(
        _("taken"), max_length=10, choices=Channel.choices, default=Channel.DESK
    )
    visit = models.ForeignKey(
        Visit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("visit"),
    )
    # 首问负责人: the user who took the request (the engine's reporter) and their worker.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("received by"),
    )
    first_receiver = models.ForeignKey(
        Worker,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_requests",
        verbose_name=_("first receiver"),
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    town = models.ForeignKey(
        Town, on_delete=models.PROTECT, related_name="+", verbose_name=_("town")
    )
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("station"),
        help_text=_("The station whose catchment held the village when the request was taken."),
    )
    # For the resident's public status page: no personal data, not guessable.
    short_code = models.CharField(_("lookup code"), max_length=12, unique=True)
    client_uuid = models.UUIDField(null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ["-reported_at"]
        indexes = [
            models.Index(fields=["place_code", "reported_at"], name="service_place_time"),
            models.Index(fields=["item", "reported_at"], name="service_item_time"),
            models.Index(fields=["first_receiver", "reported_at"], name="service_receiver_time"),
            # Its close-out list is ordered by when a request ended (an expression): no index.
            *list_indexes("service", closeout=False),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__range=(1, 5)),
                name="service_satisfaction_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.short_code} {self.item_id}"


class ServiceRequestEvent(CaseEventBase):
    """The history of a service request (append-only, ``cases.history``)."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="events", verbose_name=_("request")
    )
    from_status = models.CharField(_("from"), max_length=20, choices=ServiceStatus.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=ServiceStatus.choices)

    class Meta:
        verbose_name = _("service request event")
        verbose_name_plural = _("service request history")
        ordering = ["request", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["request", "seq"], name="service_event_seq_unique"),
        ]


class ServiceRequestDue(DueEventBase):
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind", "due_at"], name="service_due_event_once"
            ),
        ]


class ServiceRequestSupervision(SupervisionRecordBase):
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="supervision_records"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="service_supervision_once"),
        ]


class ServiceStep(models.Model):
    """A hand-off (转办) of a request to a town or county office, with that office's own
    promised date; ``back_at`` when the office's part came back. Written by the ``hand_off``
    and ``step_back`` actions, with their events."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="steps", verbose_name=_("request")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    office = models.CharField(_("office"), max_length=100)
    level = models.CharField(
        _("level"),
        max_length=10,
        choices=[
            (Level.TOWN, ApprovingLevel.TOWN.label),
            (Level.COUNTY, ApprovingLevel.COUNTY.label),
        ],
    )
    handed_at = models.DateTimeField(_("handed over at"))
    promised_on = models.DateField(_("office promised by"))
    back_at = models.DateTimeField(_("back at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("hand-off")
        verbose_name_plural = _("hand-offs")
        ordering = ["request", "number"]
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="service_step_once"),
        ]


class LookupMiss(models.Model):
    """Unknown codes looked up on the public status page from one address in the current
    window (``servicedesk.lookup_limit``): counted in the database, so every worker process
    of the server shares one count and a restart does not reset it. The address is kept as
    its keyed hash only; rows whose window has passed are swept by the next miss."""

    address = models.CharField(_("address (keyed hash)"), max_length=64, unique=True)
    misses = models.PositiveIntegerField(_("misses"), default=1)
    since = models.DateTimeField(_("window from"), db_index=True)

    class Meta:
        verbose_name = _("status page lookup miss")
        verbose_name_plural = _("status page lookup misses")
