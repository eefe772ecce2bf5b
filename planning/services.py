"""Writes of plans: create, assign (constraints checked first), undo/redo, CSV import.

Constraints on a change (refused with the reason unless the planner writes an override reason,
which is kept in the ``PlanChange``):

- a station holds 3-7 villages: the gaining station may not go above 7, the losing one may not
  fall below 3 (a change that moves a station towards the range is never refused);
- a station takes villages of its own town only;
- the catchments of both stations stay contiguous (see ``selectors.adjacency``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import AccountRole
from accounts.selectors import account_of, jurisdiction_prefixes
from grids.models import CatchmentAssignment, District, Station, Town, Village

from . import selectors
from .models import Plan, PlanAssignment, PlanChange

MIN_VILLAGES = 3
MAX_VILLAGES = 7
PLANNING_ROLES = frozenset(
    {AccountRole.PLANNER, AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN}
)

MSG_NOT_PLANNER = gettext_noop("You may not plan catchments in %(code)s.")
MSG_NO_AREA = gettext_noop("There is no current town or district with code %(code)s.")
MSG_NO_NAME = gettext_noop("Give the plan a name.")
MSG_NOT_DRAFT = gettext_noop("Plan %(plan)s is published and can no longer be edited.")
MSG_VILLAGE_NOT_IN_PLAN = gettext_noop("Village %(code)s is not in this plan's area.")
MSG_STATION_NOT_IN_PLAN = gettext_noop("Station %(code)s is not in this plan's area.")
MSG_SAME_STATION = gettext_noop("Village %(village)s is already with station %(station)s.")
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
MSG_NOTHING_TO_UNDO = gettext_noop("There is nothing to undo.")
MSG_NOTHING_TO_REDO = gettext_noop("There is nothing to redo.")
MSG_CSV_LINE = gettext_noop("Line %(line)s: %(error)s")
MSG_CSV_COLUMNS = gettext_noop("expected two columns, village_code,station_code")
MSG_CSV_DUPLICATE = gettext_noop("village %(code)s appears twice")
MSG_CSV_UNKNOWN_VILLAGE = gettext_noop("village %(code)s is not in this plan's area")
MSG_CSV_UNKNOWN_STATION = gettext_noop("station %(code)s is not in this plan's area")
MSG_CSV_OTHER_TOWN = gettext_noop("village %(village)s is not in the town of station %(station)s")

CSV_HEADER = ("village_code", "station_code")


def may_plan(actor: Any, area_code: str) -> bool:
    """Superusers, and planners and administrators whose jurisdiction holds the area."""
    if actor.is_authenticated and actor.is_superuser:
        return True
    account = account_of(actor)
    if account is None or account.role not in PLANNING_ROLES:
        return False
    prefixes = jurisdiction_prefixes(actor) or []
    return any(area_code.startswith(p) for p in prefixes)


def _check_editable(actor: Any, plan: Plan) -> None:
    if not may_plan(actor, plan.area_code):
        raise PermissionDenied(_(MSG_NOT_PLANNER) % {"code": plan.area_code})
    if plan.status != Plan.Status.DRAFT:
        raise ValidationError({"plan": _(MSG_NOT_DRAFT) % {"plan": plan.name}})


@transaction.atomic
def plan_create(*, actor: Any, name: str, area_code: str, base_date: dt.date | None = None) -> Plan:
    """A draft copy of the assignment active on ``base_date`` (today) for every current
    village of the town or district ``area_code``."""
    area_code = (area_code or "").strip()
    model = {6: District, 9: Town}.get(len(area_code))
    if model is None or not model.objects.current().filter(code=area_code).exists():
        raise ValidationError({"area_code": _(MSG_NO_AREA) % {"code": area_code}})
    if not may_plan(actor, area_code):
        raise PermissionDenied(_(MSG_NOT_PLANNER) % {"code": area_code})
    if not (name or "").strip():
        raise ValidationError({"name": _(MSG_NO_NAME)})
    base_date = base_date or dt.date.today()
    plan = Plan(name=name.strip(), author=actor, area_code=area_code, base_date=base_date)
    plan.full_clean()
    plan.save()
    codes = (
        Village.objects.current().filter(code__startswith=area_code).values_list("code", flat=True)
    )
    published = dict(
        CatchmentAssignment.objects.active(base_date)
        .filter(village__code__startswith=area_code)
        .values_list("village__code", "station_id")
    )
    PlanAssignment.objects.bulk_create(
        PlanAssignment(plan=plan, village_code=code, station_id=published.get(code))
        for code in codes
    )
    return plan


def _violations(plan: Plan, village_code: str, station: Station) -> list[str]:
    """Reasons the move of ``village_code`` to ``station`` breaks a constraint (empty: none)."""
    catchments = selectors.plan_catchments(plan)
    current = PlanAssignment.objects.select_related("station").get(
        plan=plan, village_code=village_code
    )
    losing = current.station
    gaining = [*catchments.get(station.pk, []), village_code]
    reasons = []
    if village_code[:9] != station.town.code:
        reasons.append(_(MSG_OTHER_TOWN) % {"village": village_code, "station": station.code})
    if len(gaining) > MAX_VILLAGES:
        reasons.append(
            _(MSG_TOO_MANY) % {"station": station.code, "count": len(gaining), "max": MAX_VILLAGES}
        )
    left: list[str] = []
    if losing is not None:
        left = [c for c in catchments.get(losing.pk, []) if c != village_code]
        if len(left) < MIN_VILLAGES:
            reasons.append(
                _(MSG_TOO_FEW) % {"station": losing.code, "count": len(left), "min": MIN_VILLAGES}
            )
    pairs = selectors.adjacency([*gaining, *left])
    if not selectors.is_contiguous(gaining, pairs):
        reasons.append(_(MSG_NOT_CONTIGUOUS) % {"station": station.code})
    if losing is not None and not selectors.is_contiguous(left, pairs):
        reasons.append(_(MSG_NOT_CONTIGUOUS) % {"station": losing.code})
    return reasons


def _record(
    *, actor: Any, plan: Plan, assignment: PlanAssignment, station: Station | None, reason: str
) -> PlanChange:
    # A fresh edit ends the redo stack: pending undone changes stay, marked discarded.
    plan.changes.filter(undone=True, discarded=False).update(discarded=True)
    seq = (plan.changes.aggregate(m=Max("seq"))["m"] or 0) + 1
    change = PlanChange(
        plan=plan,
        seq=seq,
        village_code=assignment.village_code,
        from_station=assignment.station,
        to_station=station,
        override_reason=reason,
        by=actor,
    )
    change.full_clean()
    change.save()
    assignment.station = station
    assignment.save(update_fields=["station"])
    return change


def _plan_station(plan: Plan, station: Station) -> None:
    if not station.code.startswith(plan.area_code):
        raise ValidationError({"station": _(MSG_STATION_NOT_IN_PLAN) % {"code": station.code}})


@transaction.atomic
def plan_assign(
    *, actor: Any, plan: Plan, village_code: str, station: Station, override_reason: str = ""
) -> PlanChange:
    """Move ``village_code`` to ``station`` in the plan, after checking the constraints.

    Raises ``ValidationError`` (key ``constraints``, one message per broken rule) unless
    ``override_reason`` is written; the reason is kept in the change.
    """
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    _check_editable(actor, plan)
    _plan_station(plan, station)
    assignment = PlanAssignment.objects.filter(plan=plan, village_code=village_code).first()
    if assignment is None:
        raise ValidationError({"village": _(MSG_VILLAGE_NOT_IN_PLAN) % {"code": village_code}})
    if assignment.station_id == station.pk:
        raise ValidationError(
            {"station": _(MSG_SAME_STATION) % {"village": village_code, "station": station.code}}
        )
    override_reason = (override_reason or "").strip()
    reasons = _violations(plan, village_code, station)
    if reasons and not override_reason:
        raise ValidationError({"constraints": reasons})
    return _record(
        actor=actor,
        plan=plan,
        assignment=assignment,
        station=station,
        reason=override_reason if reasons else "",
    )


def _apply(plan: Plan, change: PlanChange, station_id: int | None) -> None:
    PlanAssignment.objects.filter(plan=plan, village_code=change.village_code).update(
        station_id=station_id
    )


@transaction.atomic
def plan_undo(*, actor: Any, plan: Plan) -> PlanChange:
    """Undo the newest live change of the plan."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    _check_editable(actor, plan)
    change = plan.changes.filter(undone=False).order_by("-seq").first()
    if change is None:
        raise ValidationError({"plan": _(MSG_NOTHING_TO_UNDO)})
    _apply(plan, change, change.from_station_id)
    change.undone = True
    change.save(update_fields=["undone"])
    return change


@transaction.atomic
def plan_redo(*, actor: Any, plan: Plan) -> PlanChange:
    """Redo the oldest undone change above the newest live one."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    _check_editable(actor, plan)
    change = plan.changes.filter(undone=True, discarded=False).order_by("seq").first()
    if change is None:
        raise ValidationError({"plan": _(MSG_NOTHING_TO_REDO)})
    _apply(plan, change, change.to_station_id)
    change.undone = False
    change.save(update_fields=["undone"])
    return change


def plan_export_csv(plan: Plan) -> str:
    """``village_code,station_code`` per village of the plan (empty station: unassigned)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    rows = plan.assignments.order_by("village_code").values_list("village_code", "station__code")
    writer.writerows((code, station or "") for code, station in rows)
    return out.getvalue()


@transaction.atomic
def plan_import_csv(*, actor: Any, plan: Plan, text: str) -> list[PlanChange]:
    """Apply a ``village_code,station_code`` CSV to the plan in one transaction.

    Codes are validated (villages of the plan, stations of its area, of the village's town);
    every error is reported with its line and nothing is written. An empty station code leaves
    the village unassigned, as ``plan_export_csv`` writes it. Each moved village is one
    change, so it can be undone. Counts and contiguity are not enforced here: a whole plan
    passes through states a single click would be refused, and the statistics show them.
    """
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    _check_editable(actor, plan)
    assignments = {a.village_code: a for a in plan.assignments.select_related("station")}
    stations = {s.code: s for s in selectors.plan_stations(plan).select_related("town")}
    errors: list[str] = []
    wanted: dict[str, Station | None] = {}

    def fail(line: int, msgid: str, **params: str) -> None:
        errors.append(_(MSG_CSV_LINE) % {"line": line, "error": _(msgid) % params})

    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        row = [cell.strip() for cell in row]
        if not any(row) or (line == 1 and tuple(row) == CSV_HEADER):
            continue
        if len(row) != 2:
            fail(line, MSG_CSV_COLUMNS)
            continue
        village_code, station_code = row
        if village_code not in assignments:
            fail(line, MSG_CSV_UNKNOWN_VILLAGE, code=village_code)
        elif village_code in wanted:
            fail(line, MSG_CSV_DUPLICATE, code=village_code)
        elif not station_code:
            wanted[village_code] = None  # unassigned, as exported
        elif station_code not in stations:
            fail(line, MSG_CSV_UNKNOWN_STATION, code=station_code)
        elif village_code[:9] != stations[station_code].town.code:
            fail(line, MSG_CSV_OTHER_TOWN, village=village_code, station=station_code)
        else:
            wanted[village_code] = stations[station_code]
    if errors:
        raise ValidationError({"csv": errors})
    return [
        _record(actor=actor, plan=plan, assignment=assignments[code], station=station, reason="")
        for code, station in sorted(wanted.items())
        if assignments[code].station != station
    ]
