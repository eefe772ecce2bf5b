"""Visits (走访) and the diary (民情日记): writes and reads.

A visit is logged by the worker who made it, on the phone, possibly offline and sent later:
it keeps the time it was made (``at``), and a resend (the same ``client_uuid``) returns the
visit stored the first time. ``log_visit`` stores the visit, its households, photos and the
requests the residents raised in one transaction; a request the worker asks to "make a case"
becomes an incident through ``incidents.services.incident_create`` (the routing of a field
report, at the household's location, reported by the worker's login at the visit's time),
linked in ``VisitRequest.incident``.

Where a visit belongs (its jurisdiction, ``place_code``): the grid of its first household;
for a group meeting without households the grid covering its position, else the village
(given as ``place_code``, or the one covering the position). Every household must lie inside
the worker's own area (``worker_prefixes``: the places of their role assignments on the
visit's day, and, for a login, its jurisdiction).

Who sees a visit (the contract's one rule): ``scope_q(user, "place_code")`` admits it, or it is
the user's own (``visit.worker.user``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.selectors import jurisdiction_prefixes, scope_q
from gridmap import uploads
from gridmap.codes import covers
from grids.models import CatchmentAssignment, Grid, RoleAssignment, Village, Worker
from households.models import Household
from incidents.models import Category
from incidents.services import incident_create

from .models import Visit, VisitHousehold, VisitPhoto, VisitRequest

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_HOUSEHOLDS = 30
MAX_REQUESTS = 20
MAX_NOTES = 4000
MAX_REQUEST_TEXT = 2000
# How far ahead of the server a phone's clock may be (its time is then taken as now).
CLOCK_SKEW = dt.timedelta(minutes=5)

MSG_NO_WORKER = gettext_noop("Only a worker of the network logs visits: your login is no worker's.")
MSG_UUID_TAKEN = gettext_noop("This visit number was already used by someone else.")
MSG_IN_FUTURE = gettext_noop("The visit's time is in the future. Check the phone's clock.")
MSG_TOO_LATE = gettext_noop(
    "The visit was made more than %(days)s days ago; it can no longer be logged from the phone."
)
MSG_BAD_KIND = gettext_noop("A visit is a household visit or a group meeting.")
MSG_HOUSEHOLD_REQUIRED = gettext_noop("Choose the household you visited.")
MSG_PLACE_REQUIRED = gettext_noop(
    "Choose the households, or say where the meeting was (your position or a village)."
)
MSG_TOO_MANY_HOUSEHOLDS = gettext_noop("At most %(max)s households per visit.")
MSG_HOUSEHOLD_OUTSIDE = gettext_noop(
    "The household %(household)s is not in your area: you log visits only to households you "
    "look after."
)
MSG_PLACE_OUTSIDE = gettext_noop("%(code)s is not in your area.")
MSG_UNKNOWN_PLACE = gettext_noop("There is no village or grid %(code)s.")
MSG_NOTES_TOO_LONG = gettext_noop("Keep the notes under %(max)s characters.")
MSG_TOO_MANY_PHOTOS = gettext_noop("At most %(max)s photos per visit.")
MSG_PHOTO_TOO_BIG = gettext_noop("Photo %(name)s is larger than %(max_mb)s MB.")
MSG_PHOTO_TYPE = gettext_noop("Photo %(name)s is not a JPEG, PNG or WebP image.")
MSG_TOO_MANY_REQUESTS = gettext_noop("At most %(max)s requests per visit.")
MSG_REQUEST_TEXT = gettext_noop("Write down what the resident asked for.")
MSG_REQUEST_TOO_LONG = gettext_noop("Keep each request under %(max)s characters.")
MSG_REQUEST_HOUSEHOLD = gettext_noop("A request's household must be one of the households visited.")
MSG_CASE_CATEGORY = gettext_noop("Choose the category of the case the request becomes.")
MSG_CASE_NO_LOGIN = gettext_noop("A case needs the visitor's login: this worker has none.")
MSG_CASE_REFUSED = gettext_noop("The request could not become a case: %(reason)s")
MSG_BAD_ATTENDEES = gettext_noop("The number of people met is a whole number from 0 to 10000.")
MSG_FOLLOW_UP_NONE = gettext_noop("This visit has no follow-up to mark done.")
MSG_FOLLOW_UP_NOT_YOURS = gettext_noop(
    "Only the person who made the visit marks its follow-up done."
)


def _error(field: str, msgid: str, **params: Any) -> ValidationError:
    text = gettext(msgid)
    return ValidationError({field: [text % params if params else text]})


@dataclass(frozen=True)
class RequestRaised:
    """A request raised during a visit, as the caller read it: ``make_case`` turns it into an
    incident of ``category`` (``severity`` empty: the category's default)."""

    text: str
    household: Household | None = None
    make_case: bool = False
    category: Category | None = None
    severity: str | None = None


# --- whose area ------------------------------------------------------------------------------
def worker_prefixes(worker: Worker, on: dt.date) -> list[str] | None:
    """The codes of the places where ``worker`` may log visits on ``on``: their role
    assignments' places that day (a station role: the villages of its catchment), and, when
    the worker has a login, that login's jurisdiction (None: everywhere, a superuser)."""
    rows = list(
        RoleAssignment.objects.active(on)
        .filter(worker=worker)
        .values_list("grid__code", "village__code", "town__code", "station_id")
    )
    codes = {c for row in rows for c in row[:3] if c}
    stations = {row[3] for row in rows if row[3] is not None}
    if stations:
        codes |= set(
            CatchmentAssignment.objects.active(on)
            .filter(station_id__in=stations)
            .values_list("village__code", flat=True)
        )
    if worker.user_id is not None:
        login = jurisdiction_prefixes(worker.user)
        if login is None:
            return None
        codes |= set(login)
    return sorted(codes)


# --- writing ---------------------------------------------------------------------------------
def _checked_time(at: dt.datetime | None, now: dt.datetime, *, backfill: bool) -> dt.datetime:
    if at is None:
        return now
    if at > now + CLOCK_SKEW:
        raise _error("at", MSG_IN_FUTURE)
    if at > now:
        return now
    days = settings.GRIDMAP_PRESENCE_MAX_LATE_DAYS
    if not backfill and at < now - dt.timedelta(days=days):
        raise _error("at", MSG_TOO_LATE, days=days)
    return at


def _place(
    *,
    households: list[Household],
    point: Point | None,
    place_code: str | None,
    prefixes: list[str] | None,
) -> tuple[Grid | None, str]:
    """The visit's grid and place code (see the module docstring); refuses a place outside."""
    for household in households:
        code = household.grid.code if household.grid is not None else ""
        if not code or not covers(prefixes, code):
            raise _error("households", MSG_HOUSEHOLD_OUTSIDE, household=_label(household))
    if households:
        grid = households[0].grid
        return grid, grid.code  # type: ignore[union-attr]
    grid = None
    if point is not None:
        grid = Grid.objects.current().filter(geom__covers=point).order_by("code").first()
    if grid is not None and covers(prefixes, grid.code):
        return grid, grid.code
    code = (place_code or "").strip()
    if code:
        place = Grid.objects.current().filter(code=code).first()
        if place is None and not Village.objects.current().filter(code=code).exists():
            raise _error("place_code", MSG_UNKNOWN_PLACE, code=code)
    elif point is not None:
        village = Village.objects.current().filter(geom__covers=point).order_by("code").first()
        code = village.code if village is not None else ""
    if not code:
        raise _error("households", MSG_PLACE_REQUIRED)
    if not covers(prefixes, code):
        raise _error("place_code", MSG_PLACE_OUTSIDE, code=code)
    grid = Grid.objects.current().filter(code=code).first()
    return grid, code


def _label(household: Household) -> str:
    return household.code or f"#{household.pk}"


def _check_requests(
    requests: Sequence[RequestRaised], households: list[Household], worker: Worker
) -> list[RequestRaised]:
    if len(requests) > MAX_REQUESTS:
        raise _error("requests", MSG_TOO_MANY_REQUESTS, max=MAX_REQUESTS)
    ids = {h.pk for h in households}
    out = []
    for raised in requests:
        text = (raised.text or "").strip()
        if not text:
            raise _error("requests", MSG_REQUEST_TEXT)
        if len(text) > MAX_REQUEST_TEXT:
            raise _error("requests", MSG_REQUEST_TOO_LONG, max=MAX_REQUEST_TEXT)
        if raised.household is not None and raised.household.pk not in ids:
            raise _error("requests", MSG_REQUEST_HOUSEHOLD)
        if raised.make_case:
            if raised.category is None:
                raise _error("requests", MSG_CASE_CATEGORY)
            if worker.user_id is None:
                raise _error("requests", MSG_CASE_NO_LOGIN)
        out.append(
            RequestRaised(
                text=text,
                household=raised.household,
                make_case=raised.make_case,
                category=raised.category,
                severity=raised.severity,
            )
        )
    return out


def _existing(client_uuid: uuid.UUID, worker: Worker) -> Visit | None:
    found = Visit.objects.filter(client_uuid=client_uuid).first()
    if found is not None and found.worker_id != worker.pk:
        raise _error("client_uuid", MSG_UUID_TAKEN)
    return found


def log_visit(
    worker: Worker,
    *,
    at: dt.datetime | None = None,
    kind: str = Visit.Kind.HOUSEHOLD,
    households: Sequence[Household] = (),
    place_code: str | None = None,
    point: Point | None = None,
    attendees: int | None = None,
    notes: str = "",
    requests: Sequence[RequestRaised] = (),
    follow_up: str = "",
    follow_up_due: dt.date | None = None,
    photos: Sequence[UploadedFile] = (),
    client_uuid: uuid.UUID | None = None,
    backfill: bool = False,
) -> tuple[Visit, bool]:
    """Log a visit; returns ``(visit, created)``.

    - ``client_uuid`` already stored for this worker: that visit, ``created=False``, nothing
      written (a phone resending); stored for another worker: refused.
    - ``at``: when the visit was made (the phone's time; now when None). Up to five minutes
      ahead of the server it is taken as now; further ahead, or older than
      ``settings.GRIDMAP_PRESENCE_MAX_LATE_DAYS``, it is refused (``backfill``: no age limit,
      for the demo's history).
    - ``point``: the phone's position, WGS84 (the caller converts GCJ-02 and BD-09).

    Raises ``ValidationError`` (a dict keyed by field, messages in the active language) for
    bad input; nothing is stored then.
    """
    if client_uuid is not None:
        found = _existing(client_uuid, worker)
        if found is not None:
            return found, False
    now = timezone.now()
    at = _checked_time(at, now, backfill=backfill)
    if kind not in Visit.Kind.values:
        raise _error("kind", MSG_BAD_KIND)
    unique = list({h.pk: h for h in households}.values())
    if len(unique) > MAX_HOUSEHOLDS:
        raise _error("households", MSG_TOO_MANY_HOUSEHOLDS, max=MAX_HOUSEHOLDS)
    if kind == Visit.Kind.HOUSEHOLD and not unique:
        raise _error("households", MSG_HOUSEHOLD_REQUIRED)
    if attendees is not None and not 0 <= attendees <= 10000:
        raise _error("attendees", MSG_BAD_ATTENDEES)
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise _error("notes", MSG_NOTES_TOO_LONG, max=MAX_NOTES)
    follow_up = (follow_up or "").strip()
    if len(follow_up) > MAX_NOTES:
        raise _error("follow_up", MSG_NOTES_TOO_LONG, max=MAX_NOTES)
    prefixes = worker_prefixes(worker, timezone.localdate(at))
    grid, code = _place(households=unique, point=point, place_code=place_code, prefixes=prefixes)
    raised = _check_requests(requests, unique, worker)
    if len(photos) > MAX_PHOTOS:
        raise _error("photos", MSG_TOO_MANY_PHOTOS, max=MAX_PHOTOS)
    photo_types = uploads.content_types(
        photos,
        field="photos",
        detect=uploads.image_type,
        max_bytes=MAX_PHOTO_BYTES,
        msg_too_big=MSG_PHOTO_TOO_BIG,
        msg_refused=MSG_PHOTO_TYPE,
    )
    try:
        with transaction.atomic():
            visit = Visit(
                worker=worker,
                kind=kind,
                at=at,
                location=point,
                grid=grid,
                place_code=code,
                attendees=attendees,
                notes=notes,
                follow_up=follow_up,
                follow_up_due=follow_up_due if follow_up else None,
                client_uuid=client_uuid or uuid.uuid4(),
            )
            visit.full_clean(exclude=["worker", "grid"], validate_unique=False)
            visit.save()
            VisitHousehold.objects.bulk_create(
                [VisitHousehold(visit=visit, household=h) for h in unique]
            )
            for photo, content_type in zip(photos, photo_types, strict=True):
                VisitPhoto.objects.create(
                    visit=visit,
                    image=File(photo, name=uploads.stored_name(photo.name, content_type)),
                    content_type=content_type,
                    size=photo.size,
                )
            for item in raised:
                _store_request(visit, item, worker=worker, fallback=unique, point=point)
    except IntegrityError:
        # The same client_uuid arrived twice at once: the other request stored it.
        found = _existing(client_uuid, worker) if client_uuid is not None else None
        if found is None:
            raise
        return found, False
    return visit, True


def _store_request(
    visit: Visit,
    item: RequestRaised,
    *,
    worker: Worker,
    fallback: list[Household],
    point: Point | None,
) -> VisitRequest:
    household = item.household or (fallback[0] if fallback else None)
    incident = None
    if item.make_case:
        where = household.location if household is not None else point
        if where is None:
            where = visit.grid.geom.point_on_surface if visit.grid is not None else None
        if where is None:
            raise _error("requests", MSG_PLACE_REQUIRED)
        try:
            incident, _ = incident_create(
                actor=worker.user,  # type: ignore[arg-type]
                point=where,
                category=item.category,  # type: ignore[arg-type]
                severity=item.severity,
                description=item.text,
                reported_at=visit.at,
            )
        except ValidationError as exc:
            reason = " ".join(exc.messages)
            raise _error("requests", MSG_CASE_REFUSED, reason=reason) from None
    return VisitRequest.objects.create(
        visit=visit,
        # A visit to one household: its requests are that household's.
        household=item.household or (fallback[0] if len(fallback) == 1 else None),
        text=item.text,
        incident=incident,
    )


def mark_follow_up_done(visit: Visit, user: Any) -> Visit:
    """Mark the visit's follow-up done now (once: a second call keeps the first time). The
    caller has found the visit among ``visits_visible_to(user)``; only the visitor (or a
    superuser) may mark it: a supervisor seeing it must not close someone else's deadline."""
    if not (getattr(user, "is_superuser", False) or visit.worker.user_id == user.pk):
        raise PermissionDenied(gettext(MSG_FOLLOW_UP_NOT_YOURS))
    if not visit.follow_up:
        raise _error("follow_up", MSG_FOLLOW_UP_NONE)
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.follow_up_done_at is None:
            locked.follow_up_done_at = timezone.now()
            locked.save(update_fields=["follow_up_done_at"])
    visit.follow_up_done_at = locked.follow_up_done_at
    return visit


# --- reading ---------------------------------------------------------------------------------
def visits_visible_to(user: Any) -> QuerySet[Visit]:
    """The visits ``user`` may see: inside their jurisdiction (``place_code``) or their own."""
    qs = Visit.objects.all()
    if not user.is_authenticated:
        return qs.none()
    scope = scope_q(user, "place_code")
    if scope is None:
        return qs
    return qs.filter(scope | Q(worker__user=user))


def with_details(qs: QuerySet[Visit]) -> QuerySet[Visit]:
    """``qs`` with what a visit is shown with: its worker, grid, households (with their grid,
    in the order they were chosen), photos, and requests with their cases."""
    return qs.select_related("worker", "grid").prefetch_related(
        Prefetch(
            "visithousehold_set",
            queryset=VisitHousehold.objects.select_related("household__grid").order_by("id"),
        ),
        Prefetch("photos", queryset=VisitPhoto.objects.order_by("id")),
        Prefetch(
            "requests",
            queryset=VisitRequest.objects.select_related("incident", "household").order_by("id"),
        ),
    )


def diary(
    worker: Worker,
    user: Any,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[Visit]:
    """A worker's diary as ``user`` may see it: their visits in order (oldest first), with
    households, requests and cases, photos; ``start``/``end`` limit the days (inclusive)."""
    qs = visits_visible_to(user).filter(worker=worker)
    return with_details(within_days(qs, start, end)).order_by("at", "id")


def visits_in_area(
    codes: Sequence[str],
    user: Any,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[Visit]:
    """Everyone's visits in the places ``codes`` (prefixes: a village's code holds its grids)
    that ``user`` may see, in order."""
    if not codes:
        return Visit.objects.none()
    inside = Q()
    for code in codes:
        inside |= Q(place_code__startswith=code)
    qs = visits_visible_to(user).filter(inside)
    return with_details(within_days(qs, start, end)).order_by("at", "id")


def visits_of_household(household: Household, user: Any) -> QuerySet[Visit]:
    """The visits that included ``household`` and that ``user`` may see, newest first (for the
    household file)."""
    qs = visits_visible_to(user).filter(
        pk__in=VisitHousehold.objects.filter(household=household).values("visit_id")
    )
    return with_details(qs).order_by("-at", "-id")


def within_days(qs: QuerySet[Visit], start: dt.date | None, end: dt.date | None) -> QuerySet[Visit]:
    tz = timezone.get_current_timezone()
    if start is not None:
        qs = qs.filter(at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz))
    if end is not None:
        qs = qs.filter(
            at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    return qs


def households_visible_to(user: Any) -> QuerySet[Household]:
    """Households inside ``user``'s jurisdiction, by their grid's code (with their grid); none
    for an anonymous user. (The visit form, the household file and its search.)"""
    if not user.is_authenticated:
        return Household.objects.none()
    qs = Household.objects.select_related("grid")
    scope = scope_q(user, "grid__code")
    return qs if scope is None else qs.filter(scope)


def households_for_visits(user: Any, query: str, *, limit: int = 20) -> list[Household]:
    """Households inside ``user``'s jurisdiction whose number starts with ``query`` or whose
    address contains it (the visit form's search), at most ``limit``."""
    query = (query or "").strip()
    if not query:
        return []
    qs = households_visible_to(user).filter(
        Q(code__istartswith=query) | Q(address__icontains=query)
    )
    return list(qs.order_by("address", "id")[:limit])
