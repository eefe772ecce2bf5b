"""The collections of the OGC API: one per layer, each with the jurisdiction rule of the
app's own API and the properties that API shows.

A ``Collection`` knows its rows (``rows(user, generation)``: a queryset already limited to
what the viewer may see), its key (the feature id and the keyset paging order), the
properties to read (``fields``: property name -> ORM path) and a last touch in Python
(``finish``: the households' masking, the incidents' traffic light).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.selectors import boundary_scope_q, can_see_personal_data, scope_q
from cases.deadlines import traffic_light
from gridmap import personal_data
from gridmap.codes import CODE_LENGTH, Level
from grids.models import BOUNDARY_MODELS, Building, Grid, ServiceCentre, Station
from households.models import Household
from incidents.selectors import incidents_visible_to

Rows = Callable[[Any, "int | None"], QuerySet]
Finish = Callable[[list[dict[str, Any]], Any], None]


@dataclass(frozen=True)
class Collection:
    """One layer of the OGC API."""

    id: str
    title: Promise
    description: Promise
    rows: Rows
    geom: str
    geometry_type: str  # GeoJSON type of every feature: "MultiPolygon", "Polygon", "Point"
    key: str  # the feature id: "code" (text) or "id" (integer)
    fields: dict[str, str]
    # numberMatched is counted only where that is cheap (the boundaries, stations, centres).
    count_matched: bool = True
    # Boundaries come in generations: ``generation=<id>`` reads an older one.
    versioned: bool = False
    finish: Finish | None = None
    # The extent: of the rows themselves, or (for large point layers) of the viewer's grids.
    extent_of_grids: bool = False
    # The field ``datetime`` filters on (None: the collection has no time).
    temporal: str | None = None
    property_types: dict[str, str] = field(default_factory=dict)

    @property
    def integer_key(self) -> bool:
        return self.key == "id"


def _filtered(qs: QuerySet, scope: Q | None) -> QuerySet:
    return qs if scope is None else qs.filter(scope)


def _boundary_rows(level: str) -> Rows:
    """The boundaries of ``level`` at a generation (the current one by default) that the
    layers API shows the viewer: inside the jurisdiction, and the outlines that contain it."""
    model = BOUNDARY_MODELS[level]

    def rows(user: Any, generation: int | None) -> QuerySet:
        qs = model.objects.at_generation(generation)
        return _filtered(qs, boundary_scope_q(user, CODE_LENGTH[level]))

    return rows


def _boundary(level: str, collection_id: str, title: Promise, description: Promise) -> Collection:
    model = BOUNDARY_MODELS[level]
    fields = {"code": "code", "name": "name", "generation": "generation_low_id"}
    if model.parent_field:
        fields[f"{model.parent_field}_code"] = f"{model.parent_field}__code"
    if level in ("town", "village"):
        fields["kind"] = "kind"
    return Collection(
        id=collection_id,
        title=title,
        description=description,
        rows=_boundary_rows(level),
        geom="geom",
        geometry_type="MultiPolygon",
        key="code",
        fields=fields,
        versioned=True,
    )


def _station_rows(user: Any, generation: int | None) -> QuerySet:
    # As the stations layer: those of the towns the viewer sees.
    scope = boundary_scope_q(user, CODE_LENGTH[Level.TOWN], "town__code")
    return _filtered(Station.objects.all(), scope)


def _centre_rows(user: Any, generation: int | None) -> QuerySet:
    return _filtered(ServiceCentre.objects.all(), scope_q(user, "village__code"))


def _building_rows(user: Any, generation: int | None) -> QuerySet:
    return _filtered(Building.objects.all(), scope_q(user, "grid__code"))


def _household_rows(user: Any, generation: int | None) -> QuerySet:
    qs = Household.objects.annotate(central_household_pk=F("central_household__id"))
    return _filtered(qs, scope_q(user, "grid__code"))


def _mask_households(rows: list[dict[str, Any]], user: Any) -> None:
    """The households API's masking rule (``gridmap.personal_data.show``, which also logs an
    unmasked view): ID numbers and phones only for the roles that visit households."""
    visible = can_see_personal_data(user)
    for row in rows:
        for kind in personal_data.FIELDS:
            row[kind] = personal_data.show(
                row[kind],
                kind=kind,
                visible=visible,
                record_type="household",
                record_id=row["id"],
                code=row["grid"],
            )
        row["is_central_household"] = row["central_household"] is not None


def _incident_rows(user: Any, generation: int | None) -> QuerySet:
    return incidents_visible_to(user)


# Read for the traffic light only, not shown.
_LIGHT_FIELDS = ("resolved_at", "calendar_clock")


def _incident_lights(rows: list[dict[str, Any]], user: Any) -> None:
    now = timezone.now()
    for row in rows:
        case = SimpleNamespace(**row)
        row["traffic_light"] = traffic_light(case, now)  # type: ignore[arg-type]
        for name in _LIGHT_FIELDS:
            del row[name]


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        _boundary(
            "district",
            "districts",
            _("Districts"),
            _("County-level districts (current boundary generation)."),
        ),
        _boundary("town", "towns", _("Towns"), _("Towns and streets (current generation).")),
        _boundary(
            "village",
            "villages",
            _("Villages"),
            _("Villages and communities (current generation)."),
        ),
        _boundary("grid", "grids", _("Grids"), _("Grids (current generation).")),
        Collection(
            id="stations",
            title=_("Stations"),
            description=_("Party-building work stations."),
            rows=_station_rows,
            geom="location",
            geometry_type="Point",
            key="code",
            fields={
                "code": "code",
                "name": "name",
                "town_code": "town__code",
                "address": "address",
                "retired_on": "retired_on",
            },
        ),
        Collection(
            id="service-centres",
            title=_("Service centres"),
            description=_("Party-mass service centres of the 15-minute service circle."),
            rows=_centre_rows,
            geom="location",
            geometry_type="Point",
            key="id",
            fields={
                "id": "id",
                "code": "code",
                "name": "name",
                "village_code": "village__code",
                "phone": "phone",
            },
        ),
        Collection(
            id="buildings",
            title=_("Buildings"),
            description=_("Building footprints."),
            rows=_building_rows,
            geom="footprint",
            geometry_type="Polygon",
            key="id",
            fields={
                "id": "id",
                "code": "code",
                "name": "name",
                "floors": "floors",
                "grid_code": "grid__code",
            },
            count_matched=False,
            extent_of_grids=True,
        ),
        Collection(
            id="households",
            title=pgettext_lazy("collection of the OGC API", "Households"),
            description=_(
                "Households as points. ID numbers and phones are masked unless your role "
                "visits households."
            ),
            rows=_household_rows,
            geom="location",
            geometry_type="Point",
            key="id",
            fields={
                "id": "id",
                "address": "address",
                "grid": "grid__code",
                "size": "size",
                "tags": "tags",
                "head_name": "head_name",
                "id_number": "id_number",
                "phone": "phone",
                "ten_household_unit": "ten_household_unit_id",
                "central_household": "central_household_pk",
            },
            count_matched=False,
            finish=_mask_households,
            extent_of_grids=True,
        ),
        Collection(
            id="incidents",
            title=_("Incidents"),
            description=_("Incidents with their severity, state, category and deadlines."),
            rows=_incident_rows,
            geom="location",
            geometry_type="Point",
            key="id",
            fields={
                "id": "id",
                "category": "category__code",
                "category_name_zh": "category__name_zh",
                "category_name_en": "category__name_en",
                "severity": "severity",
                "status": "status",
                "description": "description",
                "reported_at": "reported_at",
                "grid_code": "grid__code",
                "responsible_level": "responsible_level",
                "owner_level": "owner_level",
                "owner_code": "owner_code",
                "acknowledge_due_at": "acknowledge_due_at",
                "resolve_due_at": "resolve_due_at",
                "onsite_due_at": "onsite_due_at",
                **{name: name for name in _LIGHT_FIELDS},
            },
            count_matched=False,
            finish=_incident_lights,
            extent_of_grids=True,
            temporal="reported_at",
        ),
    )
}


def grids_extent_rows(user: Any) -> QuerySet:
    """The current grids inside the viewer's jurisdiction (the extent of the point layers)."""
    return _filtered(Grid.objects.at_generation(None), scope_q(user, "code"))
