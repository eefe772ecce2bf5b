"""Places, stations and roles of the governance model (see GLOSSARY.md).

Boundary generations
--------------------
As in MapIt, every boundary row (City, District, Town, Village, Grid) is one *version* of a
place: valid from ``generation_low`` to ``generation_high`` inclusive, or still current when
``generation_high`` is NULL. The ``code`` (GB/T 2260 / statistical code) is the stable logical
identity across generations. A re-import that changes a boundary closes the old row and adds
a new one (see ``grids.services.boundary_supersede``), so anything recorded against the old row
(an incident routed to a grid, say) keeps pointing at the geometry that was true then. The
database refuses two rows with one code in one generation (an exclusion constraint over
``int8range(generation_low, generation_high)``). Lookups use ``.current()`` unless told a
generation.

Derived figures (households, population) are never stored on a boundary: selectors annotate
them from the households, whose grid is itself derived from their location.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db.models import F, Func, Q, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridmap.crypto import EncryptedCharField, KeyedHashField

SRID = settings.GRIDMAP_SRID


class Generation(models.Model):
    """One import generation of boundaries; the newest is the current one."""

    description = models.CharField(_("description"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("generation")
        verbose_name_plural = _("generations")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id}: {self.description}"

    @classmethod
    def current(cls) -> Generation | None:
        return cls.objects.order_by("-id").first()


class GenerationRange(Func):
    """``int8range(generation_low, generation_high, '[]')``; NULL upper bound = still current."""

    function = "int8range"
    output_field = models.Field()

    def __init__(self) -> None:
        super().__init__(F("generation_low"), F("generation_high"), Value("[]"))


class BoundaryQuerySet(models.QuerySet):
    def current(self) -> BoundaryQuerySet:
        return self.filter(generation_high__isnull=True)

    def at_generation(self, generation: int | Generation | None) -> BoundaryQuerySet:
        """Rows valid in ``generation`` (the current ones when it is None)."""
        if generation is None:
            return self.current()
        gid = generation.pk if isinstance(generation, Generation) else int(generation)
        return self.filter(
            Q(generation_low__lte=gid),
            Q(generation_high__isnull=True) | Q(generation_high__gte=gid),
        )


def boundary_constraints(model: str, code_regex: str) -> list:
    return [
        models.CheckConstraint(condition=Q(code__regex=code_regex), name=f"{model}_code_format"),
        models.CheckConstraint(condition=Q(geom__isvalid=True), name=f"{model}_geom_valid"),
        models.CheckConstraint(
            condition=Q(generation_high__isnull=True) | Q(generation_high__gte=F("generation_low")),
            name=f"{model}_generation_order",
        ),
        ExclusionConstraint(
            name=f"{model}_code_unique_per_generation",
            expressions=[
                ("code", RangeOperators.EQUAL),
                (GenerationRange(), RangeOperators.OVERLAPS),
            ],
        ),
    ]


class Boundary(models.Model):
    """Abstract versioned boundary: a code, a name, a MultiPolygon and a generation range."""

    code = models.CharField(_("code"), max_length=15, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    geom = models.MultiPolygonField(_("boundary"), srid=SRID)
    generation_low = models.ForeignKey(
        Generation, on_delete=models.PROTECT, related_name="+", verbose_name=_("first generation")
    )
    generation_high = models.ForeignKey(
        Generation,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("last generation"),
        help_text=_("Empty while the boundary is current."),
    )

    objects = BoundaryQuerySet.as_manager()

    # The foreign key to the parent level, or None at the top.
    parent_field: str | None = None

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_current(self) -> bool:
        return self.generation_high_id is None

    @property
    def parent(self) -> Boundary | None:
        return getattr(self, self.parent_field) if self.parent_field else None


class City(Boundary):
    """Prefecture-level city (地级市), e.g. 450700 钦州市; code ends in 00."""

    class Meta(Boundary.Meta):
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        constraints = boundary_constraints("city", r"^\d{4}00$")


class District(Boundary):
    """County-level district or county (区 / 县), 6-digit GB/T 2260 code."""

    city = models.ForeignKey(
        City,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="districts",
        verbose_name=_("city"),
    )
    parent_field = "city"

    class Meta(Boundary.Meta):
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        constraints = boundary_constraints("district", r"^\d{4}(0[1-9]|[1-9]\d)$")


def district_field() -> models.ForeignKey:
    """A rule's or a catalogue row's district, empty = every district (a district's own row
    replaces the global one where both exist): the one declaration of the assessments'
    schemes and cycles, the service catalogue's items and presence's care categories, rules
    and schedule days. A district in use cannot be deleted (``PROTECT``)."""
    return models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("district"),
    )


class Town(Boundary):
    """Town, township or street (镇 / 乡 / 街道), 9-digit code = district code + 3."""

    class Kind(models.TextChoices):
        TOWN = "town", pgettext_lazy("kind of town", "town")
        TOWNSHIP = "township", pgettext_lazy("kind of town", "township")
        STREET = "street", pgettext_lazy("kind of town", "street")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TOWN)
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="towns", verbose_name=_("district")
    )
    parent_field = "district"

    class Meta(Boundary.Meta):
        verbose_name = _("town")
        verbose_name_plural = _("towns")
        constraints = boundary_constraints("town", r"^\d{9}$")


class Village(Boundary):
    """Administrative village or community (村 / 社区), 12-digit code = town code + 3."""

    class Kind(models.TextChoices):
        VILLAGE = "village", pgettext_lazy("kind of village", "village")
        COMMUNITY = "community", pgettext_lazy("kind of village", "community")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.VILLAGE)
    town = models.ForeignKey(
        Town, on_delete=models.PROTECT, related_name="villages", verbose_name=_("town")
    )
    parent_field = "town"

    class Meta(Boundary.Meta):
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        constraints = boundary_constraints("village", r"^\d{12}$")


class Grid(Boundary):
    """Grid (网格), the smallest management unit: code = village code + 3-digit sequence."""

    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, related_name="grids", verbose_name=_("village")
    )
    parent_field = "village"

    class Meta(Boundary.Meta):
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        constraints = boundary_constraints("grid", r"^\d{15}$")

    @property
    def sequence(self) -> str:
        return self.code[12:]


BOUNDARY_MODELS: dict[str, type[Boundary]] = {
    "city": City,
    "district": District,
    "town": Town,
    "village": Village,
    "grid": Grid,
}


class Building(models.Model):
    """Building (楼栋) footprint. Not versioned: its grid is derived from where it stands."""

    # The county's building number (建筑编号), the stable key of its records (imports);
    # empty for a building drawn here and never imported.
    code = models.CharField(_("building number"), max_length=40, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=100)
    footprint = models.PolygonField(_("footprint"), srid=SRID)
    grid = models.ForeignKey(
        Grid,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="buildings",
        verbose_name=_("grid"),
        help_text=_("Derived from the footprint's location."),
    )
    floors = models.PositiveSmallIntegerField(_("floors"), default=1)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [
            models.CheckConstraint(
                condition=Q(footprint__isvalid=True), name="building_geom_valid"
            ),
            models.CheckConstraint(condition=Q(floors__gte=1), name="building_floors_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class ServiceCentre(models.Model):
    """A party-mass service centre (党群服务中心) for the 15-minute service circle."""

    # The county's code for the centre, the stable key of its records (imports).
    code = models.CharField(_("code"), max_length=40, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=100)
    location = models.PointField(_("location"), srid=SRID)
    village = models.ForeignKey(
        Village,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="service_centres",
        verbose_name=_("village"),
    )
    # The centre's public phone (shown to residents with the duty roster): not a person's.
    # (db_default: the imports insert centres in SQL.)
    phone = models.CharField(
        _("public phone"), max_length=20, blank=True, default="", db_default=""
    )

    class Meta:
        verbose_name = _("service centre")
        verbose_name_plural = _("service centres")

    def __str__(self) -> str:
        return self.name


class Station(models.Model):
    """Party-building work station (党建工作站) between a town and 3-7 of its villages."""

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    location = models.PointField(_("location"), srid=SRID)
    town = models.ForeignKey(
        Town, on_delete=models.PROTECT, related_name="stations", verbose_name=_("town")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    retired_on = models.DateField(
        _("retired on"),
        null=True,
        blank=True,
        help_text=_(
            "Set when a published catchment plan retires the station; it then holds no "
            "villages from this day on."
        ),
    )

    class Meta:
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^\d{9}S\d{2}$"), name="station_code_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


def _period_active_on(day: dt.date) -> Q:
    return Q(period__contains=day)


class DatedQuerySet(models.QuerySet):
    def active(self, on: dt.date | None = None) -> DatedQuerySet:
        """Rows whose period contains ``on`` (today, in the site's time zone, when omitted)."""
        return self.filter(_period_active_on(on or timezone.localdate()))


class CatchmentAssignment(models.Model):
    """Village -> station for a period: a station's catchment is its active assignments."""

    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        related_name="catchment_assignments",
        verbose_name=_("village"),
    )
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        related_name="catchment_assignments",
        verbose_name=_("station"),
    )
    period = DateRangeField(
        _("period"), help_text=_("From (inclusive) to (exclusive; empty = open).")
    )

    objects = DatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("catchment assignment")
        verbose_name_plural = _("catchment assignments")
        constraints = [
            ExclusionConstraint(
                name="catchment_one_station_per_village",
                expressions=[
                    ("village", RangeOperators.EQUAL),
                    ("period", RangeOperators.OVERLAPS),
                ],
            ),
            models.CheckConstraint(
                condition=Q(period__startswith__isnull=False), name="catchment_period_has_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village} -> {self.station}"


class Worker(models.Model):
    """A person who holds roles in the governance network; may have a login."""

    name = models.CharField(_("name"), max_length=50)
    # Encrypted at rest (gridmap.crypto): a central household's worker carries its household's
    # phone, a resident's. Staff phones are encrypted alike (one rule for the column).
    phone = EncryptedCharField(_("phone"), max_length=20, blank=True)
    # The stable key of the workers import (a worker is found by phone); not unique in the
    # database, as a central household's worker shares its household's phone.
    # (db_default: the demo and the party-member import insert workers in SQL.)
    phone_hash = KeyedHashField(source="phone", default="", db_default="")
    id_number = EncryptedCharField(
        _("ID number"), max_length=18, blank=True, default="", db_default=""
    )
    id_number_hash = KeyedHashField(source="id_number", default="", db_default="")
    email = models.EmailField(_("email"), blank=True)
    # The person's user id in the organisation's WeChat Work (企业微信 "账号"), for application
    # messages (inbox.channels.WeComChannel); empty: not reached there.
    # (db_default: the demo and the party-member import insert workers in SQL.)
    wecom_userid = models.CharField(
        _("WeChat Work user id"), max_length=64, blank=True, default="", db_default=""
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="worker",
        verbose_name=_("login"),
    )
    is_party_member = models.BooleanField(_("party member"), default=False)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    GRID_LEADER = "grid_leader", _("grid leader")
    GRID_MEMBER = "grid_member", _("grid member")
    PARTY_GUIDE = "party_guide", _("party-building guide")
    VILLAGE_SECRETARY = "village_secretary", _("village party secretary")
    MEDIATION_DIRECTOR = "mediation_director", _("village mediation director")
    MEDIATION_TEAM = "mediation_team", _("village mediation team member")
    # The village team a yellow case reaches (Xiangzhou: resident lawyer, village auxiliary
    # police, village party secretary), each a dated role on the village.
    VILLAGE_LAWYER = "village_lawyer", _("village legal adviser")
    AUXILIARY_POLICE = "auxiliary_police", _("village auxiliary police officer")
    # Long'an's resident assistant (一村一站一助理): in the village at least 20 days a month,
    # signs in daily, handles residents' matters for them (issue 14's presence rules).
    VILLAGE_ASSISTANT = "village_assistant", _("village assistant")
    STATION_HEAD = "station_head", _("station head")
    STATION_DEPUTY = "station_deputy", _("station deputy")
    STATION_WORKER = "station_worker", _("full-time station worker")
    # Signs close-outs (销号) for the station head while the assignment runs (a dated
    # RoleAssignment on the station: who delegated to whom, from when to when).
    STATION_HEAD_DELEGATE = "station_head_delegate", _("station head's delegate for close-out")
    TOWN_DISPATCHER = "town_dispatcher", _("town platform dispatcher")
    # Who is on duty at the town for red cases round the clock: a dated assignment on the
    # town (one holder a day; a day's duty is a period of one day). Issue 14 brings rosters.
    TOWN_DUTY_OFFICER = "town_duty_officer", _("town on-duty officer")


# Which place each role is held on.
GRID_ROLES = [Role.GRID_LEADER, Role.GRID_MEMBER, Role.PARTY_GUIDE]
VILLAGE_ROLES = [
    Role.VILLAGE_SECRETARY,
    Role.MEDIATION_DIRECTOR,
    Role.MEDIATION_TEAM,
    Role.VILLAGE_LAWYER,
    Role.AUXILIARY_POLICE,
    Role.VILLAGE_ASSISTANT,
]
STATION_ROLES = [
    Role.STATION_HEAD,
    Role.STATION_DEPUTY,
    Role.STATION_WORKER,
    Role.STATION_HEAD_DELEGATE,
]
TOWN_ROLES = [Role.TOWN_DISPATCHER, Role.TOWN_DUTY_OFFICER]
# Roles of which a place has at most one holder at any date.
SINGLE_HOLDER_ROLES = [
    Role.GRID_LEADER,
    Role.PARTY_GUIDE,
    Role.VILLAGE_SECRETARY,
    Role.MEDIATION_DIRECTOR,
    Role.STATION_HEAD,
    Role.TOWN_DUTY_OFFICER,
]


def _scope_check(roles: list[Role], field: str) -> Q:
    others = [f for f in ("grid", "village", "station", "town") if f != field]
    return ~Q(role__in=roles) | (
        Q(**{f"{field}__isnull": False}) & Q(**{f"{o}__isnull": True for o in others})
    )


class RoleAssignment(models.Model):
    """A worker holding a role on a grid, village, station or town for a period."""

    worker = models.ForeignKey(
        Worker, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("worker")
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    grid = models.ForeignKey(
        Grid,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_assignments",
        verbose_name=_("grid"),
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_assignments",
        verbose_name=_("village"),
    )
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_assignments",
        verbose_name=_("station"),
    )
    town = models.ForeignKey(
        Town,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_assignments",
        verbose_name=_("town"),
    )
    period = DateRangeField(
        _("period"), help_text=_("From (inclusive) to (exclusive; empty = open).")
    )

    objects = DatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.CheckConstraint(
                condition=_scope_check(GRID_ROLES, "grid"), name="role_grid_scope"
            ),
            models.CheckConstraint(
                condition=_scope_check(VILLAGE_ROLES, "village"), name="role_village_scope"
            ),
            models.CheckConstraint(
                condition=_scope_check(STATION_ROLES, "station"), name="role_station_scope"
            ),
            models.CheckConstraint(
                condition=_scope_check(TOWN_ROLES, "town"), name="role_town_scope"
            ),
            models.CheckConstraint(
                condition=Q(period__startswith__isnull=False), name="role_period_has_start"
            ),
            *[
                ExclusionConstraint(
                    name=f"role_one_{scope}_holder",
                    expressions=[
                        (scope, RangeOperators.EQUAL),
                        ("role", RangeOperators.EQUAL),
                        ("period", RangeOperators.OVERLAPS),
                    ],
                    condition=Q(role__in=SINGLE_HOLDER_ROLES, **{f"{scope}__isnull": False}),
                )
                for scope in ("grid", "village", "station", "town")
            ],
        ]

    def __str__(self) -> str:
        return f"{self.worker} · {self.get_role_display()}"

    @property
    def place(self) -> Grid | Village | Station | Town | None:
        return self.grid or self.village or self.station or self.town
