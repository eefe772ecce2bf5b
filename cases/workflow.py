"""The case workflow: who may do what to a case, in which state. The one place of the rule.

Written against the abstract case (``cases.models.Case``): every kind of case registered in
``cases.kinds`` goes through it. The case page, the API, the admin and the clock
(``cases.clock``) all call ``allowed_actions`` and ``case_act``; nothing else changes a
case's state.

The rule is data: ``TRANSITIONS`` maps each action to who may take it (the party), in which
states (the sources), the state it leads to (the target, when fixed), the conditions that
must hold, and one small handler that changes the case fields (the idea of django-fsm's
``@transition(source, target, conditions, permission)``). ``@transition`` declares one.

States and actions
------------------
::

    reported --assess--> reported, re-graded and re-routed       (研判, before acknowledging)
    reported --acknowledge--> acknowledged --start--> in_progress --resolve--> resolved
        (resolve also straight from acknowledged)
    resolved --verify--> verified --close_out--> closed          (销号)
    resolved / verified --reopen--> in_progress                  (verification failed: 返工)
    resolved / verified / closed --callback--> (rating; 1-2 also appends a reopen)
    reported / acknowledged / in_progress --return_case--> returned, one level up (退单)
    returned --redispatch--> reported, at the place named          (the right place)
    reported / acknowledged / in_progress / returned --escalate--> reported, one level up
    reported / acknowledged / in_progress: request_extension, then grant or refuse (延期)
    any open state --cancel--> cancelled                          (duplicate or invalid)

A kind may offer its own table (``CaseKind.transitions``, built from this one with
``kind_transitions``: the actions it keeps, changes of party, sources or target, and actions of
its own such as a service request's ``hand_off``, ``step_back`` and ``decline``); every
function here reads the case's kind's table (``transitions_of``), and the kind's options
(extra handler roles, labels, no reopen on a low rating, deadlines kept on escalation) are
read where they apply (``cases.kinds.CaseKind``).

``report`` is the first event of every case, appended by ``record_report`` when the kind
creates it. ``reassign_station`` is appended to each open incident whose village a published
catchment plan gives to another station (``incidents.workflow.reassign_stations``); the
state and the owner do not change.

Who owns what
-------------
A case has an owner: ``owner_level`` (grid, village, town, county, city) and ``owner_code``
(the place at that level: grid 15 digits, village 12, town 9, county 6, city ``NNNN00``).
It starts at the routing's responsible level; escalation and return move it one level up
(grid -> village ``code[:12]`` -> town ``code[:9]`` -> county ``code[:6]`` -> city
``code[:4] + "00"``); redispatch sets it. Roles are those active on the day of the action:
a person's (a login linked to a ``Worker``) come from their ``RoleAssignment`` rows only, a
place-level account of theirs counts for nothing (``accounts.selectors.granted_account``);
the accounts named below are office grants and logins that are nobody's worker yet.

- **Handlers** (the owner level's people) assess (re-grade, while the case is still
  ``reported``: the receiving level, before acknowledging it), acknowledge, start (on site:
  到场), resolve, return, ask for more time and escalate:
  grid: the grid's leader (``RoleAssignment`` grid_leader, through ``Worker.user``) or a
  ``grid_worker`` account whose codes cover the grid; village: ``village_staff`` accounts of
  the village, its party secretary and its mediation director; town: ``town_staff`` accounts
  of the town, its platform dispatcher and its on-duty officer of the day; county:
  ``district_admin`` accounts of the district; city: ``city_admin`` accounts of the city.
  A kind may keep the handlers of one level beside a higher owner's
  (``CaseKind.handlers_stay_at``, ``home_place``: a service request's village after the
  town got it by escalation); an incident's are the owner's alone.
- **Supervisors** (the level above the handlers) verify, grant or refuse more time, reopen
  (verification failed) and cancel. For grid- and village-level cases that is the
  *station* whose catchment holds the village (its ``station_staff`` accounts and the
  holders of its station roles: head, deputy, full-time worker); for town-level cases the
  county's handlers, for county-level cases the city's, and the city's own for city-level
  cases (nobody is above them).
- **Close-out** (销号) of grid- and village-level cases is signed by the head of the station
  (``RoleAssignment`` station_head, through ``Worker.user``) or the delegate recorded for
  the head (an active ``station_head_delegate`` assignment on the station: dated, so a
  delegation ends by itself); station staff accounts and the other station roles do not
  sign. Town-, county- and city-level cases are closed out by the owning level's own
  handlers.
- **Separation of duties**: ``resolve`` needs a written result (its note; photos may go with
  it); whoever made the latest ``verify`` cannot ``close_out`` the case (``not_the_verifier``,
  superusers too); the close-out event records ``signed_as`` (the signer's station role).
- **Redispatch** of a returned case: the level it was returned to (its handlers) or their
  supervisors send it to the right place, at that level or below, inside the area of the
  level above it (a village sends it within its town, a town within its county).
- **The reporter** (``case.reporter``) gives the callback (回访) once the case is resolved
  or closed out, once per resolution.
- **Superusers** may do everything, and **the system** (``actor=None``: the clock) too; both
  still go through ``case_act``, so the history is complete.

The history and the case fields
-------------------------------
Every action appends exactly one ``CaseEvent`` (who, when, from/to status, from/to level,
note, data, attachments) in the same transaction as the case fields it changes; an
unsatisfied callback appends a second one, the ``reopen`` it causes. ``seq`` runs from 1
(the report) without gaps. The case fields are what the history says:
``acknowledged_at`` = the first acknowledge, ``resolved_at`` = the last resolve,
``closed_at`` = the close-out (cleared when the case is reopened), ``closed_on_time`` =
``resolved_at <= resolve_due_at`` at close-out (extensions included), ``extension_count`` =
grant_extension events, ``extension_pending`` while a request waits (a resolve, return,
escalation, redispatch or cancel drops it), ``rework_count`` = reopen events (also those
a callback caused), ``escalation_count`` = escalate events (by people or the clock),
``satisfaction`` = the latest callback's rating. Deadlines: see ``cases.deadlines``.

Concurrency
-----------
``case_act`` locks the case row (``select_for_update``) and compares the ``version`` the
actor saw; a stale one raises ``CaseConflict`` and changes nothing (the other action
stands). Every action bumps the version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Max, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_noop, pgettext_lazy

from accounts.models import AccountRole
from accounts.selectors import (
    assignment_prefixes,
    granted_account,
    scope_q,
    today_prefixes,
)
from gridmap import uploads
from gridmap.codes import (
    CODE_LENGTH,
    LEVEL_ORDER,
    Level,
    code_at,
    covering_codes,
    covers,
    is_code,
    level_above,
    level_of,
)
from grids.models import (
    STATION_ROLES,
    CatchmentAssignment,
    District,
    Grid,
    Role,
    RoleAssignment,
    Town,
    Village,
)
from grids.models import Worker as WorkerModel

from . import deadlines
from .kinds import CaseKind, kind_of
from .models import CASE_FIELDS, OPEN_STATUSES, Case, CaseEventBase, DueKind, Status, TimeUnit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser


class Action(models.TextChoices):
    REPORT = "report", pgettext_lazy("case action", "report")
    ASSESS = "assess", pgettext_lazy("case action", "assess (re-grade)")
    ACKNOWLEDGE = "acknowledge", pgettext_lazy("case action", "acknowledge")
    START = "start", pgettext_lazy("case action", "start work")
    RESOLVE = "resolve", pgettext_lazy("case action", "report resolved")
    VERIFY = "verify", pgettext_lazy("case action", "verify")
    CLOSE_OUT = "close_out", pgettext_lazy("case action", "close out")
    RETURN_CASE = "return_case", pgettext_lazy("case action", "return (not ours)")
    REDISPATCH = "redispatch", pgettext_lazy("case action", "redispatch")
    REQUEST_EXTENSION = "request_extension", pgettext_lazy("case action", "ask for more time")
    GRANT_EXTENSION = "grant_extension", pgettext_lazy("case action", "grant more time")
    REFUSE_EXTENSION = "refuse_extension", pgettext_lazy("case action", "refuse more time")
    ESCALATE = "escalate", pgettext_lazy("case action", "escalate")
    REOPEN = "reopen", pgettext_lazy("case action", "reopen")
    CANCEL = "cancel", pgettext_lazy("case action", "cancel")
    CALLBACK = "callback", pgettext_lazy("case action", "call back (rate)")
    # Actions some kinds add (a service request's hand-off to a town or county office, the
    # office's part coming back, and declining a request as not eligible).
    HAND_OFF = "hand_off", pgettext_lazy("case action", "hand off to an office")
    STEP_BACK = "step_back", pgettext_lazy("case action", "the office's part came back")
    DECLINE = "decline", pgettext_lazy("case action", "decline (not eligible)")
    # Not a person's action: written when a published catchment plan moves the case's
    # village to another station (``reassign_stations``).
    REASSIGN_STATION = "reassign_station", pgettext_lazy("case action", "station changed")


# --- messages (tests reuse them) ----------------------------------------------------------------
# What an action does, for "Only ... can %(action)s." and "You cannot %(action)s: ...".
ACTION_PHRASES: dict[str, str] = {
    Action.REPORT: gettext_noop("report this case"),
    Action.ASSESS: gettext_noop("assess this case"),
    Action.ACKNOWLEDGE: gettext_noop("acknowledge this case"),
    Action.START: gettext_noop("start work on this case"),
    Action.RESOLVE: gettext_noop("report this case resolved"),
    Action.VERIFY: gettext_noop("verify this case"),
    Action.CLOSE_OUT: gettext_noop("close out this case"),
    Action.RETURN_CASE: gettext_noop("return this case"),
    Action.REDISPATCH: gettext_noop("redispatch this case"),
    Action.REQUEST_EXTENSION: gettext_noop("ask for more time on this case"),
    Action.GRANT_EXTENSION: gettext_noop("grant more time on this case"),
    Action.REFUSE_EXTENSION: gettext_noop("refuse more time on this case"),
    Action.ESCALATE: gettext_noop("escalate this case"),
    Action.REOPEN: gettext_noop("reopen this case"),
    Action.CANCEL: gettext_noop("cancel this case"),
    Action.CALLBACK: gettext_noop("rate how this case was handled"),
    Action.HAND_OFF: gettext_noop("hand this case off to an office"),
    Action.STEP_BACK: gettext_noop("record that an office's part came back"),
    Action.DECLINE: gettext_noop("decline this case"),
}
MSG_ONLY_HANDLERS: dict[str, str] = {
    Level.GRID: gettext_noop(
        "Only the grid leader of %(code)s or the grid worker on duty can %(action)s."
    ),
    Level.VILLAGE: gettext_noop(
        "Only the party secretary, the mediation director or the staff of village %(code)s "
        "can %(action)s."
    ),
    Level.TOWN: gettext_noop(
        "Only the platform dispatcher or the staff of town %(code)s can %(action)s."
    ),
    Level.COUNTY: gettext_noop("Only the administrators of district %(code)s can %(action)s."),
    Level.CITY: gettext_noop("Only the administrators of city %(code)s can %(action)s."),
}
MSG_ONLY_STATION = gettext_noop("Only the head or the staff of station %(code)s can %(action)s.")
MSG_NO_STATION = gettext_noop(
    "Village %(code)s is in no station's catchment, so no station can %(action)s; "
    "ask the town to assign the village to a station."
)
MSG_ONLY_REDISPATCHERS = gettext_noop(
    "Only the %(level)s %(code)s the case was returned to, or those who supervise it, "
    "can %(action)s."
)
MSG_ONLY_REPORTER = gettext_noop("Only the person who reported this case can %(action)s.")
MSG_WRONG_STATE = gettext_noop("You cannot %(action)s: it is %(status)s.")
MSG_REPORT_IS_NOT_AN_ACTION = gettext_noop(
    "A case is reported with the report form, not as an action on a case."
)
MSG_STATION_CHANGE_IS_NOT_AN_ACTION = gettext_noop(
    "A case's station changes when a catchment plan is published, not as an action on a case."
)
MSG_TOP_LEVEL = gettext_noop("You cannot %(action)s: it is at the city level, the highest.")
MSG_EXTENSION_PENDING = gettext_noop(
    "More time was already asked for on this case; wait for the answer."
)
MSG_NO_EXTENSION_REQUESTED = gettext_noop("Nobody has asked for more time on this case.")
MSG_ALREADY_RATED = gettext_noop("How this case was handled has already been rated.")
MSG_RESULT_REQUIRED = gettext_noop(
    "Write what was done and what came of it before reporting the case resolved."
)
MSG_VERIFIER_CANNOT_CLOSE = gettext_noop(
    "You verified this case, so someone else must close it out: verification and close-out "
    "are done by different people."
)
MSG_ONLY_STATION_HEAD = gettext_noop(
    "Only the head of station %(code)s, or the delegate recorded for them, can %(action)s."
)
MSG_CONFLICT = gettext_noop(
    "Someone else acted on this case first: it is now %(status)s. Reload and try again."
)

MSG_UNKNOWN_ACTION = gettext_noop("Unknown action %(action)s.")
MSG_NOT_OFFERED = gettext_noop("You cannot %(action)s: this kind of case has no such action.")
MSG_DATA_NOT_OBJECT = gettext_noop("The details of an action must be an object.")
MSG_REASON_REQUIRED = gettext_noop("Give a reason.")
MSG_ASSESS_REASON_REQUIRED = gettext_noop(
    "Write why you change the severity or the category: the history keeps it."
)
MSG_NOT_ASSESSABLE = gettext_noop("This kind of case cannot be re-graded.")
MSG_EXTENSION_HOW = gettext_noop(
    "Give either the new deadline (until) or a number of working days, not both."
)
MSG_EXTENSION_AFTER_DEADLINE = gettext_noop(
    "More time must be asked for before the deadline (%(due)s), which has passed."
)
MSG_BAD_UNTIL = gettext_noop("The new deadline must be a date and time (ISO 8601).")
MSG_UNTIL_NOT_LATER = gettext_noop("The new deadline must be after the current one (%(due)s).")
MSG_UNTIL_TOO_LATE = gettext_noop(
    "More time is at most %(max)s working days: the new deadline can be %(latest)s at the latest."
)
MSG_BAD_WORKING_DAYS = gettext_noop(
    "The number of working days must be a whole number from 1 to %(max)s."
)
MSG_BAD_RATING = gettext_noop("The rating must be a whole number from 1 to 5.")
MSG_BAD_LEVEL = gettext_noop("Choose the level to send the case to: %(levels)s.")
MSG_LEVEL_TOO_HIGH = gettext_noop(
    "A case returned to the %(level)s is sent to a place at that level or below."
)
MSG_BAD_CODE = gettext_noop("%(code)s is not the code of a %(level)s.")
MSG_CODE_OUTSIDE = gettext_noop(
    "%(code)s is outside %(area)s: send the case to a place there, or escalate it."
)
MSG_UNKNOWN_PLACE = gettext_noop("There is no %(level)s %(code)s.")
MSG_TOO_MANY_ATTACHMENTS = gettext_noop("At most %(max)s attachments per action.")
MSG_ATTACHMENT_TOO_BIG = gettext_noop("Attachment %(name)s is larger than %(max_mb)s MB.")
MSG_ATTACHMENT_TYPE = gettext_noop(
    "Attachment %(name)s is not a photo (JPEG, PNG, WebP), a PDF, a Word document (.docx) or an "
    "Excel workbook (.xlsx)."
)

# Texts the system writes into the history (stored in the site's language).
MSG_SYSTEM = gettext_noop("system")
MSG_AUTO_ESCALATED = gettext_noop("overdue: escalated automatically")
MSG_REOPENED_BY_CALLBACK = gettext_noop(
    "The reporter was not satisfied (rated %(rating)s of 5): reopened."
)

MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_EXTENSION_WORKING_DAYS = 60
# A callback rating at or below this is "not satisfied": the case is reopened.
UNSATISFIED_AT_MOST = 2

ACCOUNT_ROLE = {
    Level.GRID: AccountRole.GRID_WORKER,
    Level.VILLAGE: AccountRole.VILLAGE_STAFF,
    Level.TOWN: AccountRole.TOWN_STAFF,
    Level.COUNTY: AccountRole.DISTRICT_ADMIN,
    Level.CITY: AccountRole.CITY_ADMIN,
}
# Worker roles that handle a case at a level, and the place field they are held on.
WORKER_ROLES: dict[str, tuple[list[str], str]] = {
    Level.GRID: ([Role.GRID_LEADER], "grid"),
    Level.VILLAGE: ([Role.VILLAGE_SECRETARY, Role.MEDIATION_DIRECTOR], "village"),
    Level.TOWN: ([Role.TOWN_DISPATCHER, Role.TOWN_DUTY_OFFICER], "town"),
}
PLACE_MODELS = {Level.GRID: Grid, Level.VILLAGE: Village, Level.TOWN: Town, Level.COUNTY: District}
LEVEL_LABELS = {
    Level.GRID: gettext_noop("grid"),
    Level.VILLAGE: gettext_noop("village"),
    Level.TOWN: gettext_noop("town"),
    Level.COUNTY: gettext_noop("county"),
    Level.CITY: gettext_noop("city"),
}


class ActionNotAllowed(PermissionDenied):
    """The actor may not take this action on the case now; ``message`` says who may."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CaseConflict(Exception):
    """The case changed since the actor saw it; nothing was applied. ``case`` is the case as
    it is now (also as ``incident``, the name the incident pages use)."""

    def __init__(self, message: str, case: Case) -> None:
        super().__init__(message)
        self.message = message
        self.case = case
        self.incident = case


# --- places and levels ----------------------------------------------------------------------------
# The code of the place at a level that contains a place (gridmap.codes.code_at).
place_code_at = code_at


def owner_above(level: str, code: str) -> tuple[str, str] | None:
    """The owner one level up (escalation, return), or None at the city level."""
    above = level_above(level)
    return None if above is None else (above, code_at(above, code))


def _covers(account_codes: Sequence[str], code: str) -> bool:
    """Whether an account's codes cover the place ``code`` (a city code its districts)."""
    return covers(account_codes, code)


def _covering_codes(level: str, code: str) -> list[str]:
    """Account codes that cover the place ``code`` at ``level``: the city for a city-level
    case, else the place and its ancestors below the city (codes nest)."""
    if level == Level.CITY:
        return [code_at(Level.CITY, code)]
    return [c for c in covering_codes(code) if level_of(c) != Level.CITY]


def _level_label(level: str) -> str:
    return gettext(LEVEL_LABELS.get(level, level))


def _status_label(status: str, model: type[Case] | None = None) -> str:
    """The label of a state, as the kind's model names it (a service request is "done"
    where an incident is "resolved")."""
    if model is not None:
        label = dict(model._meta.get_field("status").flatchoices).get(status)
        if label is not None:
            return str(label)
    try:
        return str(Status(status).label)
    except ValueError:
        return status


def _phrase(action: str, kind: CaseKind | None = None) -> str:
    phrases = kind.action_phrases if kind is not None else {}
    return gettext(phrases.get(action) or ACTION_PHRASES[action])


def action_label(kind: CaseKind, action: str) -> str:
    """How the kind's pages name ``action`` (its own label, else the engine's)."""
    label = kind.action_labels.get(action)
    return str(label if label is not None else Action(action).label)


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


# --- who is who ---------------------------------------------------------------------------------
HANDLER = "handler"
SUPERVISOR = "supervisor"
CLOSER = "closer"
REDISPATCHER = "redispatcher"
REPORTER = "reporter"


def worker_roles(kind: CaseKind | None, level: str) -> tuple[list[str], str] | None:
    """The worker roles that handle a case of ``kind`` owned by ``level`` and the place field
    they are held on: the engine's (``WORKER_ROLES``) and the kind's extra ones
    (``CaseKind.extra_handler_roles``); None at the county and city levels."""
    if level not in WORKER_ROLES:
        return None
    roles, field = WORKER_ROLES[level]
    extra = kind.extra_handler_roles.get(level, ()) if kind is not None else ()
    return [*roles, *(r for r in extra if r not in roles)], field


def handler_worker_ids(
    level: str, code: str, on: dt.date, kind: CaseKind | None = None
) -> set[int]:
    """The workers who handle a case (of ``kind``) owned by (level, code) on a day (for
    notifications)."""
    ids: set[int] = set()
    held = worker_roles(kind, level)
    if held is not None:
        roles, field = held
        ids |= set(
            RoleAssignment.objects.active(on)
            .filter(role__in=roles, **{f"{field}__code": code})
            .values_list("worker_id", flat=True)
        )
    if level not in WORKER_ROLES:  # county and city: office roles, explicit grants
        ids |= set(
            WorkerModel.objects.filter(
                user__account__role=ACCOUNT_ROLE[level],
                user__account__codes__overlap=_covering_codes(level, code),
            ).values_list("pk", flat=True)
        )
    return ids


def station_code_of(village_code: str, on: dt.date) -> str | None:
    """The station whose catchment holds the village on a day."""
    return (
        CatchmentAssignment.objects.active(on)
        .filter(village__code=village_code)
        .values_list("station__code", flat=True)
        .first()
    )


def station_worker_ids(station_code: str, on: dt.date) -> set[int]:
    ids = set(
        RoleAssignment.objects.active(on)
        .filter(role__in=STATION_ROLES, station__code=station_code)
        .values_list("worker_id", flat=True)
    )
    return ids


def supervisor_worker_ids(case: Case, on: dt.date) -> set[int]:
    """The workers who supervise the case's owner (for notifications)."""
    level, code = case.owner_level, case.owner_code
    if level in (Level.GRID, Level.VILLAGE):
        station = station_code_of(code[:12], on)
        return station_worker_ids(station, on) if station else set()
    above = owner_above(level, code) or (level, code)
    return handler_worker_ids(*above, on)


def home_place(case: Case, kind: CaseKind | None) -> tuple[str, str] | None:
    """The place (level, code) whose handlers keep handling the case beside its owner's
    (``CaseKind.handlers_stay_at``: the place at that level holding ``place_code``), while the
    case is owned above that level; else None."""
    level = kind.handlers_stay_at if kind is not None else None
    if level is None or len(case.place_code) < CODE_LENGTH[level]:
        return None
    if LEVEL_ORDER.index(case.owner_level) <= LEVEL_ORDER.index(level):
        return None
    return level, code_at(level, case.place_code)


class _Parties:
    """What the actor is to a case on a day: handler, supervisor, closer, redispatcher,
    reporter. Queries lazily and at most once each (account, roles, station)."""

    def __init__(
        self, user: User | None, case: Case, on: dt.date, kind: CaseKind | None = None
    ) -> None:
        self.user = user
        self.case = case
        self.on = on
        self.kind = kind
        self.everything = user is None or bool(user.is_authenticated and user.is_superuser)

    @cached_property
    def account(self) -> Any:
        return None if self.user is None else granted_account(self.user)

    @cached_property
    def roles(self) -> list[tuple[str, str | None, str | None, str | None]]:
        if self.user is None or not self.user.is_authenticated:
            return []
        return list(
            RoleAssignment.objects.active(self.on)
            .filter(worker__user=self.user)
            .values_list("role", "grid__code", "village__code", "station__code", "town__code")
        )

    @cached_property
    def station(self) -> str | None:
        return station_code_of(self.case.owner_code[:12], self.on)

    def handles(self, level: str, code: str) -> bool:
        account = self.account
        if (
            account is not None
            and account.role == ACCOUNT_ROLE[level]
            and _covers(account.codes, code)
        ):
            return True
        held = worker_roles(self.kind, level)
        if held is None:
            return False
        roles, field = held
        column = {"grid": 1, "village": 2, "town": 4}[field]
        return any(r[0] in roles and r[column] == code for r in self.roles)

    def handles_home(self) -> bool:
        """Whether the actor handles the place the case's kind keeps handling it
        (``home_place``)."""
        home = home_place(self.case, self.kind)
        return home is not None and self.handles(*home)

    def staffs_station(self, station: str) -> bool:
        account = self.account
        if (
            account is not None
            and account.role == AccountRole.STATION_STAFF
            and station in account.codes
        ):
            return True
        return any(r[0] in STATION_ROLES and r[3] == station for r in self.roles)

    def signing_role(self, station: str) -> str | None:
        """The role in which the actor signs a close-out for ``station`` (its head, or the
        delegate recorded for the head: a dated ``station_head_delegate`` assignment), or
        None. Station staff accounts and the other station roles do not sign."""
        for role in (Role.STATION_HEAD, Role.STATION_HEAD_DELEGATE):
            if any(r[0] == role and r[3] == station for r in self.roles):
                return str(role)
        return None

    def is_(self, party: str) -> bool:
        if self.everything:
            return True
        case = self.case
        level, code = case.owner_level, case.owner_code
        if party == REPORTER:
            return self.user is not None and case.reporter_id == self.user.pk
        if party == HANDLER:
            return self.handles(level, code) or self.handles_home()
        if party == CLOSER and level in (Level.GRID, Level.VILLAGE):
            return self.station is not None and self.signing_role(self.station) is not None
        if party == SUPERVISOR:
            if level in (Level.GRID, Level.VILLAGE):
                return self.station is not None and self.staffs_station(self.station)
            above = owner_above(level, code) or (level, code)
            return self.handles(*above)
        if party == CLOSER:
            return self.handles(level, code)
        if party == REDISPATCHER:
            return self.is_(HANDLER) or self.is_(SUPERVISOR)
        raise ValueError(party)

    def _only_handlers(self, level: str) -> str:
        own = self.kind.handler_messages.get(level) if self.kind is not None else None
        return own or MSG_ONLY_HANDLERS[level]

    def who(self, party: str, action: str) -> str:
        """The message saying who may take ``action`` (as ``party``)."""
        case = self.case
        level, code = case.owner_level, case.owner_code
        params = {"action": _phrase(action, self.kind), "code": code}
        if party == REPORTER:
            return gettext(MSG_ONLY_REPORTER) % params
        if party == REDISPATCHER:
            return gettext(MSG_ONLY_REDISPATCHERS) % {**params, "level": _level_label(level)}
        if party == HANDLER or (party == CLOSER and level not in (Level.GRID, Level.VILLAGE)):
            return gettext(self._only_handlers(level)) % params
        if level in (Level.GRID, Level.VILLAGE):
            if self.station is None:
                return gettext(MSG_NO_STATION) % {**params, "code": code[:12]}
            if party == CLOSER:
                return gettext(MSG_ONLY_STATION_HEAD) % {**params, "code": self.station}
            return gettext(MSG_ONLY_STATION) % {**params, "code": self.station}
        above_level, above_code = owner_above(level, code) or (level, code)
        return gettext(self._only_handlers(above_level)) % {**params, "code": above_code}


def works_on(user: User | None, case: Case, on: dt.date | None = None) -> bool:
    """Whether ``user`` works on the case's owning place on a day: its handlers (the kind's
    extra roles included), the staff of the station whose catchment holds its village (grid
    and village owners), or the handlers of a level above it; superusers too. (Who may take
    a new case of a kind at a place before it exists: ``case`` need not be saved.)"""
    if user is None or not user.is_authenticated:
        return False
    parties = _Parties(user, case, on or timezone.localdate(), kind_of(case))
    if parties.everything or parties.is_(HANDLER):
        return True
    if case.owner_level in (Level.GRID, Level.VILLAGE) and parties.is_(SUPERVISOR):
        return True
    above = LEVEL_ORDER[LEVEL_ORDER.index(case.owner_level) + 1 :]
    return any(parties.handles(level, code_at(level, case.owner_code)) for level in above)


# --- the rule -----------------------------------------------------------------------------------
@dataclass
class Step:
    """One action being applied: what its handler reads and what it hands back to
    ``case_act`` (the event's data, whom to tell, an unsatisfied callback's reopen)."""

    case: Case
    kind: CaseKind
    note: str
    data: dict[str, Any]
    at: dt.datetime
    system: bool
    out: dict[str, Any] = field(default_factory=dict)
    notify: set[int] = field(default_factory=set)
    # An unsatisfied callback's reopen, appended right after the callback event.
    reopen_note: str | None = None
    # A close-out's signer's role (station head or their delegate), for the history.
    signed_as: str | None = None

    @property
    def on(self) -> dt.date:
        return timezone.localdate(self.at)

    def owner_handlers(self) -> set[int]:
        """The workers who handle the case's owner now (its kind's extra roles included),
        and those of the place its kind keeps handling it (``CaseKind.handlers_stay_at``)."""
        ids = handler_worker_ids(self.case.owner_level, self.case.owner_code, self.on, self.kind)
        home = home_place(self.case, self.kind)
        if home is not None:
            ids |= handler_worker_ids(*home, self.on, self.kind)
        return ids


# A condition says why an action may not be taken now (a message), or None when it may. It
# sees the case, its kind and the actor (``_Parties``: who they are to the case).
Condition = Callable[[Case, CaseKind, "_Parties"], str | None]


@dataclass(frozen=True)
class Transition:
    """An action: who may take it (``party``), from which states (``sources``), to which
    state (``target``; None when the handler decides or the state stays), the conditions
    that must hold besides, whether a reason (the note) is required, and the handler that
    changes the case fields."""

    party: str
    sources: frozenset[str]
    target: str | None
    handler: Callable[[Step], None]
    conditions: tuple[Condition, ...] = ()
    reason_required: bool = False


TRANSITIONS: dict[str, Transition] = {}


def transition(
    action: str,
    *,
    party: str,
    sources: Sequence[str],
    target: str | None = None,
    conditions: Sequence[Condition] = (),
    reason_required: bool = False,
) -> Callable[[Callable[[Step], None]], Callable[[Step], None]]:
    """Declare the handler of ``action`` with its rule (see ``Transition``)."""

    def declare(handler: Callable[[Step], None]) -> Callable[[Step], None]:
        TRANSITIONS[action] = Transition(
            party, frozenset(sources), target, handler, tuple(conditions), reason_required
        )
        return handler

    return declare


_UNRESOLVED = [Status.REPORTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS]
# The order actions are offered in.
ACTION_ORDER = [
    Action.ACKNOWLEDGE,
    Action.START,
    Action.HAND_OFF,
    Action.STEP_BACK,
    Action.RESOLVE,
    Action.VERIFY,
    Action.CLOSE_OUT,
    Action.CALLBACK,
    # Re-grading (研判) is offered beside acknowledging a new case, before the other actions.
    Action.ASSESS,
    Action.REQUEST_EXTENSION,
    Action.GRANT_EXTENSION,
    Action.REFUSE_EXTENSION,
    Action.REDISPATCH,
    Action.RETURN_CASE,
    Action.ESCALATE,
    Action.REOPEN,
    Action.DECLINE,
    Action.CANCEL,
]
# Not actions a person takes: the message that says so.
NOT_ACTIONS = {
    Action.REPORT: MSG_REPORT_IS_NOT_AN_ACTION,
    Action.REASSIGN_STATION: MSG_STATION_CHANGE_IS_NOT_AN_ACTION,
}


# --- conditions ---------------------------------------------------------------------------------
def below_the_top(action: str) -> Condition:
    def check(case: Case, kind: CaseKind, parties: _Parties) -> str | None:
        if case.owner_level == Level.CITY:
            return gettext(MSG_TOP_LEVEL) % {"action": _phrase(action)}
        return None

    return check


def no_extension_pending(case: Case, kind: CaseKind, parties: _Parties) -> str | None:
    return gettext(MSG_EXTENSION_PENDING) if case.extension_pending else None


def extension_pending(case: Case, kind: CaseKind, parties: _Parties) -> str | None:
    return None if case.extension_pending else gettext(MSG_NO_EXTENSION_REQUESTED)


def not_rated_since_resolved(case: Case, kind: CaseKind, parties: _Parties) -> str | None:
    events = kind.events(case)
    last_resolve = events.filter(action=Action.RESOLVE).aggregate(m=Max("seq"))["m"] or 0
    rated = events.filter(action=Action.CALLBACK, seq__gt=last_resolve).exists()
    return gettext(MSG_ALREADY_RATED) if rated else None


def not_the_verifier(case: Case, kind: CaseKind, parties: _Parties) -> str | None:
    """Separation of duties: whoever verified the case (its latest ``verify`` event) does not
    also close it out. The system (``actor=None``) is nobody."""
    user = parties.user
    if user is None or not user.is_authenticated:
        return None
    verifier = (
        kind.events(case)
        .filter(action=Action.VERIFY)
        .order_by("-seq")
        .values_list("actor_id", flat=True)
        .first()
    )
    return gettext(MSG_VERIFIER_CANNOT_CLOSE) if verifier == user.pk else None


def assessable(case: Case, kind: CaseKind, parties: _Parties) -> str | None:
    return None if kind.assessable else gettext(MSG_NOT_ASSESSABLE)


# --- the handlers: one per action ---------------------------------------------------------------
@transition(
    Action.ASSESS,
    party=HANDLER,
    sources=[Status.REPORTED],
    target=Status.REPORTED,
    conditions=[assessable],
    reason_required=True,  # MSG_ASSESS_REASON_REQUIRED
)
def assess(step: Step) -> None:
    """研判: the receiving level re-grades the case (for an incident: its severity and
    category) before acknowledging it. The kind validates and re-routes
    (``CaseKind.assess``); the case goes to the owner of the new grading with new deadlines
    from the new time limits, and the new owners and recipients are told."""
    case = step.case
    result = step.kind.assess(case, step.data, step.at)
    code = code_at(result.level, case.place_code)
    step.out = {**result.out, "level": result.level, "code": code}
    step.out.update(_set_owner(step, result.level, code, new_deadlines=True))
    case.extension_pending = False
    step.notify = set(result.notify) | handler_worker_ids(result.level, code, step.on, step.kind)


@transition(
    Action.ACKNOWLEDGE, party=HANDLER, sources=[Status.REPORTED], target=Status.ACKNOWLEDGED
)
def acknowledge(step: Step) -> None:
    step.case.acknowledged_at = step.case.acknowledged_at or step.at


@transition(Action.START, party=HANDLER, sources=[Status.ACKNOWLEDGED], target=Status.IN_PROGRESS)
def start(step: Step) -> None:
    pass


@transition(
    Action.RESOLVE,
    party=HANDLER,
    sources=[Status.ACKNOWLEDGED, Status.IN_PROGRESS],
    target=Status.RESOLVED,
    reason_required=True,  # the written result (MSG_RESULT_REQUIRED)
)
def resolve(step: Step) -> None:
    step.case.resolved_at = step.at
    step.case.extension_pending = False
    step.notify = supervisor_worker_ids(step.case, step.on)


@transition(Action.VERIFY, party=SUPERVISOR, sources=[Status.RESOLVED], target=Status.VERIFIED)
def verify(step: Step) -> None:
    pass


@transition(
    Action.CLOSE_OUT,
    party=CLOSER,
    sources=[Status.VERIFIED],
    target=Status.CLOSED,
    conditions=[not_the_verifier],
)
def close_out(step: Step) -> None:
    if step.signed_as:
        step.out["signed_as"] = step.signed_as
    case = step.case
    case.closed_at = step.at
    case.closed_on_time = bool(
        case.resolved_at and case.resolve_due_at and case.resolved_at <= case.resolve_due_at
    )


def _move_up(step: Step, *, escalate: bool) -> None:
    case = step.case
    level, code = owner_above(case.owner_level, case.owner_code)  # type: ignore[misc]
    step.out = {"to_code": code, **_set_owner(step, level, code, new_deadlines=escalate)}
    case.extension_pending = False
    step.notify = handler_worker_ids(level, code, step.on, step.kind)


@transition(
    Action.RETURN_CASE,
    party=HANDLER,
    sources=_UNRESOLVED,
    target=Status.RETURNED,
    conditions=[below_the_top(Action.RETURN_CASE)],
    reason_required=True,
)
def return_case(step: Step) -> None:
    _move_up(step, escalate=False)


@transition(
    Action.ESCALATE,
    party=HANDLER,
    sources=[*_UNRESOLVED, Status.RETURNED],
    target=Status.REPORTED,
    conditions=[below_the_top(Action.ESCALATE)],
    reason_required=True,
)
def escalate(step: Step) -> None:
    _move_up(step, escalate=step.kind.new_deadlines_on_escalation)
    case = step.case
    case.escalation_count += 1
    if step.system:
        step.out.update({k: v for k, v in step.data.items() if k not in step.out})
        # An emergency the clock escalated for not being acknowledged escalates again every
        # ``repeat_minutes`` (its time limit's data) until somebody acknowledges it.
        repeat = step.kind.time_limit(case).repeat_minutes
        overdue = {item.get("kind") for item in step.data.get("overdue", [])}
        if repeat and DueKind.ACKNOWLEDGE in overdue:
            case.acknowledge_due_at = step.at + dt.timedelta(minutes=repeat)
            step.out["acknowledge_due_at"] = case.acknowledge_due_at.isoformat()
            step.out["repeat_minutes"] = repeat


@transition(
    Action.REDISPATCH, party=REDISPATCHER, sources=[Status.RETURNED], target=Status.REPORTED
)
def redispatch(step: Step) -> None:
    level, code = _redispatch_target(step.case, step.kind, step.data)
    step.out = {"level": level, "code": code, **_set_owner(step, level, code, new_deadlines=True)}
    step.case.extension_pending = False
    step.notify = handler_worker_ids(level, code, step.on, step.kind)


@transition(
    Action.REQUEST_EXTENSION,
    party=HANDLER,
    sources=_UNRESOLVED,
    conditions=[no_extension_pending],
)
def request_extension(step: Step) -> None:
    until = _extension_until(step.case, step.data, step.at)
    step.out = {"until": until.isoformat()}
    if step.data.get("working_days") not in (None, ""):
        step.out["working_days"] = whole_number(step.data["working_days"])
    step.case.extension_pending = True
    step.notify = supervisor_worker_ids(step.case, step.on)


@transition(
    Action.GRANT_EXTENSION, party=SUPERVISOR, sources=_UNRESOLVED, conditions=[extension_pending]
)
def grant_extension(step: Step) -> None:
    case = step.case
    until = _requested_until(case, step.kind)
    step.out = {
        "resolve_due_at": until.isoformat(),
        "previous_resolve_due_at": case.resolve_due_at.isoformat() if case.resolve_due_at else None,
    }
    case.resolve_due_at = until
    case.extension_pending = False
    case.extension_count += 1
    step.notify = step.owner_handlers()


@transition(
    Action.REFUSE_EXTENSION, party=SUPERVISOR, sources=_UNRESOLVED, conditions=[extension_pending]
)
def refuse_extension(step: Step) -> None:
    step.case.extension_pending = False
    step.notify = step.owner_handlers()


@transition(
    Action.REOPEN,
    party=SUPERVISOR,
    sources=[Status.RESOLVED, Status.VERIFIED],
    target=Status.IN_PROGRESS,
)
def reopen(step: Step) -> None:
    _reopen(step.case)
    step.notify = step.owner_handlers()


@transition(
    Action.CANCEL,
    party=SUPERVISOR,
    sources=OPEN_STATUSES,
    target=Status.CANCELLED,
    reason_required=True,
)
def cancel(step: Step) -> None:
    step.case.extension_pending = False


@transition(
    Action.CALLBACK,
    party=REPORTER,
    sources=[Status.RESOLVED, Status.VERIFIED, Status.CLOSED],
    conditions=[not_rated_since_resolved],
)
def callback(step: Step) -> None:
    rating = _rating(step.data)
    step.out = {"rating": rating}
    step.case.satisfaction = rating
    if rating <= UNSATISFIED_AT_MOST and step.kind.reopen_on_low_rating:
        with translation.override(settings.LANGUAGE_CODE):
            step.reopen_note = gettext(MSG_REOPENED_BY_CALLBACK) % {"rating": rating}
        step.notify = step.owner_handlers()


# Actions whose note is required (the reason; for resolve, the written result).
REASON_REQUIRED = {action for action, t in TRANSITIONS.items() if t.reason_required}


def transitions_of(kind: CaseKind) -> dict[str, Transition]:
    """The kind's transition table: its own (``CaseKind.transitions``), else the engine's."""
    return kind.transitions if kind.transitions is not None else TRANSITIONS


def kind_transitions(
    *,
    keep: Sequence[str],
    override: dict[str, dict[str, Any]] | None = None,
    add: dict[str, Transition] | None = None,
) -> dict[str, Transition]:
    """A kind's transition table built from the engine's: the engine's rules of the actions
    in ``keep``, with the changes in ``override`` (action -> fields of ``Transition``:
    ``party``, ``sources``, ``target``, ``handler``, ``conditions``, ``reason_required``),
    plus the kind's own actions in ``add``."""
    table: dict[str, Transition] = {}
    for action in keep:
        rule = TRANSITIONS[action]
        changes = dict((override or {}).get(action, {}))
        if "sources" in changes:
            changes["sources"] = frozenset(changes["sources"])
        if "conditions" in changes:
            changes["conditions"] = tuple(changes["conditions"])
        table[action] = replace(rule, **changes)
    for action, rule in (add or {}).items():
        table[action] = rule
    return table


def reason_required_actions(kind: CaseKind) -> set[str]:
    """The actions of the kind whose note is required."""
    return {action for action, t in transitions_of(kind).items() if t.reason_required}


# What a missing note is called, where it is not "a reason".
NOTE_REQUIRED_MESSAGES = {
    Action.RESOLVE: MSG_RESULT_REQUIRED,
    Action.ASSESS: MSG_ASSESS_REASON_REQUIRED,
}
# Who may take each action in which states (read by pages and tests).
RULES = TRANSITIONS


def _refusal(action: str, parties: _Parties, case: Case, kind: CaseKind) -> str | None:
    """Why the actor may not take ``action`` now (a message), or None when they may."""
    if action in NOT_ACTIONS:
        return gettext(NOT_ACTIONS[action])
    rule = transitions_of(kind).get(action)
    if rule is None:
        return gettext(MSG_NOT_OFFERED) % {"action": _phrase(action, kind)}
    if case.status not in rule.sources:
        return gettext(MSG_WRONG_STATE) % {
            "action": _phrase(action, kind),
            "status": _status_label(case.status, type(case)),
        }
    if not parties.is_(rule.party):
        return parties.who(rule.party, action)
    for condition in rule.conditions:
        refusal = condition(case, kind, parties)
        if refusal is not None:
            return refusal
    return None


def allowed_actions(
    *, user: User | None, case: Case, at: dt.datetime | None = None
) -> list[Action]:
    """The actions ``user`` may take on ``case`` now, in the order a page offers them.
    Asking for more time is left out once the deadline has passed."""
    at = at or timezone.now()
    kind = kind_of(case)
    parties = _Parties(user, case, timezone.localdate(at), kind)
    table = transitions_of(kind)
    allowed = []
    for action in ACTION_ORDER:
        if action not in table:
            continue
        if _refusal(action, parties, case, kind) is not None:
            continue
        if action == Action.REQUEST_EXTENSION and _past(case.resolve_due_at, at):
            continue
        allowed.append(action)
    return allowed


def _past(due: dt.datetime | None, at: dt.datetime) -> bool:
    return due is not None and at >= due


def role_prefixes(user: User, on: dt.date | None = None) -> list[str]:
    """Codes of the places where the user's worker holds a role today (grid, village, town;
    a station stands for the villages of its catchment): ``accounts.selectors``'s rule."""
    if on is None:  # today's: asked once per request (accounts.selectors caches it)
        return assignment_prefixes(user) if not user.is_authenticated else today_prefixes(user)
    return assignment_prefixes(user, on)


def cases_visible_to(user: User, model: type[Case]) -> QuerySet[Any]:
    """The cases of a kind a user may open: belonging to a place inside the jurisdiction of
    their account (``place_code``) or owned inside it now (``owner_code``: an escalated,
    returned or redispatched case); belonging to or owned by a place where their worker holds
    a role (a grid leader without an account sees the cases of the grid); or reported by the
    user (the reporter gives the callback), and whatever else the kind adds
    (``CaseKind.visible_q``: an incident's other reporters). The one answer for the API, the
    pages and the admin."""
    if not user.is_authenticated:
        return model.objects.none()
    place = scope_q(user, "place_code")
    if place is None:
        return model.objects.all()
    visible = place | scope_q(user, "owner_code") | Q(reporter=user)
    extra = kind_of(model).visible_q(user)
    if extra is not None:
        visible |= extra
    for code in role_prefixes(user):
        visible |= Q(place_code__startswith=code) | Q(owner_code__startswith=code)
    return model.objects.filter(visible)


# --- input --------------------------------------------------------------------------------------
def field_error(field: str, msgid: str, **params: Any) -> ValidationError:
    text = gettext(msgid)
    return ValidationError({field: [text % params if params else text]})


def _aware_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    else:
        parsed = None
    if parsed is None:
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _check_attachments(attachments: Sequence[UploadedFile]) -> list[str]:
    """The content type of each attachment, judged by its content (``gridmap.uploads``: an
    image, a PDF, a Word document or an Excel workbook); raises ValidationError on the first
    file refused, whatever name and type the uploader gave it."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise field_error("attachments", MSG_TOO_MANY_ATTACHMENTS, max=MAX_ATTACHMENTS)
    return uploads.content_types(
        attachments,
        field="attachments",
        detect=uploads.attachment_type,
        max_bytes=MAX_ATTACHMENT_BYTES,
        msg_too_big=MSG_ATTACHMENT_TOO_BIG,
        msg_refused=MSG_ATTACHMENT_TYPE,
    )


def _extension_until(case: Case, data: dict[str, Any], at: dt.datetime) -> dt.datetime:
    due = case.resolve_due_at
    if due is not None and at >= due:
        raise field_error("until", MSG_EXTENSION_AFTER_DEADLINE, due=_local(due))
    has_until = data.get("until") not in (None, "")
    has_days = data.get("working_days") not in (None, "")
    if has_until == has_days:
        raise field_error("until", MSG_EXTENSION_HOW)
    if has_days:
        days = whole_number(data["working_days"])
        if days is None or not 1 <= days <= MAX_EXTENSION_WORKING_DAYS:
            raise field_error("working_days", MSG_BAD_WORKING_DAYS, max=MAX_EXTENSION_WORKING_DAYS)
        return deadlines.add_working_time(due or at, days, TimeUnit.WORKING_DAYS)
    until = _aware_datetime(data["until"])
    if until is None:
        raise field_error("until", MSG_BAD_UNTIL)
    if until <= (due or at):
        raise field_error("until", MSG_UNTIL_NOT_LATER, due=_local(due or at))
    # As far as the most working days may reach, and no farther (a mistyped year).
    latest = deadlines.add_working_time(
        due or at, MAX_EXTENSION_WORKING_DAYS, TimeUnit.WORKING_DAYS
    )
    if until > latest:
        raise field_error(
            "until", MSG_UNTIL_TOO_LATE, max=MAX_EXTENSION_WORKING_DAYS, latest=_local(latest)
        )
    return until


def _redispatch_target(case: Case, kind: CaseKind, data: dict[str, Any]) -> tuple[str, str]:
    level, code = data.get("level"), data.get("code")
    if level not in Level.values:
        raise field_error(
            "level", MSG_BAD_LEVEL, levels=", ".join(_level_label(v) for v in LEVEL_ORDER)
        )
    if LEVEL_ORDER.index(level) > LEVEL_ORDER.index(case.owner_level):
        raise field_error("level", MSG_LEVEL_TOO_HIGH, level=_level_label(case.owner_level))
    code = code.strip() if isinstance(code, str) else ""
    if not is_code(level, code):
        raise field_error("code", MSG_BAD_CODE, code=code or "?", level=_level_label(level))
    area = owner_above(case.owner_level, case.owner_code) or (
        case.owner_level,
        case.owner_code,
    )
    if place_code_at(area[0], code) != area[1] and not (
        area[0] == Level.CITY and code[:4] == area[1][:4]
    ):
        raise field_error(
            "code",
            MSG_CODE_OUTSIDE,
            code=code,
            area=f"{_level_label(area[0])} {area[1]}",
        )
    if not _place_exists(level, code):
        raise field_error("code", MSG_UNKNOWN_PLACE, level=_level_label(level), code=code)
    return level, code


def _rating(data: dict[str, Any]) -> int:
    rating = whole_number(data.get("rating"))
    if rating is None or not 1 <= rating <= 5:
        raise field_error("rating", MSG_BAD_RATING)
    return rating


def _place_exists(level: str, code: str) -> bool:
    model = PLACE_MODELS.get(level)
    return model is None or model.objects.current().filter(code=code).exists()


# --- applying an action --------------------------------------------------------------------------
def actor_name(user: User | None) -> str:
    """How the history names the actor: the worker's name, else the login's full name or
    username; the system in the site's language."""
    if user is None:
        with translation.override(settings.LANGUAGE_CODE):
            return gettext(MSG_SYSTEM)
    try:
        worker = user.worker  # type: ignore[union-attr]
    except (AttributeError, WorkerModel.DoesNotExist):
        worker = None
    if worker is not None and worker.name:
        return worker.name
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return (full or user.get_username())[:100]


def _set_owner(step: Step, level: str, code: str, *, new_deadlines: bool) -> dict[str, Any]:
    case = step.case
    case.owner_level, case.owner_code = level, code
    if not new_deadlines:
        return {}
    limit = step.kind.time_limit(case)
    case.acknowledge_due_at, case.resolve_due_at = deadlines.deadlines_from(step.at, limit)
    case.onsite_due_at = deadlines.onsite_due_from(step.at, limit)
    case.calendar_clock = limit.calendar
    out = {
        "acknowledge_due_at": case.acknowledge_due_at.isoformat(),
        "resolve_due_at": case.resolve_due_at.isoformat(),
    }
    if case.onsite_due_at is not None:
        out["onsite_due_at"] = case.onsite_due_at.isoformat()
    return out


def _reopen(case: Case) -> None:
    case.status = Status.IN_PROGRESS
    case.rework_count += 1
    case.closed_at = None
    case.closed_on_time = None


def _requested_until(case: Case, kind: CaseKind) -> dt.datetime:
    data = (
        kind.events(case)
        .filter(action=Action.REQUEST_EXTENSION)
        .order_by("-seq")
        .values_list("data", flat=True)
        .first()
    )
    until = _aware_datetime((data or {}).get("until"))
    if until is None:  # pragma: no cover - a request always records its deadline
        raise ValidationError({"until": [gettext(MSG_BAD_UNTIL)]})
    return until


def case_act(
    *,
    actor: User | None,
    model: type[Case],
    case_id: int,
    action: Action | str,
    version: int,
    note: str = "",
    data: dict[str, Any] | None = None,
    attachments: Sequence[UploadedFile] = (),
    at: dt.datetime | None = None,
    actor_label: str | None = None,
) -> Any:
    """Take ``action`` on the case ``case_id`` of kind ``model``, as ``actor`` (None: the
    system), who saw ``version``. ``actor_label`` names the actor in the history instead of
    ``actor_name`` (a resident rating on a public page is "居民", with no actor).

    One transaction: the row is locked, the version compared (``CaseConflict``), the rule
    checked (``ActionNotAllowed``), the input validated (``ValidationError`` keyed by field:
    ``note``, ``until``, ``working_days``, ``rating``, ``level``, ``code``, ``attachments``),
    the case fields changed, the version bumped, the event(s) and attachments appended and
    the people concerned notified (``CaseKind.notify``). Returns the case as it now is.
    Raises ``model.DoesNotExist`` for an unknown id.
    """
    try:
        action = Action(action)
    except ValueError:
        raise field_error("action", MSG_UNKNOWN_ACTION, action=action) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise field_error("data", MSG_DATA_NOT_OBJECT)
    kind = kind_of(model)
    note = (note or "").strip()
    explicit_at = at is not None
    at = at or timezone.now()
    attachments = list(attachments)
    attachment_types = _check_attachments(attachments)
    with transaction.atomic():
        case = model.objects.select_for_update().get(pk=case_id)
        if case.version != version:
            raise CaseConflict(
                gettext(MSG_CONFLICT) % {"status": _status_label(case.status, model)}, case
            )
        parties = _Parties(actor, case, timezone.localdate(at), kind)
        refusal = _refusal(action, parties, case, kind)
        if refusal is not None:
            raise ActionNotAllowed(refusal)
        rule = transitions_of(kind)[action]
        if rule.reason_required and not note:
            raise field_error("note", NOTE_REQUIRED_MESSAGES.get(action, MSG_REASON_REQUIRED))
        seq, last_at = last_event(case)
        if last_at is not None and at < last_at:
            if explicit_at:
                raise ValueError(f"{at} is before the case's last event ({last_at}).")
            at = last_at  # clocks of two servers a little apart: history keeps its order
        from_status, from_level = case.status, case.owner_level
        step = Step(case=case, kind=kind, note=note, data=data, at=at, system=actor is None)
        if action == Action.CLOSE_OUT and parties.station is not None:
            step.signed_as = parties.signing_role(parties.station)
        if rule.target is not None:
            case.status = rule.target
        rule.handler(step)
        case.version += 1
        case.save(update_fields=CASE_FIELDS)
        name = actor_label[:100] if actor_label else actor_name(actor)
        seq += 1
        event = append_event(
            case,
            seq=seq,
            action=action,
            actor=actor,
            name=name,
            at=at,
            from_status=from_status,
            note=note,
            data=step.out,
            from_level=from_level,
        )
        if attachments and kind.attachment_model is not None:
            kind.attachment_model.objects.bulk_create(
                [
                    # The detected type, never the uploader's; a generated name with the
                    # detected type's extension.
                    kind.attachment_model(
                        event=event,
                        file=File(f, name=uploads.stored_name(f.name, content_type)),
                        content_type=content_type,
                        size=f.size,
                    )
                    for f, content_type in zip(attachments, attachment_types, strict=True)
                ]
            )
        if step.reopen_note is not None:
            callback_status = case.status
            _reopen(case)
            case.save(update_fields=CASE_FIELDS)
            event = append_event(
                case,
                seq=seq + 1,
                action=Action.REOPEN,
                actor=actor,
                name=name,
                at=at,
                from_status=callback_status,
                note=step.reopen_note,
                data={"cause": Action.CALLBACK.value, "rating": step.out["rating"]},
            )
        if step.notify:
            kind.notify(case, event, step.notify)
    return case


def last_event(case: Case) -> tuple[int, dt.datetime | None]:
    """The seq and time of the case's last event ((0, None) before the first)."""
    last = kind_of(case).events(case).order_by("-seq").values_list("seq", "at").first()
    return last if last is not None else (0, None)


def append_event(
    case: Case,
    *,
    seq: int,
    action: str,
    actor: User | None,
    name: str,
    at: dt.datetime,
    from_status: str,
    note: str,
    data: dict[str, Any],
    from_level: str | None = None,
) -> CaseEventBase:
    """Append one event to the case's history (the case fields already changed: its status
    and level now are the event's targets)."""
    return kind_of(case).new_event(
        case,
        seq=seq,
        action=str(action),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=name,
        at=at,
        from_status=from_status,
        to_status=case.status,
        from_level=from_level or case.owner_level,
        to_level=case.owner_level,
        note=note,
        data=data,
    )


# --- a new case (called by the kind's create service) ------------------------------------------
def open_case(case: Case, *, level: str) -> None:
    """Set a new case's owner (the place at ``level`` of its place) and deadlines (from its
    reported time). Before the case is saved."""
    case.owner_level = level
    case.owner_code = code_at(level, case.place_code)
    case.status = Status.REPORTED
    limit = kind_of(case).time_limit(case)
    case.acknowledge_due_at, case.resolve_due_at = deadlines.deadlines_from(case.reported_at, limit)
    case.onsite_due_at = deadlines.onsite_due_from(case.reported_at, limit)
    case.calendar_clock = limit.calendar


def record_report(case: Case, *, actor: User, facts: dict[str, Any] | None = None) -> None:
    """Append the first event of a saved new case: ``report``, seq 1, by the reporter;
    ``facts`` are added to its data (what the kind's routing wants in the history).

    One statement: the reporter's worker name is read inside the INSERT (case creation is
    the hot path)."""
    fallback = (actor.get_full_name() if hasattr(actor, "get_full_name") else "") or (
        actor.get_username()
    )
    kind_of(case).new_event(
        case,
        seq=1,
        action=Action.REPORT.value,
        actor=actor,
        actor_name=Coalesce(
            Subquery(WorkerModel.objects.filter(user=actor.pk).exclude(name="").values("name")[:1]),
            Value(fallback[:100]),
        ),
        at=case.reported_at,
        from_status=Status.REPORTED,
        # A kind may take a case in straight away (a service request is received at the desk).
        to_status=case.status,
        from_level=case.owner_level,
        to_level=case.owner_level,
        note="",
        data={
            "acknowledge_due_at": case.acknowledge_due_at.isoformat()
            if case.acknowledge_due_at
            else None,
            "resolve_due_at": case.resolve_due_at.isoformat() if case.resolve_due_at else None,
            **({"onsite_due_at": case.onsite_due_at.isoformat()} if case.onsite_due_at else {}),
            **(facts or {}),
        },
    )
