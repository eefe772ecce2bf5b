"""The household file (民情档案): everything the platform knows of one household, for the
people who look after it, and the search that finds it.

``household_for(user, key)`` finds a household by its key (``presence.care.household_key``:
the county's household number, else ``~<id>``) inside the user's jurisdiction
(``accounts.selectors.scope_q(user, "grid__code")``), else None (the views answer 404 like
every outside object). ``household_file(user, household)`` is the file as one dict, the API's
answer and the page's context:

- the household: address, members, tags, head of household; ID number and phone through
  ``gridmap.personal_data.show`` (masked for roles that do not visit households, logged when
  shown);
- its places: grid, village, town; its building; its ten-household unit with the unit's
  head household and central household (the party member's name; the central household's
  phone is a resident's: masked like the household's);
- the grid's people today (grid leader, grid member, party-building guide: names and work
  phones, which are published to residents and not masked);
- its visits (``presence.visits.visits_of_household``), newest first, those the user may
  see (the visit's ``place_code`` inside the jurisdiction, or the user's own);
- its cases: incidents are tied to a household only by place, so the file lists the cases the
  user may see (``incidents.selectors.incidents_visible_to``) raised in a visit to the
  household (``VisitRequest.incident``), reported inside its building's footprint, or
  reported within ``GRIDMAP_HOUSEHOLD_FILE_CASE_RADIUS_M`` (30 m) of the household;
- its key-person status: each current category, the last visit, the due date, overdue or not
  (``presence.care``);
- where to go next: the visit form for it, the map on its grid;
- the sections apps above presence add (``FILE_SECTIONS``, filled from their
  ``AppConfig.ready()``: servicedesk lists the household's service requests, 代办记录), each
  a dict the API answers as it is and the page draws as a list of links.

Search (``household_search``): an exact household number, or a part of the address of three
characters or more (``LIKE '%...%'`` served by the trigram index ``household_address_trgm``,
presence migration 0004), inside the jurisdiction, ordered by address.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.gis.measure import D
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext

from accounts.selectors import can_see_personal_data, jurisdiction_prefixes, scope_q, worker_of
from gridmap import personal_data
from gridmap.params import id_of
from grids.models import GRID_ROLES, Building, RoleAssignment, Worker
from grids.selectors import workers_within
from households.models import Household, Tag
from incidents.selectors import incidents_visible_to

from . import care, visits
from .models import KeyPerson, VisitRequest

# The sections apps above presence add to the file (presence does not know them): each a
# function (user, household) -> a section, or None to add nothing. A section is a plain dict
# (JSON for the API): ``key``, ``title``, ``items`` (each ``text``, ``url``, ``meta``),
# ``empty`` (said when there are no items), ``link`` (``url``, ``text``: where to do more).
FileSection = Callable[[Any, Household], "dict[str, Any] | None"]
FILE_SECTIONS: list[FileSection] = []


def register_file_section(section: FileSection) -> None:
    """Add a section to every household file (idempotent)."""
    if section not in FILE_SECTIONS:
        FILE_SECTIONS.append(section)


VISITS_SHOWN = 20
CASES_SHOWN = 20
NOTES_CHARS = 200
SEARCH_MIN_CHARS = 3
BUILDING_HOUSEHOLDS_MAX = 500
METRES_PER_DEGREE = 111_320.0


def _scoped(user: Any, qs: QuerySet, path: str) -> QuerySet:
    scope = scope_q(user, path)
    return qs if scope is None else qs.filter(scope)


def household_for(user: Any, key: str) -> Household | None:
    """The household with file key ``key`` inside the user's jurisdiction, or None."""
    qs = visits.households_visible_to(user).select_related(
        "grid__village__town", "building", "ten_household_unit"
    )
    found = qs.filter(code=key).first()
    if found is None and key.startswith("~") and (pk := id_of(key[1:])) is not None:
        found = qs.filter(pk=pk).first()
    return found


# --- search -----------------------------------------------------------------------------------
def household_search(user: Any, q: str) -> QuerySet[Household]:
    """Households of the jurisdiction whose number is ``q`` or whose address contains it
    (three characters or more), by address."""
    q = (q or "").strip()
    if not q:
        return Household.objects.none()
    visible = visits.households_visible_to(user)
    # A household number first (the unique index), alone: ``code = q OR address LIKE``
    # would make PostgreSQL give up both indexes.
    if visible.filter(code=q).exists():
        match = Q(code=q)
    elif len(q) >= SEARCH_MIN_CHARS:
        # LIKE, not Django's icontains (UPPER(address) LIKE ...: the index is on address).
        match = Q(address__contains=q)
    else:
        return Household.objects.none()
    return (
        visible.filter(match)
        .select_related("grid__village")
        .only(
            "id",
            "code",
            "address",
            "size",
            "tags",
            "grid__code",
            "grid__name",
            "grid__village__name",
        )  # fmt: skip
        .order_by("address", "id")
    )


def search_row(household: Household) -> dict[str, Any]:
    grid = household.grid
    return {
        "key": care.household_key(household),
        "code": household.code,
        "address": household.address,
        "size": household.size,
        "tags": tag_labels(household.tags),
        "grid": {"code": grid.code, "name": grid.name, "village": grid.village.name}
        if grid is not None
        else None,
        "url": care.household_file_url(household),
    }


def tag_labels(tags: list[str]) -> list[str]:
    out = []
    for tag in tags or []:
        try:
            out.append(str(Tag(tag).label))
        except ValueError:
            out.append(tag)
    return out


# --- the map's building click -----------------------------------------------------------------
def building_for(user: Any, building_id: int) -> Building | None:
    """A building inside the user's jurisdiction (by its grid), or None."""
    if not user.is_authenticated:
        return None
    return _scoped(user, Building.objects.all(), "grid__code").filter(pk=building_id).first()


def building_households(user: Any, building: Building) -> dict[str, Any]:
    """The households of a building the user may see, each with the link to its file; the
    number of current key persons each. The map's popup draws it as text."""
    on = timezone.localdate()
    qs = (
        visits.households_visible_to(user)
        .filter(building=building)
        .annotate(
            key_person_count=Coalesce(
                Subquery(
                    KeyPerson.objects.filter(care.current_q(on), household=OuterRef("pk"))
                    .order_by()
                    .values("household")
                    .annotate(n=Count("id"))
                    .values("n")
                ),
                0,
            )
        )
        .order_by("address", "id")
    )
    rows = list(qs[: BUILDING_HOUSEHOLDS_MAX + 1])
    return {
        "building": {"id": building.pk, "name": building.name, "code": building.code},
        "households": [
            {**search_row_light(h), "key_persons": h.key_person_count}  # type: ignore[attr-defined]
            for h in rows[:BUILDING_HOUSEHOLDS_MAX]
        ],
        "truncated": len(rows) > BUILDING_HOUSEHOLDS_MAX,
    }


def search_row_light(household: Household) -> dict[str, Any]:
    return {
        "key": care.household_key(household),
        "address": household.address,
        "size": household.size,
        "url": care.household_file_url(household),
    }


# --- the file ---------------------------------------------------------------------------------
def _place(obj: Any) -> dict[str, str] | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def _grid_people(household: Household, on: dt.date) -> list[dict[str, Any]]:
    if household.grid_id is None:
        return []
    rows = (
        RoleAssignment.objects.active(on)
        .filter(grid_id=household.grid_id, role__in=GRID_ROLES)
        .select_related("worker")
        .order_by("role", "worker__name")
    )
    # Staff phones are work numbers published to residents (gridmap.personal_data).
    return [
        {
            "role": r.role,
            "role_label": r.get_role_display(),
            "name": r.worker.name,
            "phone": r.worker.phone,
        }  # fmt: skip
        for r in rows
    ]


def _unit(household: Household, *, visible: bool) -> dict[str, Any] | None:
    unit = household.ten_household_unit
    if unit is None:
        return None
    members = unit.members.count()
    central = None
    ch = unit.central_household
    if ch is not None:
        member = ch.party_member
        worker = member.worker
        code = household.grid.code if household.grid else None
        central = {
            "address": ch.household.address,
            "party_member": member.name,
            "phone": personal_data.show(
                worker.phone if worker is not None else ch.household.phone,
                kind=personal_data.PHONE,
                visible=visible,
                record_type="household",
                record_id=ch.household_id,
                code=code,
            ),
            "is_this_household": ch.household_id == household.pk,
        }
    return {
        "id": unit.pk,
        "name": unit.name,
        "members": members,
        "head_household": unit.head_household.address,
        "central_household": central,
    }


def _visits(user: Any, household: Household) -> list[dict[str, Any]]:
    """The visits of the household the user may see (``presence.visits.visits_of_household``:
    the visit's ``place_code`` inside the jurisdiction, or the user's own), newest first."""
    tz = timezone.get_current_timezone()
    shown = list(visits.visits_of_household(household, user)[:VISITS_SHOWN])
    # The visitor is named only to those whose jurisdiction holds them (as the visits API).
    named = set(
        workers_within(
            jurisdiction_prefixes(user), Worker.objects.filter(pk__in={v.worker_id for v in shown})
        ).values_list("pk", flat=True)
    )
    own = worker_of(user)
    if own is not None:
        named.add(own.pk)
    return [
        {
            "id": v.pk,
            "at": v.at,
            "day": v.at.astimezone(tz).date(),
            "worker": v.worker.name if v.worker_id in named else None,
            "kind": v.kind,
            "kind_label": v.get_kind_display(),
            "notes": Truncator(v.notes).chars(NOTES_CHARS),
            "follow_up": v.follow_up,
            "photos": len(v.photos.all()),
            "requests": [
                r.text for r in v.requests.all() if r.household_id in (None, household.pk)
            ],
        }
        for v in shown
    ]


def _cases(user: Any, household: Household) -> list[dict[str, Any]]:
    radius = settings.GRIDMAP_HOUSEHOLD_FILE_CASE_RADIUS_M
    point = household.location
    # An index-friendly box in degrees first, then the exact distance on the sphere.
    degrees = radius / (METRES_PER_DEGREE * max(0.1, math.cos(math.radians(point.y))))
    near = Q(location__dwithin=(point, degrees)) & Q(location__distance_lte=(point, D(m=radius)))
    raised = VisitRequest.objects.filter(household=household, incident__isnull=False).values(
        "incident_id"
    )
    where = near | Q(pk__in=raised)
    if household.building is not None:
        where |= Q(location__intersects=household.building.footprint)
    qs = (
        incidents_visible_to(user)
        .filter(where)
        .select_related("category")
        .order_by("-reported_at", "-id")[:CASES_SHOWN]
    )
    return [
        {
            "id": i.pk,
            "category": i.category.name,
            "severity": i.severity,
            "severity_label": i.get_severity_display(),
            "status": i.status,
            "status_label": i.get_status_display(),
            "summary": Truncator(i.description).chars(80),
            "reported_at": i.reported_at,
            "url": reverse("case", args=[i.pk]),
        }
        for i in qs
    ]


def _key_persons(household: Household, on: dt.date, *, visible: bool) -> list[dict[str, Any]]:
    out = []
    for kp in care.current_categories(household, on):
        due_on: dt.date = kp.due_on  # type: ignore[attr-defined]
        out.append(
            {
                "id": kp.pk,
                "category": kp.category.name,
                "category_code": kp.category.code,
                "visit_every_days": kp.category.visit_every_days,
                "visitor": kp.category.visitor,
                "visitor_label": kp.category.get_visitor_display(),
                "person": personal_data.mask_name(kp.person_name)
                if kp.person_name and not visible
                else kp.person_name,
                "since": kp.since,
                "last_visit_at": kp.last_visit_at,  # type: ignore[attr-defined]
                "due_on": due_on,
                "due": due_on <= on,
                "overdue": due_on < on,
            }
        )
    return out


def household_file(user: Any, household: Household) -> dict[str, Any]:
    """The household's file as ``user`` may see it (module docstring). ``household`` comes
    from ``household_for`` (inside the jurisdiction)."""
    on = timezone.localdate()
    visible = can_see_personal_data(user)
    grid = household.grid
    village = grid.village if grid is not None else None
    town = village.town if village is not None else None
    code = grid.code if grid is not None else None
    shown = {
        kind: personal_data.show(
            getattr(household, kind),
            kind=kind,
            visible=visible,
            record_type="household",
            record_id=household.pk,
            code=code,
        )
        for kind in personal_data.FIELDS
    }
    building = household.building
    key_persons = _key_persons(household, on, visible=visible)
    due = [k for k in key_persons if k["due"]]
    return {
        "key": care.household_key(household),
        "code": household.code,
        "address": household.address,
        "size": household.size,
        "tags": [
            {"code": t, "label": label}
            for t, label in zip(household.tags or [], tag_labels(household.tags), strict=True)
        ],  # fmt: skip
        "head_name": household.head_name,
        "id_number": shown[personal_data.ID_NUMBER],
        "phone": shown[personal_data.PHONE],
        "location": [round(household.location.x, 7), round(household.location.y, 7)],
        "grid": _place(grid),
        "village": _place(village),
        "town": _place(town),
        "building": {
            "id": building.pk,
            "name": building.name,
            "code": building.code,
            "floors": building.floors,
        }
        if building is not None
        else None,  # fmt: skip
        "ten_household_unit": _unit(household, visible=visible),
        "grid_people": _grid_people(household, on),
        "key_persons": key_persons,
        "next_due_on": min((k["due_on"] for k in key_persons), default=None),
        "overdue": any(k["overdue"] for k in key_persons),
        "due_now": bool(due),
        "visits": _visits(user, household),
        "cases": _cases(user, household),
        "links": {
            "file": care.household_file_url(household),
            "visit": care.visit_form_url(household),
            "map": "/map/?grid=" + code if code else None,
        },
        "sections": [
            shown for section in FILE_SECTIONS if (shown := section(user, household)) is not None
        ],
        "case_radius_m": settings.GRIDMAP_HOUSEHOLD_FILE_CASE_RADIUS_M,
        "as_of": on,
        "note": gettext(
            "Cases are listed by place: raised in a visit here, reported in the "
            "building, or within %(m)s m."
        )
        % {"m": f"{settings.GRIDMAP_HOUSEHOLD_FILE_CASE_RADIUS_M:g}"},
    }
