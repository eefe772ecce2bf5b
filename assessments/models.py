"""Assessments (月考评、季度考核、年考核 and 三评议): schemes of weighted indicators, cycles,
frozen scores, the three-way evaluation and appeals.

- A ``Scheme`` says whom it assesses (a unit level: grid, village, station, town; or the
  holders of a person role: grid leader, village assistant, station head) and is data: its
  ``Indicator`` rows each carry a weight and a formula over named metrics
  (``assessments.metrics``), evaluated safely (simpleeval, never ``eval``).
- A ``Cycle`` applies a scheme to one period (a month, a quarter, a year) in one district (or
  all). While it is open its scores are computed (and recomputed) in one batch; closing it
  freezes them: a database trigger refuses any insert, update or delete of a score of a
  closed cycle, and a closed cycle cannot be reopened (migration 0001).
- A ``Score`` is one subject's result: the metric values and samples used, each indicator's
  score, the weighted total, the rank among peers (only where every indicator had enough
  samples) and the previous cycle's total (the trend).
- ``EvaluationEntry``: the party organisation's and the cadres' scores (0-100), entered on
  forms by those entitled (``assessments.services.may_evaluate``); the residents' part of
  the three-way evaluation is computed from ratings (metric ``residents_rating``).
- ``Appeal``: a reason against a closed score, answered by whoever closed the cycle or a
  district administrator; one open appeal per score.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from grids.models import Role, Worker, district_field


class SubjectLevel(models.TextChoices):
    GRID = "grid", _("grid")
    VILLAGE = "village", _("village")
    STATION = "station", _("station")
    TOWN = "town", _("town")
    PERSON = "person", _("person")


# The person roles a scheme may assess.
PERSON_ROLES = [Role.GRID_LEADER, Role.VILLAGE_ASSISTANT, Role.STATION_HEAD]


class CycleKind(models.TextChoices):
    MONTHLY = "monthly", _("monthly assessment")
    QUARTERLY = "quarterly", _("quarterly assessment")
    YEARLY = "yearly", _("yearly review")


class Scheme(models.Model):
    """What is assessed and how: the indicators (weights and formulas) for one kind of
    subject. ``district`` empty: every district may use it."""

    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("subjects"), max_length=10, choices=SubjectLevel.choices)
    role = models.CharField(
        _("role"),
        max_length=30,
        blank=True,
        choices=[(r.value, r.label) for r in PERSON_ROLES],
        help_text=_("For a scheme of persons: the role whose holders are assessed."),
    )
    kind = models.CharField(
        _("usual cycle"), max_length=10, choices=CycleKind.choices, default=CycleKind.MONTHLY
    )
    district = district_field()
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(level="person") & ~Q(role="")) | (~Q(level="person") & Q(role="")),
                name="scheme_role_for_persons",
            ),
            # The target of the cycles' (scheme, kind) foreign key (migrations/0003): a
            # cycle's kind is its scheme's.
            models.UniqueConstraint(fields=["id", "kind"], name="scheme_id_kind"),
        ]

    def __str__(self) -> str:
        return self.name


class Direction(models.TextChoices):
    HIGHER = "higher", _("higher is better (the formula gives the points)")
    LOWER = "lower", _("lower is better (points = 100 - the formula)")


class Indicator(models.Model):
    """One weighted indicator: ``formula`` over metric names gives points (clamped to
    0-100; ``lower``: 100 minus it). An indicator whose metrics have fewer than
    ``min_samples`` samples for a subject is not assessable for it: it scores nothing and
    its weight is shared among the subject's other indicators (the total is the weighted
    mean over the assessable ones), and the score is marked incomplete (no rank)."""

    scheme = models.ForeignKey(
        Scheme, on_delete=models.CASCADE, related_name="indicators", verbose_name=_("scheme")
    )
    key = models.SlugField(_("key"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=2, validators=[MinValueValidator(0)]
    )
    formula = models.CharField(
        _("formula"),
        max_length=300,
        help_text=_("An expression over metric names, e.g. 100 * case_closure_rate."),
    )
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.HIGHER
    )
    min_samples = models.PositiveIntegerField(_("minimum samples"), default=1)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["scheme", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "key"], name="indicator_key_once"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="indicator_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class CycleState(models.TextChoices):
    OPEN = "open", pgettext_lazy("assessment cycle", "open")
    CLOSED = "closed", pgettext_lazy("assessment cycle", "closed")


MSG_CYCLE_KIND = _("A cycle of this scheme is a %(kind)s, the scheme's period.")


class Cycle(models.Model):
    """A scheme applied to a period (``starts_on``..``ends_on``, both included) in one
    district (or every district). Its ``kind`` is its scheme's (a monthly scheme has monthly
    cycles): ``services.cycle_open`` copies it, ``clean`` says so, and the database holds it
    with a foreign key (scheme, kind) -> the scheme's (id, kind) (``migrations/0003``), so a
    scheme's kind cannot change once it has cycles."""

    scheme = models.ForeignKey(
        Scheme, on_delete=models.PROTECT, related_name="cycles", verbose_name=_("scheme")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=CycleKind.choices)
    district = district_field()
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    state = models.CharField(
        _("state"), max_length=10, choices=CycleState.choices, default=CycleState.OPEN
    )
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )

    class Meta:
        verbose_name = _("assessment cycle")
        verbose_name_plural = _("assessment cycles")
        ordering = ["-starts_on", "scheme"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "district", "starts_on"],
                nulls_distinct=False,
                name="cycle_once_per_period",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="cycle_period_order"
            ),
            models.CheckConstraint(
                condition=(Q(state="open") & Q(closed_at__isnull=True))
                | (Q(state="closed") & Q(closed_at__isnull=False)),
                name="cycle_closed_at_when_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scheme} {self.starts_on:%Y-%m-%d}–{self.ends_on:%Y-%m-%d}"

    def clean(self) -> None:
        scheme = self.scheme if self.scheme_id is not None else None
        if scheme is not None and self.kind != scheme.kind:
            label = CycleKind(scheme.kind).label
            raise ValidationError({"kind": MSG_CYCLE_KIND % {"kind": label}})

    @property
    def is_closed(self) -> bool:
        return self.state == CycleState.CLOSED


class Score(models.Model):
    """One subject's result in a cycle (frozen once the cycle closes)."""

    cycle = models.ForeignKey(
        Cycle, on_delete=models.PROTECT, related_name="scores", verbose_name=_("cycle")
    )
    level = models.CharField(_("level"), max_length=10, choices=SubjectLevel.choices)
    # The unit's code, or for a person the code of the place of their role (grid, village,
    # station): the jurisdiction rule reads it.
    code = models.CharField(_("code"), max_length=15)
    worker = models.ForeignKey(
        Worker,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    name = models.CharField(_("name"), max_length=100)
    place_name = models.CharField(_("place"), max_length=100, blank=True)
    # {metric key: {"value": number or null, "samples": int}}
    metrics = models.JSONField(_("metrics"), default=dict)
    # [{"key", "name", "weight", "formula", "value", "points", "samples", "min_samples",
    #   "assessable"}] in the scheme's order
    indicators = models.JSONField(_("indicators"), default=list)
    total = models.DecimalField(_("total"), max_digits=6, decimal_places=2, null=True, blank=True)
    complete = models.BooleanField(_("every indicator assessable"), default=False)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    previous_total = models.DecimalField(
        _("previous cycle's total"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("assessment score")
        verbose_name_plural = _("assessment scores")
        ordering = ["cycle", "rank", "-total", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "level", "code", "worker"],
                nulls_distinct=False,
                name="score_once_per_subject",
            ),
            models.CheckConstraint(
                condition=Q(level="person", worker__isnull=False)
                | (~Q(level="person") & Q(worker__isnull=True)),
                name="score_worker_for_persons",
            ),
            models.CheckConstraint(
                condition=Q(total__isnull=True) | Q(total__range=(0, 100)),
                name="score_total_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} {self.name}"

    @property
    def trend(self) -> str:
        """``up``, ``down``, ``same`` against the previous cycle, or ``""``."""
        if self.total is None or self.previous_total is None:
            return ""
        if self.total > self.previous_total:
            return "up"
        return "down" if self.total < self.previous_total else "same"


class EvaluationSource(models.TextChoices):
    RESIDENTS = "residents", _("residents")
    PARTY_ORG = "party_org", _("party organisation")
    CADRES = "cadres", _("party members and cadres")


class EvaluationEntry(models.Model):
    """A score of the three-way evaluation entered on a form (party organisation or
    cadres); one per source and person entering it. The residents' part is computed."""

    score = models.ForeignKey(
        Score, on_delete=models.PROTECT, related_name="evaluations", verbose_name=_("score")
    )
    source = models.CharField(
        _("evaluated by"),
        max_length=10,
        choices=[c for c in EvaluationSource.choices if c[0] != EvaluationSource.RESIDENTS],
    )
    value = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("entered by"),
    )
    at = models.DateTimeField(_("entered at"))

    class Meta:
        verbose_name = _("evaluation entry")
        verbose_name_plural = _("evaluation entries")
        ordering = ["score", "source", "at"]
        constraints = [
            models.UniqueConstraint(fields=["score", "source", "by"], name="evaluation_once"),
            models.CheckConstraint(condition=Q(value__lte=100), name="evaluation_range"),
            models.CheckConstraint(
                condition=Q(source__in=["party_org", "cadres"]), name="evaluation_source_entered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score} {self.source} {self.value}"


class Appeal(models.Model):
    """An appeal against a closed score, and its answer (the score itself stays frozen)."""

    score = models.ForeignKey(
        Score, on_delete=models.PROTECT, related_name="appeals", verbose_name=_("score")
    )
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("appealed by"),
    )
    at = models.DateTimeField(_("appealed at"))
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["score", "at"]
        constraints = [
            models.UniqueConstraint(
                fields=["score"],
                condition=Q(answered_at__isnull=True),
                name="appeal_one_open_per_score",
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True)
                | (Q(answered_by__isnull=False) & ~Q(answer="")),
                name="appeal_answer_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score}: {self.reason[:30]}"
