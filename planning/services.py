"""Writes of plans: create, edit (constraints checked first), undo/redo, CSV import,
proposals, publish.

Constraints on a change of villages (refused with every reason unless the planner writes an
override reason, which is kept in each ``PlanChange`` of the batch):

- a station holds 3-7 villages: a gaining station may not go above 7, a losing one may not
  fall below 3 (a change that moves a station towards the range is never refused);
- a station takes villages of its own town only;
- catchments stay contiguous: a change may not split a catchment into more pieces than it
  had (see ``selectors.adjacency`` for what counts as adjacent, allowed links included).

A locked or retired station is not a constraint but a state: its villages do not change and it
takes none, and no reason overrides that (unlock it first).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import AccountRole
from accounts.selectors import granted_account, jurisdiction_prefixes
from gridmap.codes import CODE_LENGTH, Level, code_at, covers
from gridmap.exports import read_cell, safe_row
from gridmap.sql import table
from grids.models import CatchmentAssignment, District, Station, Town, Village
from incidents.workflow import reassign_stations

from . import selectors
from .models import ChangeKind, Plan, PlanAssignment, PlanChange, PlanStation

MIN_VILLAGES, MAX_VILLAGES = selectors.MIN_VILLAGES, selectors.MAX_VILLAGES
PLANNING_ROLES = frozenset(
    {AccountRole.PLANNER, AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN}
)

MSG_NOT_PLANNER = gettext_noop("You may not plan catchments in %(code)s.")
MSG_NO_AREA = gettext_noop("There is no current town or district with code %(code)s.")
MSG_NO_NAME = gettext_noop("Give the plan a name.")
MSG_NOT_DRAFT = gettext_noop("Plan %(plan)s is published and can no longer be edited.")
MSG_VILLAGE_NOT_IN_PLAN = gettext_noop("Village %(code)s is not in this plan's area.")
MSG_STATION_NOT_IN_PLAN = gettext_noop("Station %(code)s is not in this plan.")
MSG_SAME_STATION = gettext_noop("Village %(village)s is already with station %(station)s.")
MSG_NO_VILLAGES = gettext_noop("Pick at least one village.")
MSG_TOO_MANY = gettext_noop(
    "Station %(station)s would have %(count)s villages; a station holds at most %(max)s."
)
MSG_TOO_FEW = gettext_noop(
    "Station %(station)s would have %(count)s villages; a station holds at least %(min)s."
)
MSG_OTHER_TOWN = gettext_noop(
    "Village %(village)s is not in the town of station %(station)s; a station takes villages "
    "of its own town only."
)
MSG_NOT_CONTIGUOUS = gettext_noop(
    "The catchment of station %(station)s would fall apart into pieces that do not touch."
)
MSG_LOCKED = gettext_noop(
    "Station %(station)s is locked: its villages do not change. Unlock it first."
)
MSG_RETIRED = gettext_noop("Station %(station)s is retired in this plan and takes no villages.")
MSG_ALREADY_RETIRED = gettext_noop("Station %(station)s is already retired in this plan.")
MSG_RETIRE_HOLDS = gettext_noop(
    "Station %(station)s still holds %(count)s villages; move them first, or give a reason "
    "and they are left without a station."
)
MSG_OUTSIDE_TOWN = gettext_noop(
    "The new location of station %(station)s is outside its town %(town)s."
)
MSG_NO_TOWN = gettext_noop("Town %(code)s is not in this plan's area.")
MSG_NO_FREE_CODE = gettext_noop("Town %(code)s has no free station number left.")
MSG_NOTHING_TO_UNDO = gettext_noop("There is nothing to undo.")
MSG_NOTHING_TO_REDO = gettext_noop("There is nothing to redo.")
MSG_CSV_LINE = gettext_noop("Line %(line)s: %(error)s")
MSG_CSV_COLUMNS = gettext_noop("expected two columns, village_code,station_code")
MSG_CSV_DUPLICATE = gettext_noop("village %(code)s appears twice")
MSG_CSV_UNKNOWN_VILLAGE = gettext_noop("village %(code)s is not in this plan's area")
MSG_CSV_UNKNOWN_STATION = gettext_noop("station %(code)s is not in this plan")
MSG_CSV_OTHER_TOWN = gettext_noop("village %(village)s is not in the town of station %(station)s")
MSG_CSV_NOT_TEXT = gettext_noop("The file is not UTF-8 text.")
MSG_PUBLISH_DATE = gettext_noop(
    "A plan takes effect today or later; %(date)s has passed (history is not rewritten)."
)
MSG_PUBLISH_LATER_VERSION = gettext_noop(
    "The published assignment of %(code)s already changes on %(date)s; publish from a later "
    "day than that."
)
MSG_PUBLISH_UNASSIGNED = gettext_noop(
    "%(count)s villages have no station (for example %(example)s); every village needs one "
    "before the plan is published."
)
MSG_PUBLISH_VIOLATIONS = gettext_noop(
    "The plan breaks %(count)s constraints; fix them, or give a reason to publish anyway."
)
MSG_PUBLISH_NOTE = gettext_noop("Catchment plan “%(plan)s” in force from %(date)s.")

CSV_HEADER = ("village_code", "station_code")


def may_plan(actor: Any, area_code: str) -> bool:
    """Superusers, and planners and administrators whose jurisdiction holds the area."""
    if actor.is_authenticated and actor.is_superuser:
        return True
    account = granted_account(actor)
    if account is None or account.role not in PLANNING_ROLES:
        return False
    return covers(jurisdiction_prefixes(actor) or [], area_code)


def _locked_plan(actor: Any, plan: Plan) -> Plan:
    """The plan row locked for this transaction, after checking the actor may edit it."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if not may_plan(actor, plan.area_code):
        raise PermissionDenied(_(MSG_NOT_PLANNER) % {"code": plan.area_code})
    if plan.status != Plan.Status.DRAFT:
        raise ValidationError({"plan": _(MSG_NOT_DRAFT) % {"plan": plan.name}})
    return plan


def _plan_station(plan: Plan, code: str) -> PlanStation:
    station = PlanStation.objects.filter(plan=plan, code=(code or "").strip()).first()
    if station is None:
        raise ValidationError({"station": _(MSG_STATION_NOT_IN_PLAN) % {"code": code}})
    return station


# --- create -----------------------------------------------------------------------------------
@transaction.atomic
def plan_create(*, actor: Any, name: str, area_code: str, base_date: dt.date | None = None) -> Plan:
    """A draft copy of the assignment active on ``base_date`` (today) for every current
    village of the town or district ``area_code``, with a copy of its stations."""
    area_code = (area_code or "").strip()
    model = {6: District, 9: Town}.get(len(area_code))
    if model is None or not model.objects.current().filter(code=area_code).exists():
        raise ValidationError({"area_code": _(MSG_NO_AREA) % {"code": area_code}})
    if not may_plan(actor, area_code):
        raise PermissionDenied(_(MSG_NOT_PLANNER) % {"code": area_code})
    if not (name or "").strip():
        raise ValidationError({"name": _(MSG_NO_NAME)})
    base_date = base_date or timezone.localdate()
    plan = Plan(name=name.strip(), author=actor, area_code=area_code, base_date=base_date)
    plan.full_clean()
    plan.save()
    stations = {
        s.pk: PlanStation(
            plan=plan,
            station=s,
            code=s.code,
            name=s.name,
            town_code=code_at(Level.TOWN, s.code),
            location=s.location,
        )
        for s in selectors.published_stations(area_code, base_date)
    }
    PlanStation.objects.bulk_create(stations.values())
    codes = (
        Village.objects.current().filter(code__startswith=area_code).values_list("code", flat=True)
    )
    published = dict(
        CatchmentAssignment.objects.active(base_date)
        .filter(village__code__startswith=area_code)
        .values_list("village__code", "station_id")
    )
    PlanAssignment.objects.bulk_create(
        PlanAssignment(
            plan=plan,
            village_code=code,
            station=stations.get(published.get(code)),  # type: ignore[arg-type]
        )
        for code in codes
    )
    return plan


# --- constraints ------------------------------------------------------------------------------
def _violations(
    plan: Plan,
    moves: Mapping[str, PlanStation | None],
    assignments: Mapping[str, PlanStation | None],
) -> tuple[list[str], list[str]]:
    """(hard refusals, overridable reasons) of moving the villages ``moves`` at once, given
    the plan's current ``assignments`` (village -> station)."""
    hard: list[str] = []
    reasons: list[str] = []
    before: dict[int, list[str]] = {}
    stations: dict[int, PlanStation] = {}
    for code, station in assignments.items():
        if station is not None:
            before.setdefault(station.pk, []).append(code)
            stations[station.pk] = station
    after = {pk: list(codes) for pk, codes in before.items()}
    for code, station in moves.items():
        old = assignments[code]
        if old is not None:
            after[old.pk].remove(code)
        if station is not None:
            after.setdefault(station.pk, []).append(code)
            stations[station.pk] = station
    touched = {s.pk for s in moves.values() if s is not None} | {
        assignments[c].pk
        for c in moves
        if assignments[c] is not None  # type: ignore[union-attr]
    }
    for pk in sorted(touched, key=lambda k: stations[k].code):
        station = stations[pk]
        if station.locked:
            hard.append(_(MSG_LOCKED) % {"station": station.code})
        elif station.retired and len(after.get(pk, [])) > len(before.get(pk, [])):
            hard.append(_(MSG_RETIRED) % {"station": station.code})
    for code, station in sorted(moves.items()):
        if station is not None and code_at(Level.TOWN, code) != station.town_code:
            reasons.append(_(MSG_OTHER_TOWN) % {"village": code, "station": station.code})
    pairs = selectors.adjacency(c for pk in touched for c in [*before.get(pk, []), *after[pk]])
    for pk in sorted(touched, key=lambda k: stations[k].code):
        code = stations[pk].code
        n_before, n_after = len(before.get(pk, [])), len(after.get(pk, []))
        if n_after > MAX_VILLAGES and n_after > n_before:
            reasons.append(
                _(MSG_TOO_MANY) % {"station": code, "count": n_after, "max": MAX_VILLAGES}
            )
        if n_after < MIN_VILLAGES and n_after < n_before:
            reasons.append(
                _(MSG_TOO_FEW) % {"station": code, "count": n_after, "min": MIN_VILLAGES}
            )
        pieces_before = selectors.pieces(before.get(pk, []), pairs)
        if selectors.pieces(after.get(pk, []), pairs) > max(pieces_before, 1):
            reasons.append(_(MSG_NOT_CONTIGUOUS) % {"station": code})
    return hard, reasons


def _next_batch(plan: Plan) -> tuple[int, int]:
    """(next seq, next batch) of the plan; a fresh edit also ends the redo stack (pending
    undone changes stay in the log, marked discarded)."""
    plan.changes.filter(undone=True, discarded=False).update(discarded=True)
    agg = plan.changes.aggregate(seq=Max("seq"), batch=Max("batch"))
    return (agg["seq"] or 0) + 1, (agg["batch"] or 0) + 1


def _assign_batch(
    *,
    actor: Any,
    plan: Plan,
    moves: Mapping[str, PlanStation | None],
    override_reason: str,
    action: str,
    check: bool = True,
) -> list[PlanChange]:
    """Check and apply ``moves`` (village -> station) as one batch of changes."""
    assignments = {a.village_code: a for a in plan.assignments.select_related("station").order_by()}
    unknown = sorted(set(moves) - set(assignments))
    if unknown:
        raise ValidationError(
            {"village": [_(MSG_VILLAGE_NOT_IN_PLAN) % {"code": c} for c in unknown]}
        )
    moves = {c: s for c, s in moves.items() if assignments[c].station_id != (s.pk if s else None)}
    if not moves:
        return []
    current = {c: a.station for c, a in assignments.items()}
    override_reason = (override_reason or "").strip()
    reasons: list[str] = []
    if check:
        hard, reasons = _violations(plan, moves, current)
        if hard:
            raise ValidationError({"constraints": hard})
        if reasons and not override_reason:
            raise ValidationError({"constraints": reasons})
    seq, batch = _next_batch(plan)
    changes = []
    for offset, (code, station) in enumerate(sorted(moves.items())):
        changes.append(
            PlanChange(
                plan=plan,
                seq=seq + offset,
                batch=batch,
                kind=ChangeKind.ASSIGN,
                action=action,
                village_code=code,
                from_station=current[code],
                to_station=station,
                override_reason=override_reason if reasons else "",
                by=actor,
            )
        )
        assignments[code].station = station
    PlanChange.objects.bulk_create(changes)
    PlanAssignment.objects.bulk_update([assignments[c] for c in moves], ["station"])
    return changes


@transaction.atomic
def plan_assign(
    *,
    actor: Any,
    plan: Plan,
    village_code: str | Iterable[str],
    station: str,
    override_reason: str = "",
    action: str = "click",
) -> list[PlanChange]:
    """Move one village (a click) or several (a brush stroke) to the station with code
    ``station``, as one batch, after checking the constraints on the result.

    Raises ``ValidationError`` (key ``constraints``, one message per broken rule) unless
    ``override_reason`` is written; the reason is kept in the changes.
    """
    plan = _locked_plan(actor, plan)
    target = _plan_station(plan, station)
    codes = [village_code] if isinstance(village_code, str) else list(village_code)
    codes = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not codes:
        raise ValidationError({"village": _(MSG_NO_VILLAGES)})
    if len(codes) == 1:
        same = plan.assignments.filter(village_code=codes[0], station=target).exists()
        if same:
            raise ValidationError(
                {"station": _(MSG_SAME_STATION) % {"village": codes[0], "station": target.code}}
            )
    return _assign_batch(
        actor=actor,
        plan=plan,
        moves=dict.fromkeys(codes, target),
        override_reason=override_reason,
        action=action,
    )


# --- stations ---------------------------------------------------------------------------------
def _station_change(
    *, actor: Any, plan: Plan, station: PlanStation, kind: str, reason: str = "", **fields: Any
) -> PlanChange:
    seq, batch = _next_batch(plan)
    change = PlanChange(
        plan=plan,
        seq=seq,
        batch=batch,
        kind=kind,
        action=kind,
        station=station,
        override_reason=reason,
        by=actor,
        **fields,
    )
    change.full_clean()
    change.save()
    return change


def _in_srid(location: Point) -> Point:
    srid = settings.GRIDMAP_SRID
    if location.srid is None:
        location.srid = srid
    return location if location.srid == srid else location.transform(srid, clone=True)


def _check_in_town(station: PlanStation, location: Point, reason: str) -> str:
    """The override reason to record ('' when the location is inside the station's town)."""
    inside = Town.objects.current().filter(code=station.town_code, geom__covers=location).exists()
    if inside:
        return ""
    message = _(MSG_OUTSIDE_TOWN) % {"station": station.code, "town": station.town_code}
    if not (reason or "").strip():
        raise ValidationError({"constraints": [message]})
    return reason.strip()


@transaction.atomic
def plan_station_move(
    *, actor: Any, plan: Plan, station: str, location: Point, override_reason: str = ""
) -> PlanChange:
    """Move a station of the plan (it must stay in its town, unless overridden)."""
    plan = _locked_plan(actor, plan)
    target = _plan_station(plan, station)
    location = _in_srid(location)
    reason = _check_in_town(target, location, override_reason)
    change = _station_change(
        actor=actor,
        plan=plan,
        station=target,
        kind=ChangeKind.MOVE,
        reason=reason,
        from_location=target.location,
        to_location=location,
    )
    target.location = location
    target.save(update_fields=["location"])
    return change


def _free_code(plan: Plan, town_code: str) -> str:
    used = set(Station.objects.filter(code__startswith=town_code).values_list("code", flat=True))
    used |= set(plan.stations.filter(town_code=town_code).values_list("code", flat=True))
    numbers = {int(m.group(1)) for c in used if (m := re.fullmatch(r"\d{9}S(\d{2})", c))}
    free = next((n for n in range(1, 100) if n not in numbers), None)
    if free is None:
        raise ValidationError({"station": _(MSG_NO_FREE_CODE) % {"code": town_code}})
    return f"{town_code}S{free:02d}"


@transaction.atomic
def plan_station_add(
    *, actor: Any, plan: Plan, town_code: str, name: str, location: Point, override_reason: str = ""
) -> PlanStation:
    """A new station in the plan's town ``town_code`` (the next free code of the town); it
    becomes a real station when the plan is published."""
    plan = _locked_plan(actor, plan)
    town_code = (town_code or "").strip()
    if not town_code.startswith(plan.area_code) or len(town_code) != CODE_LENGTH[Level.TOWN]:
        raise ValidationError({"town": _(MSG_NO_TOWN) % {"code": town_code}})
    if not Town.objects.current().filter(code=town_code).exists():
        raise ValidationError({"town": _(MSG_NO_TOWN) % {"code": town_code}})
    if not (name or "").strip():
        raise ValidationError({"name": _(MSG_NO_NAME)})
    station = PlanStation(
        plan=plan,
        code=_free_code(plan, town_code),
        name=name.strip(),
        town_code=town_code,
        location=_in_srid(location),
    )
    reason = _check_in_town(station, location, override_reason)
    station.full_clean()
    station.save()
    _station_change(
        actor=actor,
        plan=plan,
        station=station,
        kind=ChangeKind.ADD,
        reason=reason,
        to_location=location,
    )
    return station


@transaction.atomic
def plan_station_retire(
    *, actor: Any, plan: Plan, station: str, override_reason: str = ""
) -> list[PlanChange]:
    """Retire a station in the plan. One that still holds villages is refused unless a reason
    is given; its villages are then left without a station (one batch, undone together)."""
    plan = _locked_plan(actor, plan)
    target = _plan_station(plan, station)
    if target.retired:
        raise ValidationError({"station": _(MSG_ALREADY_RETIRED) % {"station": target.code}})
    if target.locked:
        raise ValidationError({"constraints": [_(MSG_LOCKED) % {"station": target.code}]})
    villages = list(target.assignments.values_list("village_code", flat=True))
    reason = (override_reason or "").strip()
    if villages and not reason:
        raise ValidationError(
            {
                "constraints": [
                    _(MSG_RETIRE_HOLDS) % {"station": target.code, "count": len(villages)}
                ]
            }
        )
    changes = _assign_batch(
        actor=actor,
        plan=plan,
        moves=dict.fromkeys(villages, None),
        override_reason=reason,
        action=ChangeKind.RETIRE,
        check=False,
    )
    batch = changes[0].batch if changes else _next_batch(plan)[1]
    seq = (plan.changes.aggregate(m=Max("seq"))["m"] or 0) + 1
    retire = PlanChange(
        plan=plan,
        seq=seq,
        batch=batch,
        kind=ChangeKind.RETIRE,
        action=ChangeKind.RETIRE,
        station=target,
        override_reason=reason if villages else "",
        by=actor,
    )
    retire.save()
    target.retired = True
    target.save(update_fields=["retired"])
    return [*changes, retire]


@transaction.atomic
def plan_station_lock(*, actor: Any, plan: Plan, station: str, locked: bool) -> PlanChange | None:
    """Lock (or unlock) a station: a locked station's villages do not change, by hand or by
    a proposal. Returns None when the station already was so."""
    plan = _locked_plan(actor, plan)
    target = _plan_station(plan, station)
    if target.locked == locked:
        return None
    change = _station_change(
        actor=actor,
        plan=plan,
        station=target,
        kind=ChangeKind.LOCK if locked else ChangeKind.UNLOCK,
    )
    target.locked = locked
    target.save(update_fields=["locked"])
    return change


# --- undo / redo ------------------------------------------------------------------------------
def _replay(plan: Plan, change: PlanChange, *, forward: bool) -> None:
    """Apply a change (``forward``) or take it back."""
    kind = change.kind
    if kind == ChangeKind.ASSIGN:
        station_id = change.to_station_id if forward else change.from_station_id
        PlanAssignment.objects.filter(plan=plan, village_code=change.village_code).update(
            station_id=station_id
        )
    elif kind == ChangeKind.MOVE:
        location = change.to_location if forward else change.from_location
        PlanStation.objects.filter(pk=change.station_id).update(location=location)
    elif kind in (ChangeKind.ADD, ChangeKind.RETIRE):
        # Undoing an addition retires the new station (it is never published).
        retired = (kind == ChangeKind.RETIRE) == forward
        PlanStation.objects.filter(pk=change.station_id).update(retired=retired)
    elif kind in (ChangeKind.LOCK, ChangeKind.UNLOCK):
        locked = (kind == ChangeKind.LOCK) == forward
        PlanStation.objects.filter(pk=change.station_id).update(locked=locked)


@transaction.atomic
def plan_undo(*, actor: Any, plan: Plan) -> list[PlanChange]:
    """Undo the newest live batch of the plan (its changes newest first)."""
    plan = _locked_plan(actor, plan)
    last = plan.changes.filter(undone=False).aggregate(b=Max("batch"))["b"]
    if last is None:
        raise ValidationError({"plan": _(MSG_NOTHING_TO_UNDO)})
    changes = list(plan.changes.filter(batch=last).order_by("-seq"))
    for change in changes:
        _replay(plan, change, forward=False)
    plan.changes.filter(batch=last).update(undone=True)
    return changes


@transaction.atomic
def plan_redo(*, actor: Any, plan: Plan) -> list[PlanChange]:
    """Redo the oldest undone batch above the newest live one (its changes in order)."""
    plan = _locked_plan(actor, plan)
    first = plan.changes.filter(undone=True, discarded=False).order_by("seq").first()
    if first is None:
        raise ValidationError({"plan": _(MSG_NOTHING_TO_REDO)})
    changes = list(plan.changes.filter(batch=first.batch).order_by("seq"))
    for change in changes:
        _replay(plan, change, forward=True)
    plan.changes.filter(batch=first.batch).update(undone=False)
    return changes


# --- CSV --------------------------------------------------------------------------------------
def plan_export_csv(plan: Plan) -> str:
    """``village_code,station_code`` per village of the plan (empty station: unassigned).

    Codes are digits and ``S`` and never start like a formula; the cells still go through
    ``gridmap.exports.safe_row``, as every export's do, and the import reads them back with
    ``read_cell``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(safe_row(CSV_HEADER))
    rows = plan.assignments.order_by("village_code").values_list("village_code", "station__code")
    writer.writerows(safe_row((code, station or "")) for code, station in rows)
    return out.getvalue()


@transaction.atomic
def plan_import_csv(*, actor: Any, plan: Plan, text: str | bytes) -> list[PlanChange]:
    """Apply a ``village_code,station_code`` CSV to the plan as one batch.

    Codes are validated (villages of the plan, stations of the plan, of the village's town);
    every error is reported with its line and nothing is written. An empty station code leaves
    the village unassigned, as ``plan_export_csv`` writes it. Counts and contiguity are not
    enforced here: a whole plan passes through states a single click would be refused, and
    the statistics and the publish step show them.
    """
    plan = _locked_plan(actor, plan)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"csv": [_(MSG_CSV_NOT_TEXT)]}) from None
    text = text.lstrip("\ufeff")
    villages = set(plan.assignments.values_list("village_code", flat=True))
    stations = {s.code: s for s in plan.stations.all()}
    errors: list[str] = []
    wanted: dict[str, PlanStation | None] = {}

    def fail(line: int, msgid: str, **params: str) -> None:
        errors.append(_(MSG_CSV_LINE) % {"line": line, "error": _(msgid) % params})

    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        row = [read_cell(cell).strip() for cell in row]
        if not any(row) or (line == 1 and tuple(row) == CSV_HEADER):
            continue
        if len(row) != 2:
            fail(line, MSG_CSV_COLUMNS)
            continue
        village_code, station_code = row
        if village_code not in villages:
            fail(line, MSG_CSV_UNKNOWN_VILLAGE, code=village_code)
        elif village_code in wanted:
            fail(line, MSG_CSV_DUPLICATE, code=village_code)
        elif not station_code:
            wanted[village_code] = None  # unassigned, as exported
        elif station_code not in stations:
            fail(line, MSG_CSV_UNKNOWN_STATION, code=station_code)
        elif code_at(Level.TOWN, village_code) != stations[station_code].town_code:
            fail(line, MSG_CSV_OTHER_TOWN, village=village_code, station=station_code)
        else:
            wanted[village_code] = stations[station_code]
    if errors:
        raise ValidationError({"csv": errors})
    return _assign_batch(
        actor=actor, plan=plan, moves=wanted, override_reason="", action="csv", check=False
    )


# --- proposals --------------------------------------------------------------------------------
@transaction.atomic
def plan_solve(
    *,
    actor: Any,
    plan: Plan,
    mode: str = "propose",
    stay_close: bool = False,
    time_limit: float = 8.0,
) -> Any:
    """Run ``Propose`` (a complete plan from the plan's stations) or ``Repair`` (fix only the
    violations, moving as few villages as it can) and apply the answer as one batch (undone
    together). Returns the solver's ``Result``; nothing is applied when it found no plan."""
    from . import solver

    plan = _locked_plan(actor, plan)
    problem = selectors.plan_problem(plan)
    if mode == "repair":
        result = solver.repair(problem, time_limit=time_limit)
    else:
        result = solver.propose(problem, stay_close=stay_close, time_limit=time_limit)
    if result.status in ("optimal", "feasible") and result.assignment:
        stations = {s.pk: s for s in plan.stations.all()}
        moves = {code: stations[key] for code, key in result.assignment.items()}
        result.changes = _assign_batch(
            actor=actor, plan=plan, moves=moves, override_reason="", action=mode, check=False
        )
    else:
        result.changes = []
    return result


# --- publish ----------------------------------------------------------------------------------
@transaction.atomic
def plan_publish(
    *, actor: Any, plan: Plan, effective_from: dt.date | None = None, override_reason: str = ""
) -> Plan:
    """Make the plan the current assignment from ``effective_from`` (today), as a new dated
    version of every village's ``CatchmentAssignment`` in the area; earlier versions keep
    their periods (history). Stations added in the plan are created, moved ones get their new
    location, retired ones are marked retired. Open incidents whose station changes are
    re-assigned with a history entry each (now when the plan takes effect today, else by the
    clock on the day: ``planning.tasks``); closed ones keep their station.

    Every village must have a station; other broken constraints need a written reason.
    """
    plan = _locked_plan(actor, plan)
    today = timezone.localdate()
    day = effective_from or today
    if day < today:
        raise ValidationError({"effective_from": _(MSG_PUBLISH_DATE) % {"date": day}})
    later = (
        CatchmentAssignment.objects.filter(
            village__code__startswith=plan.area_code, period__startswith__gte=day
        )
        .order_by("period__startswith")
        .values_list("period__startswith", flat=True)
        .first()
    )
    if later is not None:
        raise ValidationError(
            {
                "effective_from": _(MSG_PUBLISH_LATER_VERSION)
                % {"code": plan.area_code, "date": later}
            }
        )
    unassigned = list(
        plan.assignments.filter(station__isnull=True).values_list("village_code", flat=True)
    )
    if unassigned:
        raise ValidationError(
            {
                "plan": _(MSG_PUBLISH_UNASSIGNED)
                % {"count": len(unassigned), "example": unassigned[0]}
            }
        )
    violations = selectors.plan_violations(plan)
    reason = (override_reason or "").strip()
    if violations and not reason:
        raise ValidationError(
            {
                "constraints": [_(MSG_PUBLISH_VIOLATIONS) % {"count": len(violations)}]
                + [v["message"] for v in violations]
            }
        )
    # Stations: create the new ones, move and retire the published ones.
    for ps in plan.stations.select_related("station").order_by("code"):
        if ps.station_id is None:
            if ps.retired:
                continue
            town = Town.objects.current().get(code=ps.town_code)
            station = Station(code=ps.code, name=ps.name, location=ps.location, town=town)
            station.full_clean()
            station.save()
            ps.station = station
            ps.save(update_fields=["station"])
            continue
        station = ps.station
        fields = []
        if not station.location.equals_exact(ps.location, 1e-9):
            station.location = ps.location
            fields.append("location")
        if ps.retired and station.retired_on is None:
            station.retired_on = day
            fields.append("retired_on")
        if fields:
            station.save(update_fields=fields)
    # The new version: every village of the area from ``day`` on.
    selectors.close_catchments(plan.area_code, day)
    villages = dict(
        Village.objects.current().filter(code__startswith=plan.area_code).values_list("code", "pk")
    )
    rows = plan.assignments.select_related("station").order_by("village_code")
    CatchmentAssignment.objects.bulk_create(
        CatchmentAssignment(
            village_id=villages[a.village_code],
            station_id=a.station.station_id,
            period=(day, None),
        )
        for a in rows
        if a.village_code in villages
    )
    plan.status = Plan.Status.PUBLISHED
    plan.effective_from = day
    plan.published_at = timezone.now()
    plan.published_by = actor
    plan.publish_reason = reason if violations else ""
    plan.save()
    if day <= today:
        reassign_incidents(plan, actor=actor)
    return plan


def reassign_incidents(plan: Plan, *, actor: Any | None, today: dt.date | None = None) -> list[int]:
    """Re-assign the open incidents of a published plan's area to the stations of today's
    catchments (see ``incidents.workflow.reassign_stations``); the ids of those that
    changed. Nothing before the plan takes effect."""
    today = today or timezone.localdate()
    day = plan.effective_from
    if plan.status != Plan.Status.PUBLISHED or day is None or day > today:
        return []
    with_plan = {"plan": plan.pk, "plan_name": plan.name, "effective_from": day.isoformat()}
    with translation.override(settings.LANGUAGE_CODE):
        note = _(MSG_PUBLISH_NOTE) % {"plan": plan.name, "date": day.isoformat()}
    return reassign_stations(
        area_prefix=plan.area_code, on=today, actor=actor, note=note, data=with_plan
    )


# --- islands ----------------------------------------------------------------------------------
MSG_ISLAND_NOTE = gettext_noop("ferry or bridge to an island village (added automatically)")

_NEAREST_OUTSIDE = """
SELECT a.code, b.code
  FROM {village} a
  JOIN {village} b
    ON b.generation_high_id IS NULL AND left(b.code, 9) = left(a.code, 9)
   AND NOT (b.code = ANY(%(piece)s))
 WHERE a.generation_high_id IS NULL AND a.code = ANY(%(piece)s)
 ORDER BY ST_Distance(a.geom::geography, b.geom::geography), a.code, b.code
 LIMIT 1
""".format(village=table(Village))


@transaction.atomic
def link_islands(area_prefix: str) -> list[Any]:
    """Give every piece of a town's villages too small for any contiguous catchment (fewer
    than 3 villages touching each other and nothing else: an island, a village touching
    others only at corners) an ``AllowedLink`` from its village nearest to the rest of the
    town to that nearest village, as a ferry or a bridge would. Idempotent; returns the links
    made. Used by the demo (its generated coast has islands); for real data, a planner records
    the real ferry or bridge in the admin."""
    from .models import AllowedLink

    codes = list(
        Village.objects.current()
        .filter(code__startswith=area_prefix)
        .order_by("code")
        .values_list("code", flat=True)
    )
    by_town: dict[str, list[str]] = {}
    for code in codes:
        by_town.setdefault(code_at(Level.TOWN, code), []).append(code)
    made = []
    for town_codes in by_town.values():
        if len(town_codes) < MIN_VILLAGES:
            continue
        while True:
            pairs = selectors.adjacency(town_codes)
            small = [p for p in selectors.components(town_codes, pairs) if len(p) < MIN_VILLAGES]
            if not small:
                break
            with connection.cursor() as cur:
                cur.execute(_NEAREST_OUTSIDE, {"piece": sorted(small[0])})
                row = cur.fetchone()
            if row is None:
                break
            a, b = sorted(row)
            link, created = AllowedLink.objects.get_or_create(
                village_a=a, village_b=b, defaults={"note": MSG_ISLAND_NOTE}
            )
            if not created:
                break
            made.append(link)
    return made
