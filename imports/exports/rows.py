"""The rows of each kind, streamed: which (``Scope``: area, jurisdiction) and their values
as the import reads them, personal fields masked or not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import reduce
from operator import and_
from typing import Any

from django.contrib.gis.db.models.functions import AsWKB, AsWKT, Centroid
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone, translation

from gridmap.jurisdiction import boundary_scope_q, scope_q
from gridmap.personal_data import mask_id_number, mask_phone
from grids.importers import KIND_WORDS
from grids.models import (
    Building,
    CatchmentAssignment,
    City,
    District,
    Grid,
    Role,
    RoleAssignment,
    ServiceCentre,
    Station,
    Town,
    Village,
    Worker,
)
from grids.selectors import ASSIGNMENT_PLACE_CODE
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    Tag,
    TenHouseholdUnit,
)
from presence.models import DutyShift
from servicedesk.models import ApprovingLevel, ServiceItem, ServiceKind

from .spec import BOUNDARY_LEVELS, MSG_UNKNOWN_AREA, ExportError

# Rows fetched from the database at a time (a server-side cursor).
CHUNK = 2000
# The language of the values the import reads: tags and roles by their Chinese names.
VALUE_LANGUAGE = "zh-hans"
# Between the member households' codes of a ten-household unit.
LIST_SEPARATOR = "、"

BOUNDARY_MODELS: dict[str, type] = {
    "cities": City,
    "districts": District,
    "towns": Town,
    "villages": Village,
    "grids": Grid,
}
# The level as import_boundaries names it.
LEVEL_NAMES = {
    "cities": "city",
    "districts": "district",
    "towns": "town",
    "villages": "village",
    "grids": "grid",
}
CODE_LENGTHS = {"districts": 6, "towns": 9, "villages": 12, "grids": 15}


def _cities(qs: QuerySet, scope: Scope) -> QuerySet:
    """The cities of the scope: a city (450700) holds the codes that start with its first four
    digits (4507), so a place is in the city ``place[:4] + "00"``."""
    if scope.area:
        qs = qs.filter(code=scope.area[:4] + "00")
    if scope.prefixes is not None:
        qs = qs.filter(code__in=sorted({p[:4] + "00" for p in scope.prefixes if len(p) >= 4}))
    return qs


# --- Which rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The rows asked for: inside ``area`` (a code prefix) and the ``prefixes`` of a user's
    jurisdiction (None: no restriction), personal fields ``visible`` or masked."""

    area: str | None
    prefixes: list[str] | None
    visible: bool

    def q(self, code_path: str) -> Q | None:
        """Rows whose place code (at ``code_path``) lies inside the scope; None: all rows."""
        parts = [
            q
            for q in (
                scope_q([self.area], code_path) if self.area else None,
                scope_q(self.prefixes, code_path),
            )
            if q is not None
        ]
        return reduce(and_, parts) if parts else None

    def filter(self, qs: QuerySet, code_path: str) -> QuerySet:
        q = self.q(code_path)
        return qs if q is None else qs.filter(q)

    def id_number(self, value: str | None) -> str:
        return (value or "") if self.visible else mask_id_number(value or "")

    def phone(self, value: str | None, *, resident: bool = True) -> str:
        if self.visible or not resident:
            return value or ""
        return mask_phone(value or "")


def area_prefix(area: str) -> str:
    """The code prefix of a boundary: a city code (450700) stands for its districts (4507).
    Raises ``ExportError`` for a code no current boundary has."""
    area = area.strip()
    if City.objects.current().filter(code=area).exists():
        return area[:-2] if area.endswith("00") else area
    for model in BOUNDARY_MODELS.values():
        if model.objects.current().filter(code=area).exists():
            return area
    raise ExportError(MSG_UNKNOWN_AREA, area=area)


# --- Rows of each kind ------------------------------------------------------------------------

# A row: its values by column key, and the geometry as WKB (None for a table).
Row = tuple[dict[str, Any], bytes | None]


class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _last_day(period: Any) -> str:
    """The last day of a ``[start, end)`` period as ISO text; empty for an open period."""
    if period is None or period.upper is None:
        return ""
    upper = period.upper
    return _iso(upper if period.upper_inc else upper - dt.timedelta(days=1))


def _first_day(period: Any) -> str:
    if period is None or period.lower is None:
        return ""
    lower = period.lower
    return _iso(lower if period.lower_inc else lower + dt.timedelta(days=1))


def _stream(qs: QuerySet, fields: list[str]) -> Iterator[dict[str, Any]]:
    for values in qs.values_list(*fields).iterator(chunk_size=CHUNK):
        yield dict(zip(fields, values, strict=True))


def _wkb(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _labels(choices: Any) -> dict[str, str]:
    """Value -> Chinese label of a TextChoices (what the import reads)."""
    with translation.override(VALUE_LANGUAGE):
        return {c.value: str(c.label) for c in choices}


def _resident_worker() -> Exists:
    """The worker is a resident party member (a central household's worker carries the
    household's phone: a resident's, masked)."""
    return Exists(PartyMember.objects.filter(worker=OuterRef("pk")))


def buildings_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    centre = Centroid("footprint")
    qs = scope.filter(Building.objects.all(), "grid__code").annotate(
        lon=_X(centre), lat=_Y(centre), wkt=AsWKT("footprint")
    )
    fields = ["code", "name", "lon", "lat", "floors", "wkt"]
    if geometry:
        qs = qs.annotate(wkb=AsWKB("footprint"))
        fields.append("wkb")
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "code": r["code"] or "",
            "name": r["name"],
            "address": r["name"],
            "lon": r["lon"],
            "lat": r["lat"],
            "floors": r["floors"],
            "footprint": r["wkt"],
        }
        yield values, _wkb(r.get("wkb"))


def households_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    tags = _labels(Tag)
    qs = scope.filter(Household.objects.all(), "grid__code").annotate(
        lon=_X("location"), lat=_Y("location")
    )
    fields = [
        "code",
        "head_name",
        "id_number",
        "phone",
        "address",
        "size",
        "tags",
        "lon",
        "lat",
        "building__code",
    ]
    if geometry:
        qs = qs.annotate(wkb=AsWKB("location"))
        fields.append("wkb")
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "code": r["code"] or "",
            "head_name": r["head_name"],
            "id_number": scope.id_number(r["id_number"]),
            "phone": scope.phone(r["phone"]),
            "address": r["address"],
            "size": r["size"],
            "tags": ",".join(tags.get(t, t) for t in r["tags"] or []),
            "lon": r["lon"],
            "lat": r["lat"],
            "building_code": r["building__code"] or "",
        }
        yield values, _wkb(r.get("wkb"))


def _workers_q(scope: Scope) -> Q | None:
    """Workers inside the scope: one of their roles (any period) is held there, or the party
    member they are lives there."""
    roles_q = scope.q("place_code")
    if roles_q is None:
        return None
    roles = RoleAssignment.objects.annotate(place_code=ASSIGNMENT_PLACE_CODE).filter(
        roles_q, worker=OuterRef("pk")
    )
    members = scope.filter(
        PartyMember.objects.filter(worker=OuterRef("pk")), "household__grid__code"
    )
    return Q(Exists(roles)) | Q(Exists(members))


def workers_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = Worker.objects.annotate(resident=_resident_worker())
    q = _workers_q(scope)
    if q is not None:
        qs = qs.filter(q)
    fields = ["name", "phone", "id_number", "email", "is_party_member", "resident"]
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "name": r["name"],
            "phone": scope.phone(r["phone"], resident=r["resident"]),
            "id_number": scope.id_number(r["id_number"]),
            "email": r["email"],
            "party_member": "是" if r["is_party_member"] else "否",
        }
        yield values, None


def roles_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    roles = _labels(Role)
    resident = Exists(PartyMember.objects.filter(worker=OuterRef("worker")))
    qs = RoleAssignment.objects.annotate(place_code=ASSIGNMENT_PLACE_CODE, resident=resident)
    qs = scope.filter(qs, "place_code")
    fields = ["worker__phone", "worker__name", "role", "place_code", "period", "resident"]
    for r in _stream(qs.order_by("place_code", "role", "period", "pk"), fields):
        values = {
            "phone": scope.phone(r["worker__phone"], resident=r["resident"]),
            "name": r["worker__name"],
            "role": roles.get(r["role"], r["role"]),
            "place_code": r["place_code"],
            "start": _first_day(r["period"]),
            "end": _last_day(r["period"]),
        }
        yield values, None


def stations_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(Station.objects.all(), "code").annotate(
        lon=_X("location"), lat=_Y("location")
    )
    fields = ["code", "name", "town__code", "address", "lon", "lat"]
    if geometry:
        qs = qs.annotate(wkb=AsWKB("location"))
        fields.append("wkb")
    for r in _stream(qs.order_by("code"), fields):
        values = {
            "code": r["code"],
            "name": r["name"],
            "town_code": r["town__code"],
            "address": r["address"],
            "lon": r["lon"],
            "lat": r["lat"],
        }
        yield values, _wkb(r.get("wkb"))


def catchments_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    """One row per current village: the assignment in force today, else the latest one. (The
    import takes a village once a file and ends its previous station the day before the
    row's start, so a file of its whole history would be refused; the history stays here.)"""
    today = timezone.localdate()
    qs = scope.filter(
        CatchmentAssignment.objects.filter(village__generation_high__isnull=True),
        "village__code",
    ).annotate(in_force=ExpressionWrapper(Q(period__contains=today), output_field=BooleanField()))
    qs = qs.order_by("village__code", "-in_force", "-period", "-pk").distinct("village__code")
    fields = ["village__code", "station__code", "period"]
    for r in _stream(qs, fields):
        values = {
            "village_code": r["village__code"],
            "station_code": r["station__code"],
            "start": _first_day(r["period"]),
        }
        yield values, None


def party_branches_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(PartyBranch.objects.all(), "village__code")
    for r in _stream(qs.order_by("pk"), ["code", "name", "village__code"]):
        values = {"code": r["code"] or "", "name": r["name"], "village_code": r["village__code"]}
        yield values, None


def party_members_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(PartyMember.objects.all(), "household__grid__code")
    fields = ["household__code", "name", "branch__code", "joined_on", "worker__phone"]
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "household_code": r["household__code"] or "",
            "name": r["name"],
            "branch_code": r["branch__code"] or "",
            "joined_on": _iso(r["joined_on"]),
            "phone": scope.phone(r["worker__phone"]),
        }
        yield values, None


def central_households_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(CentralHousehold.objects.all(), "household__grid__code").annotate(
        same=ExpressionWrapper(
            Q(party_member__household_id=F("household_id")), output_field=BooleanField()
        )
    )
    fields = [
        "household__code",
        "party_member__name",
        "party_member__household__code",
        "same",
        "designated_on",
    ]
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "household_code": r["household__code"] or "",
            "member_name": r["party_member__name"],
            "member_household_code": (
                "" if r["same"] else r["party_member__household__code"] or ""
            ),
            "designated_on": _iso(r["designated_on"]),
        }
        yield values, None


def service_centres_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(ServiceCentre.objects.all(), "village__code").annotate(
        lon=_X("location"), lat=_Y("location")
    )
    fields = ["code", "name", "village__code", "lon", "lat"]
    if geometry:
        qs = qs.annotate(wkb=AsWKB("location"))
        fields.append("wkb")
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "code": r["code"] or "",
            "name": r["name"],
            "village_code": r["village__code"] or "",
            "lon": r["lon"],
            "lat": r["lat"],
        }
        yield values, _wkb(r.get("wkb"))


def ten_household_units_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    members = (
        Household.objects.filter(ten_household_unit=OuterRef("pk"), code__isnull=False)
        .order_by()
        .values("ten_household_unit")
        .annotate(codes=StringAgg("code", LIST_SEPARATOR, order_by="code"))
        .values("codes")
    )
    qs = scope.filter(TenHouseholdUnit.objects.all(), "grid__code").annotate(
        member_codes=Subquery(members)
    )
    fields = ["head_household__code", "name", "central_household__household__code", "member_codes"]
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "head_household_code": r["head_household__code"] or "",
            "name": r["name"],
            "central_household_code": r["central_household__household__code"] or "",
            "member_codes": r["member_codes"] or "",
        }
        yield values, None


def duty_shifts_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    spans = _labels(DutyShift.Span)
    resident = Exists(PartyMember.objects.filter(worker=OuterRef("worker")))
    qs = DutyShift.objects.annotate(
        place_code=Coalesce("village__code", "station__code", "town__code"), resident=resident
    )
    qs = scope.filter(qs, "place_code")
    fields = ["place_code", "date", "worker__phone", "worker__name", "span", "note", "resident"]
    for r in _stream(qs.order_by("place_code", "date", "span", "pk"), fields):
        values = {
            "place_code": r["place_code"],
            "date": _iso(r["date"]),
            "phone": scope.phone(r["worker__phone"], resident=r["resident"]),
            "name": r["worker__name"],
            "span": spans.get(r["span"], r["span"]),
            "note": r["note"],
        }
        yield values, None


def service_items_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    """The service catalogue: a district's items by its code; the items of every district
    (no district code) only when neither filter is given."""
    kinds, levels = _labels(ServiceKind), _labels(ApprovingLevel)
    qs = scope.filter(ServiceItem.objects.all(), "district__code")
    fields = [
        "code", "name", "kind", "approving_level", "office", "conditions", "materials",
        "steps", "fees", "legal_basis", "promised_days", "at_village", "district__code",
    ]  # fmt: skip
    for r in _stream(qs.order_by("district__code", "kind", "sort_order", "code", "pk"), fields):
        values = {key: r[key] for key in fields[:-1]}
        values["kind"] = kinds.get(r["kind"], r["kind"])
        values["approving_level"] = levels.get(r["approving_level"], r["approving_level"])
        values["at_village"] = "是" if r["at_village"] else "否"
        values["district_code"] = r["district__code"] or ""
        yield values, None


def boundary_rows(level: str) -> Callable[[Scope, bool], Iterator[Row]]:
    model = BOUNDARY_MODELS[level]

    def rows(scope: Scope, geometry: bool) -> Iterator[Row]:
        qs = model.objects.current()
        if level == "cities":
            qs = _cities(qs, scope)
        else:
            if scope.area:
                qs = qs.filter(code__startswith=scope.area)
            user_q = boundary_scope_q(scope.prefixes, CODE_LENGTHS[level])
            if user_q is not None:
                qs = qs.filter(user_q)
        parent = f"{model.parent_field}__code" if model.parent_field else None
        fields = ["code", "name", *([parent] if parent else [])]
        words = {str(v): k for k, v in KIND_WORDS.get(LEVEL_NAMES[level], {}).items()}
        if words:
            fields.append("kind")
        if geometry:
            qs = qs.annotate(wkb=AsWKB("geom"))
            fields.append("wkb")
        else:
            qs = qs.annotate(wkt=AsWKT("geom"))
            fields.append("wkt")
        for r in _stream(qs.order_by("code"), fields):
            values = {
                "code": r["code"],
                "name": r["name"],
                "parent_code": (r[parent] or "") if parent else "",
                "kind": words.get(r.get("kind") or "", r.get("kind")),
                "geometry": r.get("wkt"),
            }
            yield values, _wkb(r.get("wkb"))

    return rows


ROWS: dict[str, Callable[[Scope, bool], Iterator[Row]]] = {
    "buildings": buildings_rows,
    "households": households_rows,
    "workers": workers_rows,
    "roles": roles_rows,
    "stations": stations_rows,
    "catchments": catchments_rows,
    "party_branches": party_branches_rows,
    "party_members": party_members_rows,
    "central_households": central_households_rows,
    "service_centres": service_centres_rows,
    "ten_household_units": ten_household_units_rows,
    "duty_shifts": duty_shifts_rows,
    "service_items": service_items_rows,
    **{level: boundary_rows(level) for level in BOUNDARY_LEVELS},
}
