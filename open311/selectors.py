"""Reads of Open311: the services (incident categories and their attributes), the place an
``address_string`` names, and the service requests (incidents) inside a key's jurisdiction,
as the rows the answers are made of. No reporter's personal data is ever read here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.gis.db.models.functions import PointOnSurface
from django.contrib.gis.geos import Point
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext

from gridmap.codes import Level, covers, level_of, prefix_of
from grids.models import City, District, Grid, Town, Village
from incidents.models import (
    OPEN_STATUSES,
    CaseEvent,
    Category,
    Incident,
    IncidentRecipient,
    RecipientKind,
    Severity,
    Status,
)

from .models import ApiKey, Open311Request

# The one attribute every service has: our severity (red / yellow / blue), optional (the
# category's default when not sent).
SEVERITY_ATTRIBUTE = "severity"
# How far back GET requests looks when no dates are given, and the most it answers.
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000


def attribute_choices() -> list[str]:
    return list(Severity.values)


def services() -> QuerySet[Category]:
    """The active incident categories, in their order."""
    return Category.objects.filter(is_active=True).order_by("ordering", "code")


def service(code: str) -> Category | None:
    return services().filter(code=code).first()


def service_row(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": gettext("Report a problem of the kind: %(name)s") % {"name": category.name},
        "metadata": True,
        "type": "realtime",
        "keywords": f"{category.name_zh}, {category.name_en}",
        "group": gettext("incidents"),
    }


def service_definition(category: Category) -> dict[str, Any]:
    """The attributes of a service: our severity, a single-value list."""
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": SEVERITY_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": gettext(
                    "Leave it out for the category's usual severity (%(default)s)."
                )
                % {"default": Severity(category.default_severity).label},
                "order": 1,
                "description": gettext("Severity: red, yellow or blue"),
                "values": [{"key": value, "name": str(label)} for value, label in Severity.choices],
            }
        ],
    }


# --- the jurisdiction of a key -----------------------------------------------------------------
def scope_prefix(api_key: ApiKey, jurisdiction_id: str) -> str | None:
    """The code prefix a request with ``api_key`` acts in: the key's district or city, or the
    district inside it that ``jurisdiction_id`` names (None: it names none of those).
    An empty ``jurisdiction_id`` is the key's own scope."""
    own = prefix_of(api_key.scope_code)
    wanted = (jurisdiction_id or "").strip()
    if not wanted or wanted == api_key.scope_code:
        return own
    if level_of(wanted) not in (Level.COUNTY, Level.CITY) or not covers([own], wanted):
        return None
    model = District if level_of(wanted) == Level.COUNTY else City
    if not model.objects.current().filter(code=wanted).exists():
        return None
    return prefix_of(wanted)


def scope_is_place(code: str) -> bool:
    """Whether ``code`` is the code of a current district or city (a key's scope)."""
    level = level_of(code)
    if level == Level.COUNTY:
        return District.objects.current().filter(code=code).exists()
    if level == Level.CITY:
        return City.objects.current().filter(code=code).exists()
    return False


def geocode(address: str, prefix: str) -> list[Point]:
    """Points for ``address`` from our own places inside ``prefix``: the current grids,
    then villages, then towns whose name or code is exactly ``address`` (a point on each
    one's surface). Several points: the address is ambiguous; none: unknown."""
    for model in (Grid, Village, Town):
        rows = (
            model.objects.current()
            .filter(Q(name=address) | Q(code=address), code__startswith=prefix)
            .annotate(spot=PointOnSurface("geom"))
            .values_list("spot", flat=True)[:2]
        )
        found = list(rows)
        if found:
            return found
    return []


# --- service requests ---------------------------------------------------------------------------
def requests_in(prefix: str) -> QuerySet[Incident]:
    """The incidents inside ``prefix`` (by their place), with what an answer shows."""
    updated = Subquery(
        CaseEvent.objects.filter(incident=OuterRef("pk"))
        .values("incident")
        .annotate(last=Max("at"))
        .values("last")[:1]
    )
    routed_role = Subquery(
        IncidentRecipient.objects.filter(incident=OuterRef("pk"), kind=RecipientKind.ROUTED)
        .order_by("id")
        .values("role")[:1]
    )
    return (
        Incident.objects.filter(place_code__startswith=prefix)
        .select_related("category", "grid", "village", "town", "open311")
        .defer("grid__geom", "village__geom", "town__geom", "explanation")
        .annotate(updated_at=updated, assignee_role=routed_role)
    )


def requests_filtered(
    prefix: str,
    *,
    ids: list[int] | None = None,
    service_codes: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    statuses: list[str] | None = None,
) -> list[Incident]:
    """GET requests: by ``ids`` (the other filters are then ignored, as the specification
    says), else by service, period and open/closed; newest first, at most MAX_REQUESTS."""
    qs = requests_in(prefix)
    if ids is not None:
        return list(qs.filter(pk__in=ids).order_by("-reported_at", "-pk")[:MAX_REQUESTS])
    if service_codes:
        qs = qs.filter(category__code__in=service_codes)
    if start is not None:
        qs = qs.filter(reported_at__gte=start)
    if end is not None:
        qs = qs.filter(reported_at__lte=end)
    if statuses and set(statuses) != {"open", "closed"}:
        if "open" in statuses:
            qs = qs.filter(status__in=OPEN_STATUSES)
        else:
            qs = qs.exclude(status__in=OPEN_STATUSES)
    return list(qs.order_by("-reported_at", "-pk")[:MAX_REQUESTS])


def request_by_token(prefix: str, token: Any) -> Open311Request | None:
    return (
        Open311Request.objects.filter(token=token, incident__place_code__startswith=prefix)
        .only("incident_id", "token")
        .first()
    )


def status_of(incident: Incident) -> str:
    return "open" if incident.status in OPEN_STATUSES else "closed"


def _agency(incident: Incident) -> str:
    """The level that owns the case and, below a district, the place's name."""
    level = incident.owner_level or incident.responsible_level
    place = {
        Level.GRID: incident.grid,
        Level.VILLAGE: incident.village,
        Level.TOWN: incident.town,
    }.get(level)
    label = str(Level(level).label) if level else ""
    if place is not None and place.code == incident.owner_code:
        return f"{place.name} ({label})"
    return f"{incident.owner_code} ({label})" if incident.owner_code else str(label)


def _address(incident: Incident) -> str:
    sent = getattr(getattr(incident, "open311", None), "address_string", "")
    if sent:
        return sent
    parts = [p.name for p in (incident.town, incident.village, incident.grid) if p is not None]
    return " ".join(parts)


def _description(incident: Incident, api_key: ApiKey) -> str:
    """The description a key may read: its own reports' as sent; of any other incident
    (a grid worker's report may name residents) only the text approved for the public notice
    board (``incidents.publication``), else nothing."""
    sent = getattr(incident, "open311", None)
    if sent is not None and sent.api_key_id == api_key.pk:
        return incident.description
    return incident.public_text


def request_row(incident: Incident, api_key: ApiKey) -> dict[str, Any]:
    """One service request as the specification lists its fields, with our extensions. No
    reporter's name, phone or e-mail: those stay with the incident."""
    sent = getattr(incident, "open311", None)
    status_label = str(Status(incident.status).label)
    return {
        "service_request_id": str(incident.pk),
        "status": status_of(incident),
        "status_notes": status_label,
        "service_name": incident.category.name,
        "service_code": incident.category.code,
        "description": _description(incident, api_key),
        "agency_responsible": _agency(incident),
        "service_notice": "",
        "requested_datetime": incident.reported_at,
        "updated_datetime": incident.updated_at or incident.reported_at,
        "expected_datetime": incident.resolve_due_at,
        "address": _address(incident),
        "address_id": "",
        "zipcode": "",
        "lat": incident.location.y,
        "long": incident.location.x,
        "media_url": sent.media_url if sent is not None else "",
        "extensions": {
            "severity": incident.severity,
            "assignee": {
                "level": incident.owner_level,
                "place_code": incident.owner_code,
                "role": incident.assignee_role or "",
            },
            "deadlines": {
                "acknowledge_by": incident.acknowledge_due_at,
                "onsite_by": incident.onsite_due_at,
                "resolve_by": incident.resolve_due_at,
            },
        },
    }
