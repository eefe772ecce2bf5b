"""Reads of incidents."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.contrib.gis.db.models import PointField
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import connections
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import get_language

from accounts.selectors import jurisdiction_prefixes
from cases.deadlines import GREEN, RED, YELLOW, traffic_light
from cases.lists import CLOSE_OUT_ACTION, ListKind
from cases.workflow import cases_visible_to, role_prefixes
from gridmap.codes import covers
from gridmap.sql import prepared_cursor, tables
from gridmap.ttl import TTLCache
from grids.models import City, District, Grid, Station, Town, Village

from .models import (
    OPEN_STATUSES,
    CaseEvent,
    Category,
    Incident,
    IncidentPhoto,
    IncidentRecipient,
    IncidentReport,
    RecipientKind,
)

DUPLICATE_METRES = 100.0
DUPLICATE_DAYS = 7


def reporter_count() -> Coalesce:
    """The number of reports of an incident (the first and every attached duplicate)."""
    per_incident = (
        IncidentReport.objects.filter(incident=OuterRef("pk"))
        .order_by()
        .values("incident")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(per_incident, output_field=IntegerField()), 0)


# The API list's features
# ------------------------
# Built in PostgreSQL by a fixed statement (one per language), around the page's keys that the
# ORM compiles from the one jurisdiction rule, the filters, the order and the page, and passed
# on as PostgreSQL wrote them. Compiling the features' 15-key JSON object through the ORM cost
# more than running it, and parsing it back into Python for each row's light and rendering it
# again cost as much once more (issue 16 point 4).
class _ListRow(NamedTuple):
    """What a row's traffic light reads (``cases.deadlines.traffic_light``)."""

    status: str
    reported_at: dt.datetime
    acknowledge_due_at: dt.datetime | None
    resolve_due_at: dt.datetime | None
    resolved_at: dt.datetime | None
    calendar_clock: bool


class ListFeature(NamedTuple):
    pk: int
    reported_at: dt.datetime
    # The GeoJSON Feature as JSON text, its traffic light included.
    json: str


# The features' last member is ``properties``, and the properties end the text: the light
# goes in as the properties' last member (``_with_light``).
_FEATURE_END = "}}"
_LIGHTS = {None: "null", **{light: f'"{light}"' for light in (GREEN, YELLOW, RED)}}


@functools.lru_cache(maxsize=4)
def _list_features_sql(category_name: str) -> str:
    if category_name not in ("name_zh", "name_en"):
        raise ValueError(category_name)
    names = tables(
        incident=Incident,
        category=Category,
        report=IncidentReport,
        grid=Incident._meta.get_field("grid").related_model,
    )
    # A case that is not open has no light: its deadlines are not read (most rows of a city's
    # list are closed cases, and reading a date costs more than the light).
    is_open = "i.status IN ({})".format(", ".join(f"'{status}'" for status in OPEN_STATUSES))
    return f"""
SELECT i.id, i.status, i.reported_at,
       CASE WHEN {is_open} THEN i.acknowledge_due_at END,
       CASE WHEN {is_open} THEN i.resolve_due_at END,
       CASE WHEN {is_open} THEN i.resolved_at END,
       i.calendar_clock,
       json_build_object('type', 'Feature', 'id', i.id,
         'geometry', ST_AsGeoJSON(i.location, 7, 0)::json,
         'properties', json_build_object('id', i.id, 'category', c.code,
           'category_name', c.{category_name}, 'severity', i.severity, 'status', i.status,
           'description', i.description, 'reported_at', i.reported_at, 'grid_code', g.code,
           'reporter_count', (SELECT count(*) FROM {names["report"]} r WHERE r.incident_id = i.id),
           'responsible_level', i.responsible_level, 'owner_level', i.owner_level,
           'owner_code', i.owner_code, 'acknowledge_due_at', i.acknowledge_due_at,
           'resolve_due_at', i.resolve_due_at))::text
  FROM ({{window}}) p (id)
  JOIN {names["incident"]} i ON i.id = p.id
  JOIN {names["category"]} c ON c.id = i.category_id
  LEFT JOIN {names["grid"]} g ON g.id = i.grid_id
 ORDER BY i.reported_at DESC, i.id DESC"""


def _with_light(feature: str, light: str | None) -> str:
    if not feature.endswith(_FEATURE_END):
        raise ValueError("A list feature must end with its properties.")
    return f'{feature[:-2]}, "traffic_light" : {_LIGHTS[light]}{_FEATURE_END}'


def list_features(
    window: tuple[str, Sequence[Any]], category_name: str, now: dt.datetime, using: str
) -> list[ListFeature]:
    """The GeoJSON features of the incidents whose keys the statement ``window`` selects
    (SQL and values; its first column the key: ``Keyset.window_sql``), the newest first, as
    JSON text, each with its ``traffic_light`` at ``now``; ``category_name`` is the
    category's name column of the language (``name_zh``)."""
    inner, params = window
    sql = _list_features_sql(category_name).replace("{window}", inner)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        ListFeature(pk, light[1], _with_light(text, traffic_light(_ListRow(*light), now)))
        for pk, *light, text in rows
    ]


# The lists' page rows
# --------------------
# A page of ``/lists/`` (50 cases) is read by its keys in one fixed statement per list,
# prepared on the connection (``gridmap.sql.prepared_cursor``): the ORM compiled the names'
# ten subqueries for every page and built a model per row, 9-12 ms of a 25 ms page at city
# scale (issue 16 point 4). The places are joined by key; the owning place's name is the
# routed grid's, village's or town's when the owner is one of them and still current (the
# common case), else looked up by code at every level, as ``cases.lists._owner_name`` does.
# The statement and ``cases.lists``' columns agree on ``ListRow``'s attributes.
class CategoryName(NamedTuple):
    """A category's names (``Category.name``: the one of the active language)."""

    name_zh: str
    name_en: str

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "zh-hans").startswith("zh") else self.name_en


class ListRow:
    """An incident as a list's columns read it (``incidents.lists.COLUMNS``); ``list_rows``."""

    __slots__ = LIST_ROW_FIELDS = (
        "pk",
        "reported_at",
        "status",
        "severity",
        "place_code",
        "description",
        "owner_level",
        "owner_code",
        "calendar_clock",
        "acknowledge_due_at",
        "resolve_due_at",
        "resolved_at",
        "category",
        "town_name",
        "village_name",
        "grid_name",
        "owner_name",
        "responsible",
        "closed_on_time",
        "satisfaction",
        "rework_count",
        "extension_count",
        "signed_off_by",
        "signed_off_at",
    )

    def __init__(self, values: tuple[Any, ...]) -> None:
        for name, value in zip(self.LIST_ROW_FIELDS, values, strict=True):
            setattr(self, name, value)


@functools.cache
def _list_rows_sql(kind: str) -> str:
    names = tables(
        incident=Incident,
        category=Category,
        recipient=IncidentRecipient,
        event=CaseEvent,
        grid=Grid,
        village=Village,
        station=Station,
        town=Town,
        district=District,
        city=City,
    )
    current = "generation_high_id IS NULL"
    # The owner's name by its code, at every level (the owner may be none of the routed
    # places: a station, a county, or a place since redrawn).
    by_code = ", ".join(
        f"(SELECT name FROM {names[level]} WHERE code = i.owner_code"
        f"{'' if level == 'station' else ' AND ' + current} LIMIT 1)"
        for level in ("grid", "village", "station", "town", "district", "city")
    )
    owner = f"""COALESCE(CASE WHEN g.{current} AND g.code = i.owner_code THEN g.name
                     WHEN v.{current} AND v.code = i.owner_code THEN v.name
                     WHEN t.{current} AND t.code = i.owner_code THEN t.name END,
                COALESCE({by_code}))"""
    routed = f"""ARRAY(SELECT r.name FROM {names["recipient"]} r
                  WHERE r.incident_id = i.id AND r.kind = '{RecipientKind.ROUTED}'
                  ORDER BY r.id)"""
    closed = kind == ListKind.CLOSEOUT
    sign_off = f"""LEFT JOIN LATERAL (
      SELECT e.actor_name, e.at FROM {names["event"]} e
       WHERE e.incident_id = i.id AND e.action = '{CLOSE_OUT_ACTION}'
       ORDER BY e.seq DESC LIMIT 1) s ON true"""
    return f"""
SELECT i.id, i.reported_at, i.status, i.severity, i.place_code, i.description, i.owner_level,
       i.owner_code, i.calendar_clock, i.acknowledge_due_at, i.resolve_due_at, i.resolved_at,
       c.name_zh, c.name_en, t.name, v.name, g.name,
       {"NULL" if closed else owner},
       {routed if kind == ListKind.RESPONSIBILITY else "NULL::text[]"},
       i.closed_on_time, i.satisfaction, i.rework_count, i.extension_count,
       {"s.actor_name, s.at" if closed else "NULL::text, NULL::timestamptz"}
  FROM unnest(%s::bigint[]) WITH ORDINALITY AS p (id, n)
  JOIN {names["incident"]} i ON i.id = p.id
  JOIN {names["category"]} c ON c.id = i.category_id
  LEFT JOIN {names["town"]} t ON t.id = i.town_id
  LEFT JOIN {names["village"]} v ON v.id = i.village_id
  LEFT JOIN {names["grid"]} g ON g.id = i.grid_id
  {sign_off if closed else ""}
 ORDER BY p.n"""


def list_rows(kind: str, ids: list[int]) -> list[ListRow]:
    """The incidents ``ids`` as the list ``kind`` shows them, in the order of ``ids`` (one
    prepared statement). It filters nothing: the keys must come from the list's own query,
    which applies the jurisdiction (``CaseLists.keys``)."""
    if not ids:
        return []
    with prepared_cursor() as cursor:
        cursor.execute(_list_rows_sql(kind), [list(ids)])
        found = cursor.fetchall()
    # Its category's names: the 12th and 13th values (after the case's own).
    categories: dict[tuple[str, str], CategoryName] = {}
    rows = []
    for values in found:
        names = values[12:14]
        category = categories.get(names) or categories.setdefault(names, CategoryName(*names))
        rows.append(ListRow((*values[:12], category, *values[14:])))
    return rows


def incidents_visible_to(user: Any) -> QuerySet[Incident]:
    """The incidents a user may see: the one rule of the case engine
    (``cases.workflow.cases_visible_to``: inside the jurisdiction by place or by owner, at a
    place where the user's worker holds a role, or reported by the user), the same for the
    API, the pages, the exports and the admin."""
    return cases_visible_to(user, Incident)


# Reporting outside one's area
# ----------------------------
# A grid worker may report what they see next door: the report is accepted and routed there
# as any other (nobody should have to walk home to report a fire). The reporter may then
# follow the case they reported (``cases_visible_to``: reported by the user), but only the
# case: who it was routed to, their phones and the routing sentences that name them belong
# to the area it lies in. ``sees_people_of`` is that line, for the API answers (the POST
# answer, the detail) and the case page alike.
def sees_people_of(user: Any, incident: Incident) -> bool:
    """Whether ``user`` may see the people of ``incident`` (its recipients): it lies, by
    place or by owner, inside their jurisdiction or at a place where their worker holds a
    role."""
    if user.is_authenticated and user.is_superuser:
        return True
    prefixes = jurisdiction_prefixes(user)
    if prefixes is None:
        return True
    areas = [*prefixes, *(role_prefixes(user) if user.is_authenticated else [])]
    codes = [c for c in (incident.place_code, incident.owner_code) if c]
    return any(covers(areas, c) for c in codes)


def explanation_without_people(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The routing explanation without the sentences that name a person."""
    return [p for p in parts if "name" not in (p.get("params") or {})]


def incident_details(qs: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """Incidents with what their API representation needs, in four queries whatever the
    number: the incident with its category and places (geometries deferred), its recipients,
    its reports and their photos. Each incident carries ``reporter_count``."""
    qs = qs if qs is not None else Incident.objects.all()
    return (
        qs.select_related("category", "grid", "village", "town")
        .defer("grid__geom", "village__geom", "town__geom")
        .annotate(reporter_count=reporter_count())
        .prefetch_related(
            Prefetch("recipients", queryset=IncidentRecipient.objects.order_by("id")),
            Prefetch(
                "reports",
                queryset=IncidentReport.objects.order_by("id").prefetch_related(
                    Prefetch("photos", queryset=IncidentPhoto.objects.order_by("id"))
                ),
            ),
        )
    )


def my_work_q(user: object) -> Q:
    """Incidents the user's worker is a recipient of (routed, copied or watching)."""
    return Q(Exists(IncidentRecipient.objects.filter(incident=OuterRef("pk"), worker__user=user)))


def _degrees_around(lat: float, metres: float) -> float:
    """A radius in degrees that surely holds ``metres`` around latitude ``lat`` (an index
    prefilter; the exact test is on geography)."""
    return 1.5 * metres / (111_000.0 * max(math.cos(math.radians(lat)), 0.01))


def duplicates_nearby(
    *,
    point: Point,
    category: Category,
    at: dt.datetime,
    queryset: QuerySet[Incident] | None = None,
) -> QuerySet[Incident]:
    """Open incidents of ``category`` within 100 m of ``point`` reported in the 7 days before
    ``at``, nearest first, with ``distance_m`` (on the spheroid) and ``reporter_count``."""
    qs = queryset if queryset is not None else Incident.objects.all()
    geography = Cast("location", PointField(srid=point.srid or 4326, geography=True))
    return (
        qs.filter(
            category=category,
            status__in=OPEN_STATUSES,
            reported_at__gte=at - dt.timedelta(days=DUPLICATE_DAYS),
            reported_at__lte=at,
            location__dwithin=(point, _degrees_around(point.y, DUPLICATE_METRES)),
        )
        .annotate(distance=Distance(geography, point))
        .filter(distance__lte=DUPLICATE_METRES)
        .annotate(reporter_count=reporter_count())
        .order_by("distance", "-reported_at", "id")
    )


# --- active categories by code (the report's hot path) --------------------------------------
# Each report names its category by code: the active categories are kept per process for
# GRIDMAP_AUTH_CACHE_SECONDS (the cache of the phones' hot lookups), so a report costs no
# query for it. A save or delete of a category in this process clears them at once
# (``incidents.apps``); other processes see it when the entry expires.
_categories: TTLCache[dict[str, Any]] = TTLCache("GRIDMAP_AUTH_CACHE_SECONDS")
categories_changed = _categories.clear


def category_choices() -> list[tuple[str, str]]:
    """Every category as ``(code, name)`` in the active language, in their order (the lists'
    filter), kept as the active categories are."""
    kept = _categories.get("names")
    if kept is None:
        kept = {
            c.code: CategoryName(c.name_zh, c.name_en)
            for c in Category.objects.order_by("ordering", "code")
        }
        _categories.put("names", kept)
    return [(code, names.name) for code, names in kept.items()]


def active_category(code: str) -> Category | None:
    """The active category of ``code``, or None."""
    if _categories.seconds() <= 0:
        return Category.objects.filter(code=code, is_active=True).first()
    cached = _categories.get("active")
    if cached is None:
        cached = {c.code: c for c in Category.objects.filter(is_active=True)}
        _categories.put("active", cached)
    found = cached.get(code)
    # A copy: what a request sets on it never reaches another request.
    return copy.copy(found) if found is not None else None
