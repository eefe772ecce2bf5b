"""Duty rosters (值班): who is on duty at a village's, station's or town's service centre on
which day.

The roster of a place is its ``DutyShift`` rows. One rule says who may edit it
(``may_edit_roster``): the village party secretary for their village, the station head and
deputy for their station, the town dispatcher for their town (each a role held today), and
the town staff, district and city administrators' accounts for any place inside their
jurisdiction (superusers everywhere). Whoever goes on the roster must belong to the place
(``roster_candidates``): a village role on the village; a station role on the station or a
village role in one of its catchment villages; a town role on the town, or a place on the
town's duty rota before (a ``town_duty_officer`` assignment there).

A town's whole-day shift is also the town's dated ``Role.TOWN_DUTY_OFFICER`` assignment of that
day (a period of one day, ``[date, date + 1)``), which the routing of red cases reads
(``households.routing``); removing the shift removes that assignment. The one-holder-a-day
rule of that role stays the database's (``role_one_town_holder``): another officer already
on duty that day is refused with their name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext, gettext_noop
from psycopg.types.range import Range

from accounts.models import AccountRole
from accounts.selectors import (
    acts_at,
    granted_account,
    jurisdiction_prefixes,
    today_assignments,
)
from gridmap.codes import STATION_CODE_RE, covers
from gridmap.jurisdiction import scope_q as prefix_scope_q
from grids.models import (
    CatchmentAssignment,
    Role,
    RoleAssignment,
    Station,
    Town,
    Village,
    Worker,
)

from .models import DutyShift, PlaceLevel
from .schedule import ROLE_ORDER

RosterPlace = Village | Station | Town

MSG_NOT_YOURS = gettext_noop("You may not edit the duty roster of %(place)s.")
MSG_NOT_HERE = gettext_noop(
    "%(worker)s holds no role at %(place)s on %(date)s: only the place's own people go on its "
    "duty roster."
)
MSG_ALREADY_ON_DUTY = gettext_noop("%(worker)s is already on duty at %(place)s on %(date)s.")
MSG_OFFICER_TAKEN = gettext_noop(
    "%(holder)s is already the town's on-duty officer on %(date)s: remove that shift first."
)
MSG_UNKNOWN_PLACE = gettext_noop("No village, station or town has the code %(code)s.")

# Who edits a place's roster by the role they hold there today.
EDITOR_ROLES: dict[str, frozenset[str]] = {
    PlaceLevel.VILLAGE: frozenset({Role.VILLAGE_SECRETARY}),
    PlaceLevel.STATION: frozenset({Role.STATION_HEAD, Role.STATION_DEPUTY}),
    PlaceLevel.TOWN: frozenset({Role.TOWN_DISPATCHER}),
}
# Accounts that edit every roster inside their jurisdiction.
ROSTER_ACCOUNT_ROLES = frozenset(
    {AccountRole.TOWN_STAFF, AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN}
)
# Spans that overlap: the whole day overlaps both halves.
OVERLAPS: dict[str, tuple[str, ...]] = {
    DutyShift.Span.DAY: (DutyShift.Span.DAY, DutyShift.Span.MORNING, DutyShift.Span.AFTERNOON),
    DutyShift.Span.MORNING: (DutyShift.Span.DAY, DutyShift.Span.MORNING),
    DutyShift.Span.AFTERNOON: (DutyShift.Span.DAY, DutyShift.Span.AFTERNOON),
}


class DutyRefused(Exception):
    """A roster change refused; ``message`` is in the reader's language."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid, self.params = msgid, params
        super().__init__(msgid % params if params else msgid)

    @property
    def message(self) -> str:
        text = gettext(self.msgid)
        return text % self.params if self.params else text


# --- places ------------------------------------------------------------------------------------
def level_of_place(place: RosterPlace) -> str:
    if isinstance(place, Village):
        return PlaceLevel.VILLAGE
    if isinstance(place, Station):
        return PlaceLevel.STATION
    return PlaceLevel.TOWN


def find_place(code: str) -> RosterPlace | None:
    """The current village (12 digits), station in service (``<town>S<nn>``) or current town
    (9 digits) with ``code``; None for any other code."""
    code = (code or "").strip()
    if STATION_CODE_RE.match(code):
        return Station.objects.filter(code=code, retired_on__isnull=True).first()
    if not (code.isascii() and code.isdigit()):
        return None
    if len(code) == 12:
        return Village.objects.current().filter(code=code).defer("geom").first()
    if len(code) == 9:
        return Town.objects.current().filter(code=code).defer("geom").first()
    return None


def place_label(place: RosterPlace) -> str:
    return f"{place.name} {place.code}"


def shift_place_q(place: RosterPlace) -> Q:
    """The shifts of ``place``."""
    return Q(**{level_of_place(place): place})


# --- who may ------------------------------------------------------------------------------------
def may_edit_roster(user: Any, place: RosterPlace) -> bool:
    """Whether ``user`` may add and remove shifts of ``place``'s roster (the one rule: see the
    module docstring)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    level = level_of_place(place)
    editors = EDITOR_ROLES[level]
    for role, _grid, village, town, station_id in today_assignments(user):
        if role not in editors:
            continue
        if level == PlaceLevel.VILLAGE and village == place.code:
            return True
        if level == PlaceLevel.STATION and station_id == place.pk:
            return True
        if level == PlaceLevel.TOWN and town == place.code:
            return True
    account = granted_account(user)
    return (
        account is not None
        and account.role in ROSTER_ACCOUNT_ROLES
        and covers(jurisdiction_prefixes(user), place.code)
    )


def may_see_roster(user: Any, place: RosterPlace) -> bool:
    """Whether ``user`` may see ``place``'s roster with the names on it: the place lies inside
    their jurisdiction, they act for it (a station's staff: their station, whose code is no
    village's), or they may edit it."""
    if not user.is_authenticated:
        return False
    if covers(jurisdiction_prefixes(user), place.code):
        return True
    if isinstance(place, Station) and acts_at(user, PlaceLevel.STATION, place.code):
        return True
    return may_edit_roster(user, place)


def roster_places(user: Any) -> list[RosterPlace]:
    """The places whose roster ``user`` may see (the page's picker): towns, stations and
    villages inside their jurisdiction, and the stations where they act."""
    prefixes = jurisdiction_prefixes(user)
    if prefixes is not None and not prefixes:
        return []

    def inside(qs: QuerySet) -> QuerySet:
        q = prefix_scope_q(prefixes)
        return qs if q is None else qs.filter(q)

    own = [station for *_rest, station in today_assignments(user) if station is not None]
    towns = list(inside(Town.objects.current()).defer("geom").order_by("code"))
    stations = list(
        Station.objects.filter(retired_on__isnull=True)
        .filter(Q(pk__in=inside(Station.objects.all()).values("pk")) | Q(pk__in=own))
        .order_by("code")
    )
    villages = list(inside(Village.objects.current()).defer("geom").order_by("code"))
    return [*towns, *stations, *villages]


# --- who goes on it -----------------------------------------------------------------------------
def roster_candidates(place: RosterPlace, first: dt.date, last: dt.date) -> QuerySet[Worker]:
    """The workers who may go on ``place``'s roster on some day from ``first`` to ``last``
    (see the module docstring), by name."""
    span = Range(first, last + dt.timedelta(days=1), "[)")
    active = RoleAssignment.objects.filter(period__overlap=span)
    level = level_of_place(place)
    if level == PlaceLevel.VILLAGE:
        ids = active.filter(village=place).values("worker_id")
    elif level == PlaceLevel.STATION:
        villages = CatchmentAssignment.objects.filter(station=place, period__overlap=span).values(
            "village_id"
        )
        ids = active.filter(Q(station=place) | Q(village_id__in=villages)).values("worker_id")
    else:
        ids = RoleAssignment.objects.filter(
            Q(town=place, period__overlap=span) | Q(town=place, role=Role.TOWN_DUTY_OFFICER)
        ).values("worker_id")
    return Worker.objects.filter(pk__in=ids).order_by("name", "pk")


def _holds_role_at(worker: Worker, place: RosterPlace, day: dt.date) -> bool:
    return roster_candidates(place, day, day).filter(pk=worker.pk).exists()


# --- reading --------------------------------------------------------------------------------------
def roster(place: RosterPlace, first: dt.date, last: dt.date) -> QuerySet[DutyShift]:
    """``place``'s shifts from ``first`` to ``last``, by day and span, with their workers."""
    return (
        DutyShift.objects.filter(shift_place_q(place), date__gte=first, date__lte=last)
        .select_related("worker")
        .order_by("date", "span", "worker__name", "pk")
    )


# --- writing --------------------------------------------------------------------------------------
def _officer_period(day: dt.date) -> Range:
    return Range(day, day + dt.timedelta(days=1), "[)")


def _make_officer(worker: Worker, town: Town, day: dt.date) -> None:
    """The town's on-duty officer of ``day`` is ``worker`` (kept when already so)."""
    period = _officer_period(day)
    holders = RoleAssignment.objects.filter(
        role=Role.TOWN_DUTY_OFFICER, town=town, period__overlap=period
    ).select_related("worker")
    for held in holders:
        if held.worker_id != worker.pk:
            raise DutyRefused(MSG_OFFICER_TAKEN, holder=held.worker.name, date=day.isoformat())
    if holders:
        return
    try:
        with transaction.atomic():
            RoleAssignment.objects.create(
                worker=worker, role=Role.TOWN_DUTY_OFFICER, town=town, period=period
            )
    except IntegrityError:  # a concurrent shift took the day
        raise DutyRefused(MSG_OFFICER_TAKEN, holder="", date=day.isoformat()) from None


def add_shift(
    *,
    actor: Any,
    place: RosterPlace,
    worker: Worker,
    date: dt.date,
    span: str = DutyShift.Span.DAY,
    note: str = "",
) -> DutyShift:
    """Put ``worker`` on ``place``'s roster on ``date`` (``span``: the day or one half).
    Raises ``DutyRefused`` when ``actor`` may not edit the roster, the worker does not belong
    to the place, or is already on duty there then; a town's whole day also makes the
    worker the town's on-duty officer that day (or is refused if another one is)."""
    if not may_edit_roster(actor, place):
        raise DutyRefused(MSG_NOT_YOURS, place=place_label(place))
    with transaction.atomic():
        if not _holds_role_at(worker, place, date):
            raise DutyRefused(
                MSG_NOT_HERE, worker=worker.name, place=place_label(place), date=date.isoformat()
            )
        clash = DutyShift.objects.filter(
            shift_place_q(place), worker=worker, date=date, span__in=OVERLAPS[span]
        )
        if clash.exists():
            raise DutyRefused(
                MSG_ALREADY_ON_DUTY,
                worker=worker.name,
                place=place_label(place),
                date=date.isoformat(),
            )
        shift = DutyShift(
            worker=worker,
            date=date,
            span=span,
            note=note,
            created_by=actor if actor.is_authenticated else None,
            **{level_of_place(place): place},
        )
        try:
            shift.full_clean()
        except ValidationError as error:
            raise DutyRefused("%(detail)s", detail="; ".join(error.messages)) from None
        shift.save()
        if isinstance(place, Town) and span == DutyShift.Span.DAY:
            _make_officer(worker, place, date)
    return shift


def remove_shift(*, actor: Any, shift: DutyShift) -> None:
    """Take ``shift`` off its roster (and a town's whole day: the on-duty officer assignment
    of that day that it made). Raises ``DutyRefused`` when ``actor`` may not edit it."""
    place = shift.place
    if not may_edit_roster(actor, place):
        raise DutyRefused(MSG_NOT_YOURS, place=place_label(place))
    with transaction.atomic():
        if shift.town_id is not None and shift.span == DutyShift.Span.DAY:
            RoleAssignment.objects.filter(
                worker_id=shift.worker_id,
                role=Role.TOWN_DUTY_OFFICER,
                town_id=shift.town_id,
                period=_officer_period(shift.date),
            ).delete()
        shift.delete()


# --- the public village page --------------------------------------------------------------------
@dataclass(frozen=True)
class PublicDutyDay:
    day: dt.date
    duties: list[tuple[str, str]]  # (role label, span label), never a name


def public_week(village: Village, monday: dt.date) -> list[PublicDutyDay]:
    """The village's roster of the week starting ``monday``, for residents: for each day the
    role of each person on duty (the role they hold on the village that day; the first in
    the roles' order when several) and the span, never a name. Two queries."""
    sunday = monday + dt.timedelta(days=6)
    shifts = list(
        DutyShift.objects.filter(village=village, date__gte=monday, date__lte=sunday)
        .order_by("date", "span", "pk")
        .values_list("date", "span", "worker_id")
    )
    roles: dict[int, list[tuple[Range, str]]] = {}
    for worker_id, period, role in RoleAssignment.objects.filter(
        village=village,
        worker_id__in={w for _d, _s, w in shifts},
        period__overlap=Range(monday, sunday + dt.timedelta(days=1), "[)"),
    ).values_list("worker_id", "period", "role"):
        roles.setdefault(worker_id, []).append((period, role))
    spans = dict(DutyShift.Span.choices)
    out = []
    for n in range(7):
        day = monday + dt.timedelta(days=n)
        duties = []
        for date, span, worker_id in shifts:
            if date != day:
                continue
            held = [
                role
                for period, role in roles.get(worker_id, [])
                if (period.lower is None or period.lower <= day)
                and (period.upper is None or day < period.upper)
            ]
            held.sort(key=ROLE_ORDER.index)
            label = str(Role(held[0]).label) if held else gettext("village staff")
            duties.append((label, str(spans[span])))
        out.append(PublicDutyDay(day=day, duties=duties))
    return out
