"""Sign-in (签到): a worker's phone says where it is; the place the worker is assigned to
judges it.

The worker's places on the sign-in's day are the places of their active role assignments:
a grid role → the grid (its current geometry, by code), a village role → the village, a
station role → the union of the villages in the station's catchment that day, a town role →
the town. PostGIS judges the point against each (``ST_Covers``, and the distance in metres to
the place over the ellipsoid, as geography):

- inside one of them → ``inside``;
- within ``settings.GRIDMAP_SIGN_IN_NEAR_M`` (200 m) of one → ``near``, with the distance;
- farther: refused with the place's name and the distance, unless the worker gives a reason
  (``note``) → accepted as ``outside``.

The place judged is the one the point is inside, else the nearest (ties: the most local level).
A fix less accurate than ``settings.GRIDMAP_SIGN_IN_MAX_ACCURACY_M`` is refused.

One sign-in per worker per half-day: the day and the half (morning before 12:00) come from the
time the phone made it (``at``), in ``settings.TIME_ZONE``; a sign-in made offline and sent
later keeps that time. A time in the future is the phone's clock running ahead: it becomes
now. A time older than ``settings.GRIDMAP_PRESENCE_MAX_LATE_DAYS`` is refused. A resend with
the same ``client_uuid`` returns the stored sign-in (``created`` False).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from grids.models import (
    CatchmentAssignment,
    Grid,
    RoleAssignment,
    Station,
    Town,
    Village,
    Worker,
)

from .models import Half, PlaceLevel, SignIn

MSG_NO_PLACE = gettext_noop(
    "You hold no grid, village, station or town role today, so there is no place to sign in at."
)
MSG_INACCURATE = gettext_noop(
    "The position is too imprecise (about %(metres)s m; at most %(max)s m is accepted). "
    "Go outdoors, wait a moment and try again."
)
MSG_TOO_FAR = gettext_noop(
    "You are about %(metres)s m from the %(level)s “%(name)s”. Sign in once you are there, "
    "or give the reason."
)
MSG_ALREADY = gettext_noop("You already signed in this %(half)s, at %(time)s.")
MSG_TOO_LATE = gettext_noop(
    "This sign-in was made on %(date)s, more than %(days)s days ago: it can no longer be sent."
)
MSG_UUID_TAKEN = gettext_noop("This client_uuid belongs to another record.")

MAX_NOTE = 200
# Levels from the most local: the tie-break between places at the same distance.
LEVEL_ORDER = [PlaceLevel.GRID, PlaceLevel.VILLAGE, PlaceLevel.STATION, PlaceLevel.TOWN]


class SignInRefused(Exception):
    """A sign-in the service refuses. ``message`` is for the worker (translated); ``reason``
    says why for the phone page (``outside`` lets the worker give a reason and sign in
    anyway); ``distance_m`` and ``place`` are set for ``outside``."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        distance_m: float | None = None,
        place: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.distance_m = distance_m
        self.place = place


@dataclass(frozen=True)
class Judged:
    """A place of the worker and how the point lies against it."""

    level: str
    code: str
    name: str
    role: str
    covers: bool
    distance_m: float


def half_day(at: dt.datetime) -> tuple[dt.date, int]:
    """The day and the half-day (``Half``) of ``at`` in ``settings.TIME_ZONE``."""
    local = timezone.localtime(at)
    return local.date(), Half.MORNING if local.hour < 12 else Half.AFTERNOON


def phone_time(at: dt.datetime | None, *, now: dt.datetime | None = None) -> dt.datetime:
    """The time a phone record was made: ``at``, now when absent or in the future (a clock
    running ahead); ``ValueError`` when older than ``GRIDMAP_PRESENCE_MAX_LATE_DAYS``."""
    now = now or timezone.now()
    if at is None or at > now:
        return now
    if at < now - dt.timedelta(days=settings.GRIDMAP_PRESENCE_MAX_LATE_DAYS):
        raise ValueError(at)
    return at


# The worker's places on a day, judged against a point in one statement. Boundaries by code in
# the current generation (a role assignment may point at a superseded row of the same place).
_PLACES_SQL = f"""
WITH a AS (
    SELECT ra.role, g.code AS grid_code, v.code AS village_code, s.id AS station_id,
           t.code AS town_code
    FROM {RoleAssignment._meta.db_table} ra
    LEFT JOIN {Grid._meta.db_table} g ON g.id = ra.grid_id
    LEFT JOIN {Village._meta.db_table} v ON v.id = ra.village_id
    LEFT JOIN {Station._meta.db_table} s ON s.id = ra.station_id
    LEFT JOIN {Town._meta.db_table} t ON t.id = ra.town_id
    WHERE ra.worker_id = %(worker)s AND ra.period @> %(day)s::date
),
places AS (
    SELECT 'grid' AS level, b.code, b.name, a.role, b.geom
    FROM a JOIN {Grid._meta.db_table} b
        ON b.code = a.grid_code AND b.generation_high_id IS NULL
    UNION ALL
    SELECT 'village', b.code, b.name, a.role, b.geom
    FROM a JOIN {Village._meta.db_table} b
        ON b.code = a.village_code AND b.generation_high_id IS NULL
    UNION ALL
    SELECT 'town', b.code, b.name, a.role, b.geom
    FROM a JOIN {Town._meta.db_table} b
        ON b.code = a.town_code AND b.generation_high_id IS NULL
    UNION ALL
    SELECT 'station', s.code, s.name, a.role, ST_Multi(ST_Union(b.geom))
    FROM a
    JOIN {Station._meta.db_table} s ON s.id = a.station_id
    JOIN {CatchmentAssignment._meta.db_table} ca
        ON ca.station_id = s.id AND ca.period @> %(day)s::date
    JOIN {Village._meta.db_table} cv ON cv.id = ca.village_id
    JOIN {Village._meta.db_table} b ON b.code = cv.code AND b.generation_high_id IS NULL
    GROUP BY s.code, s.name, a.role
)
SELECT p.level, p.code, p.name, p.role,
       ST_Covers(p.geom, pt.geom) AS covers,
       CASE WHEN ST_Covers(p.geom, pt.geom) THEN 0
            ELSE ST_Distance(p.geom::geography, pt.geom::geography) END AS distance_m
FROM places p, (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), %(srid)s) AS geom) pt
"""


def judge(worker: Worker, point: Point, day: dt.date) -> list[Judged]:
    """The worker's places on ``day`` with the point's relation to each, the best first:
    inside, then nearest, then the most local level."""
    with connection.cursor() as cur:
        cur.execute(
            _PLACES_SQL,
            {
                "worker": worker.pk,
                "day": day,
                "lon": point.x,
                "lat": point.y,
                "srid": settings.GRIDMAP_SRID,
            },
        )
        rows = [Judged(*row) for row in cur.fetchall()]
    return sorted(
        rows, key=lambda j: (not j.covers, j.distance_m, LEVEL_ORDER.index(j.level), j.code)
    )


def _level_name(level: str) -> str:
    return str(PlaceLevel(level).label)


def sign_in(
    worker: Worker,
    *,
    at: dt.datetime | None,
    point: Point,
    accuracy_m: float | None,
    note: str = "",
    client_uuid: uuid.UUID | None = None,
) -> tuple[SignIn, bool]:
    """Sign ``worker`` in at ``point`` (WGS84) at ``at`` (the phone's time); see the module.

    Returns ``(sign_in, created)``; raises ``SignInRefused``. One transaction, the worker's
    row locked, so two sends of one half-day never both land.
    """
    note = (note or "").strip()[:MAX_NOTE]
    client_uuid = client_uuid or uuid.uuid4()
    with transaction.atomic():
        Worker.objects.select_for_update().filter(pk=worker.pk).first()
        stored = SignIn.objects.filter(client_uuid=client_uuid).first()
        if stored is not None:
            if stored.worker_id != worker.pk:
                raise SignInRefused(_(MSG_UUID_TAKEN), reason="client_uuid")
            return stored, False
        try:
            at = phone_time(at)
        except ValueError:
            raise SignInRefused(
                _(MSG_TOO_LATE)
                % {
                    "date": formats.date_format(timezone.localtime(at), "SHORT_DATE_FORMAT"),
                    "days": settings.GRIDMAP_PRESENCE_MAX_LATE_DAYS,
                },
                reason="too_late",
            ) from None
        day, half = half_day(at)
        earlier = SignIn.objects.filter(worker=worker, day=day, half=half).first()
        if earlier is not None:
            raise SignInRefused(
                _(MSG_ALREADY)
                % {
                    "half": Half(half).label,
                    "time": timezone.localtime(earlier.at).strftime("%H:%M"),
                },
                reason="already",
            )
        limit = settings.GRIDMAP_SIGN_IN_MAX_ACCURACY_M
        if accuracy_m is not None and accuracy_m > limit:
            raise SignInRefused(
                _(MSG_INACCURATE) % {"metres": round(accuracy_m), "max": round(limit)},
                reason="inaccurate",
            )
        places = judge(worker, point, day)
        if not places:
            raise SignInRefused(_(MSG_NO_PLACE), reason="no_place")
        best = places[0]
        if best.covers:
            verdict = SignIn.Verdict.INSIDE
        elif best.distance_m <= settings.GRIDMAP_SIGN_IN_NEAR_M:
            verdict = SignIn.Verdict.NEAR
        elif note:
            verdict = SignIn.Verdict.OUTSIDE
        else:
            raise SignInRefused(
                _(MSG_TOO_FAR)
                % {
                    "metres": round(best.distance_m),
                    "level": _level_name(best.level),
                    "name": best.name,
                },
                reason="outside",
                distance_m=round(best.distance_m, 1),
                place={"level": best.level, "code": best.code, "name": best.name},
            )
        record = SignIn(
            worker=worker,
            at=at,
            day=day,
            half=half,
            location=Point(point.x, point.y, srid=settings.GRIDMAP_SRID),
            accuracy_m=accuracy_m,
            place_level=best.level,
            place_code=best.code,
            role=best.role,
            verdict=verdict,
            distance_m=round(best.distance_m, 1),
            note=note,
            client_uuid=client_uuid,
        )
        record.full_clean()
        record.save()
    return record, True
