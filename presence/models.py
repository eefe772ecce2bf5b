"""Field presence: who is on duty (``DutyShift``), who was where (``SignIn``, ``Patrol``), whom
they visited (``Visit``), who must be visited how often (``CareCategory``, ``KeyPerson``), and
the rules and schedules presence is measured against (``PresenceRule``, ``ScheduleDay``).

Positions are stored in WGS84 (``settings.GRIDMAP_SRID``); a phone's GCJ-02 position is
converted on the way in (``grids.coords``), like every other position.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridmap import uploads
from grids.models import Grid, Role, Station, Town, Village, Worker, district_field
from households.models import Household
from incidents.models import Incident

SRID = settings.GRIDMAP_SRID


class Half(models.IntegerChoices):
    """A half-day, the unit of sign-ins (one per worker per half-day) and duty shifts."""

    MORNING = 0, pgettext_lazy("half-day", "morning")
    AFTERNOON = 1, pgettext_lazy("half-day", "afternoon")


class PlaceLevel(models.TextChoices):
    """The level of the place a duty roster, sign-in or visit belongs to."""

    GRID = "grid", _("grid")
    VILLAGE = "village", _("village")
    STATION = "station", _("station")
    TOWN = "town", _("town")


def _one_place(*fields: str) -> Q:
    """Exactly one of ``fields`` is set."""
    options = []
    for f in fields:
        options.append(
            Q(**{f"{f}__isnull": False}) & Q(**{f"{o}__isnull": True for o in fields if o != f})
        )
    out = options[0]
    for q in options[1:]:
        out |= q
    return out


# --- duty ------------------------------------------------------------------------------------
class DutyShift(models.Model):
    """One worker on duty (值班) at a village's, station's or town's service centre on one day
    (a whole day, or one half of it). The roster of a place is its shifts."""

    class Span(models.TextChoices):
        DAY = "day", pgettext_lazy("duty shift", "all day")
        MORNING = "morning", pgettext_lazy("duty shift", "morning")
        AFTERNOON = "afternoon", pgettext_lazy("duty shift", "afternoon")

    worker = models.ForeignKey(
        Worker, on_delete=models.PROTECT, related_name="duty_shifts", verbose_name=_("worker")
    )
    date = models.DateField(_("date"))
    span = models.CharField(_("shift"), max_length=10, choices=Span.choices, default=Span.DAY)
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duty_shifts",
        verbose_name=_("village"),
    )
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duty_shifts",
        verbose_name=_("station"),
    )
    town = models.ForeignKey(
        Town,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duty_shifts",
        verbose_name=_("town"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        ordering = ["date", "span"]
        constraints = [
            models.CheckConstraint(
                condition=_one_place("village", "station", "town"), name="duty_one_place"
            ),
            models.UniqueConstraint(
                fields=["worker", "date", "span", "village", "station", "town"],
                nulls_distinct=False,
                name="duty_once_per_shift",
            ),
        ]
        indexes = [models.Index(fields=["date"], name="duty_date")]

    def __str__(self) -> str:
        return f"{self.worker} {self.date} {self.get_span_display()}"

    @property
    def place(self) -> Village | Station | Town:
        return self.village or self.station or self.town  # type: ignore[return-value]


# --- sign-in ---------------------------------------------------------------------------------
class SignIn(models.Model):
    """A worker's sign-in (签到): where the phone was, when, judged against the place the
    worker is assigned to. One per worker per half-day (``day``, ``half`` in the server's time
    zone, from the time the phone made it, not the time it arrived)."""

    class Verdict(models.TextChoices):
        INSIDE = "inside", pgettext_lazy("sign-in", "inside the place")
        NEAR = "near", pgettext_lazy("sign-in", "near the place")
        OUTSIDE = "outside", pgettext_lazy("sign-in", "outside, with a reason")

    worker = models.ForeignKey(
        Worker, on_delete=models.PROTECT, related_name="sign_ins", verbose_name=_("worker")
    )
    # Made on the phone (kept when the sign-in was queued offline) and received here.
    at = models.DateTimeField(_("signed in at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    day = models.DateField(_("day"))
    half = models.PositiveSmallIntegerField(_("half-day"), choices=Half.choices)
    location = models.PointField(_("position"), srid=SRID)
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    # The place it was judged against: the assignment's level and the place's code.
    place_level = models.CharField(_("place level"), max_length=10, choices=PlaceLevel.choices)
    place_code = models.CharField(_("place code"), max_length=15)
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    # Metres from the place's edge (0 inside).
    distance_m = models.FloatField(_("distance (m)"), default=0)
    note = models.CharField(_("reason given"), max_length=200, blank=True)
    client_uuid = models.UUIDField(_("client id"), default=uuid.uuid4, unique=True)

    class Meta:
        verbose_name = _("sign-in")
        verbose_name_plural = _("sign-ins")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "day", "half"], name="sign_in_once_per_half_day"
            ),
            models.CheckConstraint(
                condition=~Q(verdict="outside") | ~Q(note=""), name="sign_in_outside_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["place_code", "day"], name="sign_in_place_day")]

    def __str__(self) -> str:
        return f"{self.worker} {self.day} {self.get_half_display()}"


# --- visits and the diary --------------------------------------------------------------------
class Visit(models.Model):
    """A visit (走访) to one or more households, or a group meeting in a place. The diary
    (民情日记) is a worker's visits in order."""

    class Kind(models.TextChoices):
        HOUSEHOLD = "household", pgettext_lazy("visit", "household visit")
        GROUP = "group", pgettext_lazy("visit", "group meeting")

    worker = models.ForeignKey(
        Worker, on_delete=models.PROTECT, related_name="visits", verbose_name=_("visitor")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOUSEHOLD)
    at = models.DateTimeField(_("visited at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    location = models.PointField(_("position"), srid=SRID, null=True, blank=True)
    # The grid the visit belongs to (the first household's, or the position's): jurisdiction.
    grid = models.ForeignKey(
        Grid,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name=_("grid"),
    )
    # The place's code for jurisdiction and the diary's grouping (grid, else village code).
    place_code = models.CharField(_("place code"), max_length=15, db_index=True)
    households = models.ManyToManyField(
        Household, through="VisitHousehold", related_name="visits", verbose_name=_("households")
    )
    attendees = models.PositiveSmallIntegerField(_("people met"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    follow_up = models.TextField(_("follow-up"), blank=True)
    follow_up_due = models.DateField(_("follow up by"), null=True, blank=True)
    follow_up_done_at = models.DateTimeField(_("followed up at"), null=True, blank=True)
    client_uuid = models.UUIDField(_("client id"), default=uuid.uuid4, unique=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-at"]
        indexes = [models.Index(fields=["worker", "at"], name="visit_worker_at")]

    def __str__(self) -> str:
        return f"{self.worker} {self.at:%Y-%m-%d %H:%M}"


class VisitHousehold(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, verbose_name=_("visit"))
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="+", verbose_name=_("household")
    )

    class Meta:
        verbose_name = _("household visited")
        verbose_name_plural = _("households visited")
        constraints = [
            models.UniqueConstraint(fields=["visit", "household"], name="visit_household_once")
        ]
        indexes = [models.Index(fields=["household", "visit"], name="visit_household_idx")]


def visit_photo_path(instance: VisitPhoto, filename: str) -> str:
    name = uploads.stored_name(filename, instance.content_type)
    return f"visits/{instance.visit_id}/{uuid.uuid4().hex}-{name}"


class VisitPhoto(models.Model):
    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, related_name="photos", verbose_name=_("visit")
    )
    image = models.ImageField(_("photo"), upload_to=visit_photo_path)
    content_type = models.CharField(_("type"), max_length=30)
    size = models.PositiveIntegerField(_("size in bytes"))

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")


class VisitRequest(models.Model):
    """A request a resident raised during a visit; it may become an incident (a case)."""

    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, related_name="requests", verbose_name=_("visit")
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("household"),
    )
    text = models.TextField(_("request"))
    incident = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visit_requests",
        verbose_name=_("case"),
    )

    class Meta:
        verbose_name = _("request raised")
        verbose_name_plural = _("requests raised")


# --- patrols ---------------------------------------------------------------------------------
class Patrol(models.Model):
    """A patrol (巡查): the track a worker walked, simplified, with each kept vertex's time as
    seconds since ``started_at`` in ``offsets`` (parallel to the track's vertices)."""

    worker = models.ForeignKey(
        Worker, on_delete=models.PROTECT, related_name="patrols", verbose_name=_("worker")
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"))
    day = models.DateField(_("day"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    track = models.LineStringField(_("track"), srid=SRID)
    offsets = ArrayField(models.FloatField(), verbose_name=_("seconds since the start"))
    length_m = models.FloatField(_("length (m)"))
    points_received = models.PositiveIntegerField(_("positions received"))
    points_dropped = models.PositiveIntegerField(_("positions dropped as glitches"), default=0)
    # The grid the patrol belongs to (the one its track is most within): jurisdiction.
    grid = models.ForeignKey(
        Grid,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patrols",
        verbose_name=_("grid"),
    )
    place_code = models.CharField(_("place code"), max_length=15, db_index=True)
    client_uuid = models.UUIDField(_("client id"), default=uuid.uuid4, unique=True)

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["worker", "day"], name="patrol_worker_day")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gte=models.F("started_at")), name="patrol_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker} {self.started_at:%Y-%m-%d %H:%M}"


class PatrolCoverage(models.Model):
    """The part of one grid a patrol came within 50 m of (``PATROL_REACH_M``)."""

    patrol = models.ForeignKey(
        Patrol, on_delete=models.CASCADE, related_name="coverage", verbose_name=_("patrol")
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.PROTECT, related_name="+", verbose_name=_("grid")
    )
    geom = models.MultiPolygonField(_("area covered"), srid=SRID)
    share = models.FloatField(_("share of the grid"))

    class Meta:
        verbose_name = _("area patrolled")
        verbose_name_plural = _("areas patrolled")
        constraints = [
            models.UniqueConstraint(fields=["patrol", "grid"], name="patrol_grid_once"),
        ]


# --- key persons -----------------------------------------------------------------------------
class CareCategory(models.Model):
    """A care category of key persons (重点人员): how often they must be visited and by whom.
    Data, edited by district administrators; ``district`` empty: every district."""

    class Visitor(models.TextChoices):
        GRID_LEADER = "grid_leader", _("grid leader")
        CENTRAL_HOUSEHOLD = "central_household", _("central household")
        VILLAGE_STAFF = "village_staff", _("village staff")

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=50)
    visit_every_days = models.PositiveSmallIntegerField(_("visit every (days)"))
    visitor = models.CharField(_("visited by"), max_length=20, choices=Visitor.choices)
    district = district_field()
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("care category")
        verbose_name_plural = _("care categories")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "district"], nulls_distinct=False, name="care_category_code"
            ),
            models.CheckConstraint(
                condition=Q(visit_every_days__gte=1), name="care_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class KeyPerson(models.Model):
    """A household (or one person in it) in a care category from ``since`` until ``until``."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="key_persons", verbose_name=_("household")
    )
    category = models.ForeignKey(
        CareCategory,
        on_delete=models.PROTECT,
        related_name="key_persons",
        verbose_name=_("category"),
    )
    # The person, if not the whole household: personal data (masked like names).
    person_name = models.CharField(_("person"), max_length=50, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("key person")
        verbose_name_plural = _("key persons")
        constraints = [
            models.UniqueConstraint(
                fields=["household", "category", "person_name"],
                condition=Q(until__isnull=True),
                name="key_person_once_current",
            ),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=models.F("since")),
                name="key_person_until_after_since",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.category}"


# --- rules and schedules ---------------------------------------------------------------------
class PresenceRule(models.Model):
    """A presence rule of the seeds, as data: a role must be present so many days in a period.

    - ``days_in_place_per_month``: days with a sign-in in the worker's place (Long'an's village
      assistant: 20);
    - ``days_in_villages_per_week``: days with a sign-in in one of the station's villages
      (Qinzhou's station staff: 2);
    - ``duty_days_signed``: every rostered duty day has a sign-in (village cadres: daily duty).
    """

    class Kind(models.TextChoices):
        DAYS_IN_PLACE_PER_MONTH = "days_in_place_per_month", _("days in the place per month")
        DAYS_IN_VILLAGES_PER_WEEK = "days_in_villages_per_week", _("days in the villages per week")
        DUTY_DAYS_SIGNED = "duty_days_signed", _("every duty day signed in")

    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    kind = models.CharField(_("rule"), max_length=30, choices=Kind.choices)
    minimum = models.PositiveSmallIntegerField(_("at least"), default=0)
    district = district_field()
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("presence rule")
        verbose_name_plural = _("presence rules")
        constraints = [
            models.UniqueConstraint(
                fields=["role", "kind", "district"], nulls_distinct=False, name="presence_rule_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.get_kind_display()} {self.minimum}"


class Activity(models.TextChoices):
    """What a day of the weekly schedule is for (Long'an's five-day schedule)."""

    STUDY = "study", pgettext_lazy("schedule", "study")
    VISITS = "visits", pgettext_lazy("schedule", "household visits")
    RECEPTION = "reception", pgettext_lazy("schedule", "receiving residents")
    TRAINING = "training", pgettext_lazy("schedule", "training")
    REPORT = "report", pgettext_lazy("schedule", "report to the town")
    PATROL = "patrol", pgettext_lazy("schedule", "patrol")
    DUTY = "duty", pgettext_lazy("schedule", "duty at the service centre")
    REST = "rest", pgettext_lazy("schedule", "rest")


class ScheduleDay(models.Model):
    """One weekday of a role's weekly schedule template (五日工作制): the field page suggests
    the day's work from it and the presence report compares against it."""

    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    weekday = models.PositiveSmallIntegerField(_("weekday"), help_text=_("0 Monday ... 6 Sunday."))
    activity = models.CharField(_("activity"), max_length=20, choices=Activity.choices)
    # Does the activity happen in the worker's place (counts as a day present)?
    in_place = models.BooleanField(_("in the place"), default=True)
    district = district_field()

    class Meta:
        verbose_name = _("schedule day")
        verbose_name_plural = _("weekly schedule")
        ordering = ["role", "weekday"]
        constraints = [
            models.UniqueConstraint(
                fields=["role", "weekday", "district"], nulls_distinct=False, name="schedule_once"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0) & Q(weekday__lte=6), name="schedule_weekday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.weekday}: {self.get_activity_display()}"
