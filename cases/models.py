"""What every kind of case has: states, an owner, time limits, milestones and a history.

A kind of case is a concrete model that inherits ``Case`` (the case fields) and three small
models that inherit ``CaseEventBase`` (the append-only history), ``DueEventBase`` (the
deadlines the clock has acted on) and ``SupervisionRecordBase`` (督办 every 15 days), each
with a foreign key to the case, and a ``cases.kinds.CaseKind`` that names them. The engine
(``cases.workflow``, ``cases.clock``) works on those fields only.

The concrete case model must also have ``place_code`` (the place it belongs to: the
jurisdiction filter), ``reported_at`` and ``reporter`` (the user who gives the callback).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from gridmap.codes import Level


class Status(models.TextChoices):
    """Case states (see cases.workflow for who may move a case between them)."""

    REPORTED = "reported", _("reported")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    IN_PROGRESS = "in_progress", _("in progress")
    RESOLVED = "resolved", _("resolved")
    VERIFIED = "verified", _("verified")
    CLOSED = "closed", _("closed out")
    RETURNED = "returned", _("returned")
    CANCELLED = "cancelled", _("cancelled")
    # Not eligible (a service request returned to the resident with the reason): final.
    DECLINED = "declined", _("declined")


OPEN_STATUSES = [
    Status.REPORTED,
    Status.ACKNOWLEDGED,
    Status.IN_PROGRESS,
    Status.RESOLVED,
    Status.VERIFIED,
    Status.RETURNED,
]


def list_indexes(prefix: str, *, closeout: bool = True) -> list[models.Index]:
    """The indexes of the lists' orders (``cases.lists.list_queryset``, ``cases.paging``), for a
    kind's ``Meta.indexes``: the newest first (problem list, API pages by cursor), the most
    urgent open case first (responsibility list, partial on the open states) and, where a
    case ends by its sign-off, the latest close-out first (close-out list, partial on
    ``closed``)."""
    indexes = [
        models.Index(fields=["reported_at", "id"], name=f"{prefix}_reported_id"),
        models.Index(
            Coalesce("resolve_due_at", "acknowledge_due_at"),
            "id",
            condition=models.Q(status__in=OPEN_STATUSES),
            name=f"{prefix}_open_urgency",
        ),
    ]
    if closeout:
        indexes.append(
            models.Index(
                models.F("closed_at").desc(nulls_last=True),
                models.F("id").desc(),
                condition=models.Q(status=Status.CLOSED),
                name=f"{prefix}_closeout",
            )
        )
    return indexes


# The statuses in which the on-site deadline counts: work has not started yet.
ONSITE_STATUSES = [Status.REPORTED, Status.ACKNOWLEDGED]


class TimeUnit(models.TextChoices):
    """The unit of a time limit: working hours and days run on the working calendar
    (``cases.deadlines``); calendar minutes run round the clock (emergencies: a red gas leak
    on Sunday night is due within its minutes, not on Monday morning)."""

    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")
    CALENDAR_MINUTES = "calendar_minutes", _("calendar minutes")


class Case(models.Model):
    """The case fields. The history is the record; these are its current state and the first
    times of each milestone, kept by ``cases.workflow`` in the same transaction as the event,
    so lists and KPIs need no replay of the history."""

    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REPORTED
    )
    # The place code the case belongs to (grid, else village, else town): the jurisdiction
    # filter uses it (codes nest).
    place_code = models.CharField(_("place code"), max_length=15, db_index=True)
    owner_level = models.CharField(
        _("owning level"), max_length=10, choices=Level.choices, default=Level.GRID
    )
    owner_code = models.CharField(
        _("owning place"), max_length=15, db_index=True, default="", blank=True
    )
    # Optimistic concurrency: an action names the version it saw; a stale one is refused.
    version = models.PositiveIntegerField(_("version"), default=1)
    acknowledge_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("resolve by"), null=True, blank=True)
    # On site (到场) by: the deadline for the ``start`` action, for kinds whose time limit has
    # one (red incidents: 2 hours); empty for none. It counts while the case waits to be
    # started (reported, acknowledged) and is ignored once work has started.
    onsite_due_at = models.DateTimeField(_("on site by"), null=True, blank=True)
    # Whether the deadlines above run round the clock (a time limit in calendar minutes) or
    # on the working calendar: the traffic light measures the share of the limit on the same
    # clock (cases.deadlines).
    calendar_clock = models.BooleanField(_("round the clock"), default=False, db_default=False)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed out at"), null=True, blank=True)
    closed_on_time = models.BooleanField(_("closed on time"), null=True, blank=True)
    extension_pending = models.BooleanField(_("extension requested"), default=False)
    extension_count = models.PositiveSmallIntegerField(_("extensions granted"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True, help_text=_("The reporter's rating, 1 to 5.")
    )

    class Meta:
        abstract = True


# The case fields an action may change besides its status, and with it (saved with
# update_fields).
CASE_STATE_FIELDS = [
    "owner_level",
    "owner_code",
    "version",
    "acknowledge_due_at",
    "resolve_due_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "closed_on_time",
    "extension_pending",
    "extension_count",
    "rework_count",
    "escalation_count",
    "satisfaction",
]
# Which clock the deadlines run on and the on-site deadline (set with them): not state fields,
# so writers of whole rows (the demo's COPY) leave them to their database defaults (the
# working calendar, no on-site deadline).
CASE_FIELDS = ["status", *CASE_STATE_FIELDS, "calendar_clock", "onsite_due_at"]


class CaseEventBase(models.Model):
    """One entry of a case's history: who did what, when, from which state to which.

    Append-only: a database trigger refuses UPDATE and DELETE (``cases.history``), so the
    history cannot be edited, not even from the admin or a shell. The concrete model adds the
    foreign key to its case and a unique (case, seq)."""

    seq = models.PositiveIntegerField(_("number"))
    action = models.CharField(_("action"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty for the system (the clock)."),
    )
    actor_name = models.CharField(_("by (name)"), max_length=100)
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    from_level = models.CharField(_("from level"), max_length=10, choices=Level.choices)
    to_level = models.CharField(_("to level"), max_length=10, choices=Level.choices)
    note = models.TextField(_("note"), blank=True)
    # Action-specific facts: an extension's new deadline, a rating, the due time that an
    # automatic escalation answered, ...
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        abstract = True


# The fields of an event, as the history lists them.
EVENT_FIELDS = [
    "seq",
    "action",
    "actor",
    "actor_name",
    "at",
    "from_status",
    "to_status",
    "from_level",
    "to_level",
    "note",
    "data",
]


class DueKind(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("acknowledge")
    RESOLVE = "resolve", _("resolve")
    ONSITE = "onsite", _("on site")


class DueEventBase(models.Model):
    """A deadline the clock has acted on. The concrete model is unique per (case, kind, due
    time), so the clock acts once per due event, also when it catches up after being down."""

    Kind = DueKind

    kind = models.CharField(_("kind"), max_length=15, choices=DueKind.choices)
    due_at = models.DateTimeField(_("due at"))
    acted_at = models.DateTimeField(_("acted at"), auto_now_add=True)

    class Meta:
        abstract = True


class SupervisionRecordBase(models.Model):
    """督办: a supervision record every 15 days while a case stays open. The concrete model is
    unique per (case, number)."""

    number = models.PositiveSmallIntegerField(_("number"))
    due_at = models.DateTimeField(_("due at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    owner_level = models.CharField(_("owning level"), max_length=10, choices=Level.choices)
    owner_code = models.CharField(_("owning place"), max_length=15)

    class Meta:
        abstract = True
