"""Writes to incidents: one user action, one transaction.

``incident_create`` validates, routes (``incidents.routing``), records the routing result
and notifies, all at once or not at all. Routing is recorded, never recomputed, with one
deliberate exception: assessment (研判, ``incident_assess``), where the receiving level
re-grades the severity or the category with a written reason before acknowledging. The case
is routed again as if reported now with the new grading; the new recipients are added (the
earlier ones stay: they were told), the explanation becomes the new one, and the history
event keeps the old grading, the old explanation and the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from cases.history import purge_cases
from cases.kinds import Assessment, kind_of
from gridmap import uploads
from grids.models import Grid, Town, Village
from inbox.models import RecipientKind

from . import notifications, workflow
from .models import (
    OPEN_STATUSES,
    Category,
    Incident,
    IncidentPhoto,
    IncidentRecipient,
    IncidentReport,
    Responder,
    Severity,
)
from .routing import RoutingResult, route

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# Pillow format -> the content type stored with the photo (judged by gridmap.uploads).
PHOTO_FORMATS = uploads.IMAGE_FORMATS
MAX_DESCRIPTION = 2000
# How far in the future a phone's clock may be before its report time is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)

MSG_TOO_MANY_PHOTOS = gettext_noop("At most %(max)s photos per report.")
MSG_PHOTO_TOO_BIG = gettext_noop("Photo %(name)s is larger than %(max_mb)s MB.")
MSG_PHOTO_TYPE = gettext_noop("Photo %(name)s is not a JPEG, PNG or WebP image.")
MSG_DESCRIPTION_REQUIRED = gettext_noop("Describe what happened.")
MSG_DESCRIPTION_TOO_LONG = gettext_noop("Keep the description under %(max)s characters.")
MSG_BAD_SEVERITY = gettext_noop("Severity must be red, yellow or blue.")
MSG_CATEGORY_INACTIVE = gettext_noop("The category %(category)s is no longer in use.")
MSG_REPORTED_IN_FUTURE = gettext_noop("The reported time is in the future.")
MSG_REPORTED_TOO_LONG_AGO = gettext_noop(
    "The reported time is more than %(days)s days ago. Check the date and the phone's clock."
)
MSG_ASSESS_UNCHANGED = gettext_noop(
    "Choose another severity or category: this is how the case is graded already."
)
MSG_ASSESS_UNKNOWN_CATEGORY = gettext_noop("There is no category %(category)s in use.")
MSG_ATTACH_CLOSED = gettext_noop(
    "Incident %(id)s is no longer open; report a new incident instead."
)


def _error(field: str, msgid: str, **params: Any) -> ValidationError:
    text = gettext(msgid)
    return ValidationError({field: [text % params if params else text]})


# --- validation -----------------------------------------------------------------------------
def _validate_photos(photos: Sequence[UploadedFile]) -> list[str]:
    """The content type of each photo; raises ValidationError on the first bad one."""
    if len(photos) > MAX_PHOTOS:
        raise _error("photos", MSG_TOO_MANY_PHOTOS, max=MAX_PHOTOS)
    return uploads.content_types(
        photos,
        field="photos",
        detect=uploads.image_type,
        max_bytes=MAX_PHOTO_BYTES,
        msg_too_big=MSG_PHOTO_TOO_BIG,
        msg_refused=MSG_PHOTO_TYPE,
    )


def _validate(
    *,
    category: Category,
    severity: str | None,
    description: str,
    reported_at: dt.datetime,
    now: dt.datetime,
) -> tuple[str, str]:
    """The severity (the category's default when None) and the cleaned description."""
    errors: dict[str, list[str]] = {}
    severity = severity or category.default_severity
    if severity not in Severity.values:
        errors["severity"] = [gettext(MSG_BAD_SEVERITY)]
    if not category.is_active:
        errors["category"] = [gettext(MSG_CATEGORY_INACTIVE) % {"category": category.code}]
    description = (description or "").strip()
    if not description:
        errors["description"] = [gettext(MSG_DESCRIPTION_REQUIRED)]
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = [gettext(MSG_DESCRIPTION_TOO_LONG) % {"max": MAX_DESCRIPTION}]
    max_age = settings.GRIDMAP_REPORT_MAX_AGE_DAYS
    if reported_at > now + CLOCK_SKEW:
        errors["reported_at"] = [gettext(MSG_REPORTED_IN_FUTURE)]
    elif reported_at < now - dt.timedelta(days=max_age):
        errors["reported_at"] = [gettext(MSG_REPORTED_TOO_LONG_AGO) % {"days": max_age}]
    if errors:
        raise ValidationError(errors)
    return severity, description


# --- the service ----------------------------------------------------------------------------
def incident_create(
    *,
    actor: AbstractBaseUser,
    point: Point,
    category: Category,
    severity: str | None,
    description: str,
    reported_at: dt.datetime | None = None,
    client_uuid: UUID | None = None,
    photos: Sequence[UploadedFile] = (),
    attach_to: Incident | None = None,
) -> tuple[Incident, bool]:
    """Report an incident; returns ``(incident, created)``.

    - ``client_uuid`` already received: the incident of that report, ``created=False``,
      nothing stored (a phone resending a queued report).
    - ``attach_to``: the report is a duplicate of that open incident; a new report is added to
      it (its reporter count rises) and nothing else changes.
    - Otherwise the point is routed at ``reported_at`` (now when None) and the incident, its
      first report, its recipients (a snapshot of name and phone), the case's owner and
      deadlines, the first history event (``report``) and the inbox entries are stored in
      one transaction.

    Raises ``ValidationError`` (a dict keyed by field) for bad input and
    ``routing.OutsideEveryDistrict`` for a point in no district; nothing is stored then.
    The returned incident carries ``reporter_count`` and its recipients and photos (as
    ``selectors.incident_details`` loads them), so the caller renders it without queries.
    """
    if client_uuid is not None:
        existing = _incident_of_report(client_uuid)
        if existing is not None:
            return existing, False
    now = timezone.now()
    reported_at = reported_at or now
    severity, description = _validate(
        category=category,
        severity=severity,
        description=description,
        reported_at=reported_at,
        now=now,
    )
    photo_types = _validate_photos(photos)
    try:
        with transaction.atomic():
            report = _Report(
                actor, point, description, reported_at, client_uuid, photos, photo_types
            )
            if attach_to is not None:
                incident = _attach(attach_to, report)
            else:
                incident = _create(report, category=category, severity=severity)
    except IntegrityError:
        # The same client_uuid arrived twice at once: the other request stored it.
        existing = _incident_of_report(client_uuid) if client_uuid is not None else None
        if existing is None:
            raise
        return existing, False
    return incident, True


def _incident_of_report(client_uuid: UUID) -> Incident | None:
    from .selectors import incident_details

    incident_id = (
        IncidentReport.objects.filter(client_uuid=client_uuid)
        .values_list("incident_id", flat=True)
        .first()
    )
    if incident_id is None:
        return None
    return incident_details().get(pk=incident_id)


@dataclass(frozen=True)
class _Report:
    """One person's report, validated: what the first report and a duplicate both store."""

    actor: AbstractBaseUser
    point: Point
    description: str
    reported_at: dt.datetime
    client_uuid: UUID | None
    photos: Sequence[UploadedFile]
    photo_types: list[str]


def _recipient_rows(incident: Incident, routing: RoutingResult) -> list[IncidentRecipient]:
    """The people the routing reached, as the incident's recipient rows (not yet saved)."""
    return [
        IncidentRecipient(
            incident=incident,
            worker_id=person.worker_id,
            kind=person.kind,
            responder=person.responder,
            role=person.role,
            name=person.name,
            phone=person.phone,
        )
        for person in routing.recipients
    ]


def _routing_facts(routing: RoutingResult) -> dict[str, Any]:
    """What the report event records of the routing besides the explanation: who took the
    on-duty officer's part when nobody was on duty (a role, never a name: the history is
    shown to people who may not see names)."""
    stand_in = [
        p.role
        for p in routing.recipients
        if p.responder == Responder.TOWN_DUTY_OFFICER and p.role != Responder.TOWN_DUTY_OFFICER
    ]
    return {"on_duty_taken_by": stand_in[0]} if stand_in else {}


def _create(new: _Report, *, category: Category, severity: str) -> Incident:
    routing = route(point=new.point, at=new.reported_at, category=category, severity=severity)
    incident = Incident(
        location=new.point,
        category=category,
        severity=severity,
        description=new.description,
        reporter=new.actor,
        reported_at=new.reported_at,
        generation_id=routing.generation,
        # Unsaved stand-ins carrying what the routing read, so nothing is fetched again.
        grid=Grid(pk=routing.grid.id, code=routing.grid.code, name=routing.grid.name)
        if routing.grid
        else None,
        village=Village(pk=routing.village.id, code=routing.village.code, name=routing.village.name)
        if routing.village
        else None,
        town=Town(pk=routing.town.id, code=routing.town.code, name=routing.town.name)
        if routing.town
        else None,
        station_id=routing.station.id if routing.station else None,
        place_code=routing.place_code,
        responsible_level=routing.responsible_level,
        explanation=routing.explanation,
    )
    # The case: owned by the responsible level's place, with the deadlines of the category
    # and severity from the reported time (cases.workflow, incidents.time_limits), whose
    # limits the routing statement read (incidents.kind reads them off the incident).
    incident.routed_time_limit = routing.time_limit
    workflow.open_case(incident)
    # Foreign keys come from the routing statement and the caller's objects: checking each
    # would cost a query apiece on the hot path.
    incident.full_clean(
        exclude=["category", "reporter", "generation", "grid", "village", "town", "station"],
        validate_unique=False,
        validate_constraints=False,
    )
    incident.save()
    workflow.record_report(incident, actor=new.actor, facts=_routing_facts(routing))
    report = _report(incident, new)
    recipients = IncidentRecipient.objects.bulk_create(_recipient_rows(incident, routing))
    _cache_related(incident, "recipients", recipients)
    _cache_related(incident, "reports", [report])
    incident.reporter_count = 1
    notifications.notify_incident(incident)
    return incident


def _attach(incident: Incident, new: _Report) -> Incident:
    # Lock the incident so a status change cannot slip between the check and the insert.
    locked = Incident.objects.select_for_update().only("status").get(pk=incident.pk)
    if locked.status not in OPEN_STATUSES:
        raise _error("attach_to", MSG_ATTACH_CLOSED, id=incident.pk)
    _report(incident, new)
    from .selectors import incident_details

    return incident_details().get(pk=incident.pk)


def _report(incident: Incident, new: _Report) -> IncidentReport:
    report = IncidentReport.objects.create(
        incident=incident,
        reporter=new.actor,
        reported_at=new.reported_at,
        location=new.point,
        description=new.description,
        client_uuid=new.client_uuid,
    )
    saved = IncidentPhoto.objects.bulk_create(
        [
            IncidentPhoto(
                report=report,
                image=File(photo, name=uploads.stored_name(photo.name, content_type)),
                content_type=content_type,
                size=photo.size,
            )
            for photo, content_type in zip(new.photos, new.photo_types, strict=True)
        ]
    )
    _cache_related(report, "photos", saved)
    return report


def _cache_related(instance: Any, name: str, objects: list[Any]) -> None:
    """Fill ``instance.<name>.all()`` with ``objects`` as prefetch_related would, so the
    caller (the API, ``notify_incident``) reads what was just written without a query."""
    queryset = getattr(instance, name).all()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    instance._prefetched_objects_cache = {
        **getattr(instance, "_prefetched_objects_cache", {}),
        name: queryset,
    }


def incidents_purge(*, ids: Iterable[int]) -> int:
    """Delete incidents with their history and everything hanging off them (maintenance
    only, never a user action; ``cases.history.purge_cases``); returns how many incidents
    were deleted."""
    return purge_cases(kind_of(Incident), ids)


# --- assessment (研判) ------------------------------------------------------------------------
def incident_assess(incident: Incident, data: dict[str, Any], at: dt.datetime) -> Assessment:
    """Re-grade an incident (``data``: ``severity``, ``category`` code; either may be left
    out to keep it) and route it again at ``at``: called by the case engine's ``assess``
    inside its transaction, with the case row locked (``cases.workflow``). Saves the
    incident's grading, responsible level and explanation and adds the new recipients;
    the engine then gives the case to the new responsible level with the new deadlines."""
    errors: dict[str, list[str]] = {}
    severity = str(data.get("severity") or incident.severity).strip()
    if severity not in Severity.values:
        errors["severity"] = [gettext(MSG_BAD_SEVERITY)]
    code = str(data.get("category") or "").strip()
    category = incident.category
    if code and code != category.code:
        found = Category.objects.filter(code=code, is_active=True).first()
        if found is None:
            errors["category"] = [gettext(MSG_ASSESS_UNKNOWN_CATEGORY) % {"category": code}]
        else:
            category = found
    if not errors and severity == incident.severity and category.pk == incident.category_id:
        errors["severity"] = [gettext(MSG_ASSESS_UNCHANGED)]
    if errors:
        raise ValidationError(errors)
    routing = route(point=incident.location, at=at, category=category, severity=severity)
    out = {
        "severity": [incident.severity, severity],
        "category": [incident.category.code, category.code],
        "previous_explanation": incident.explanation,
    }
    incident.severity, incident.category = severity, category
    incident.responsible_level = routing.responsible_level
    incident.explanation = routing.explanation
    incident.save(update_fields=["severity", "category", "responsible_level", "explanation"])
    IncidentRecipient.objects.bulk_create(
        _recipient_rows(incident, routing),
        ignore_conflicts=True,
    )
    told = frozenset(
        p.worker_id
        for p in routing.recipients
        if p.kind in (RecipientKind.ROUTED, RecipientKind.COPIED)
    )
    return Assessment(level=routing.responsible_level, out=out, notify=told)
