"""Service requests as a kind of case: what the case engine (``cases``) needs of them.

Registered by ``servicedesk.apps.ServicedeskConfig.ready``. The states, deadlines, clock,
escalation and history are the engine's; the kind declares only where service differs:

- **its table** (``TRANSITIONS``, built from the engine's with
  ``cases.workflow.kind_transitions``): received (``acknowledged``) --start--> in progress
  --hand_off / step_back--> in progress (each hand-off to a town or county office a
  ``ServiceStep`` with that office's promised date); received | in progress --resolve-->
  done; done --close_out ("deliver": picked up or delivered, by the handlers, no station-head
  signature)--> closed; received | in progress --decline (not eligible, with the reason)-->
  declined, --cancel ("withdraw", by the handlers, with the reason)--> cancelled; more time
  as the engine's; escalation by the clock keeps the state and the promise
  (``new_deadlines_on_escalation = False``) and moves the owner to the town; the callback
  (the resident's rating) once done or delivered, by the handlers on the resident's behalf
  or by the resident on the public status page (``services.service_request_rate_public``);
  a low rating does not reopen the request (``reopen_on_low_rating = False``);
- **the promise** (``time_limit``): the item's promised working days from receipt, to the
  end of that working day (``TimeLimit.end_of_day``);
- **its handlers** at the village include the village's assistants (``Role.VILLAGE_ASSISTANT``,
  Long'an's 一村一站一助理), besides the engine's;
- **delivery after escalation**: the village keeps handling a request the clock (or a person)
  escalated to the town (``handlers_stay_at = Level.VILLAGE``): its assistants, the first
  receiver and its other handlers still start, hand off, take back, report done, deliver,
  ask for more time, return or withdraw it, and the town's handlers can do the same beside
  them (supervision, not taking the resident's matter away); both see it in their to do.
  Escalating it further is the town's alone (``escalated_by_the_owner``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max, Q, QuerySet
from django.utils.dateparse import parse_date
from django.utils.translation import gettext, gettext_noop, pgettext_lazy

from cases import deadlines, workflow
from cases.deadlines import TimeLimit
from cases.kinds import CaseKind
from cases.models import Status, TimeUnit
from cases.todo import register_condition_sql
from cases.workflow import (
    HANDLER,
    Action,
    Step,
    Transition,
    field_error,
    kind_transitions,
    not_rated_since_resolved,
    whole_number,
)
from gridmap.codes import Level
from grids.models import Role

from . import notifications
from .models import (
    ServiceItem,
    ServiceRequest,
    ServiceRequestDue,
    ServiceRequestEvent,
    ServiceRequestSupervision,
    ServiceStep,
)

OPEN_WORK = [Status.ACKNOWLEDGED, Status.IN_PROGRESS]
# The most working days an office may be given for its part.
MAX_STEP_WORKING_DAYS = 120

MSG_OFFICE_REQUIRED = gettext_noop("Name the office the matter goes to.")
MSG_STEP_LEVEL = gettext_noop("Choose whether the office is the town's or the county's.")
MSG_STEP_WHEN = gettext_noop(
    "Give the date the office promised (promised_on) or its number of working days, not both."
)
MSG_STEP_DATE = gettext_noop(
    "The office's promised date must be a date (YYYY-MM-DD), not earlier than today."
)
MSG_STEP_DAYS = gettext_noop("The office's working days must be a whole number from 1 to %(max)s.")
MSG_STEP_UNKNOWN = gettext_noop("There is no hand-off %(step)s of this request still out.")
MSG_NO_STEP_OUT = gettext_noop("No hand-off of this request is out at an office.")
MSG_FIRST_RECEIVER_RATES = gettext_noop(
    "You took this request, so you do not record its rating: it counts in your own "
    "assessment. The resident rates it on the status page, or a colleague records it."
)
MSG_ONLY_VILLAGE = gettext_noop(
    "Only the village assistants, the party secretary, the mediation director or the staff of "
    "village %(code)s can %(action)s."
)
MSG_HOW = gettext_noop("Say whether the resident picked it up or it was delivered.")
MSG_ESCALATED_BY_THE_OWNER = gettext_noop(
    "This request is already escalated to %(code)s: only the handlers there can escalate it "
    "further."
)

# How a request reached the resident when delivered (the close-out's ``how``).
PICKUP = "pickup"
DELIVERED = "delivered"
HOW = {
    PICKUP: pgettext_lazy("service delivery", "picked up"),
    DELIVERED: pgettext_lazy("service delivery", "delivered"),
}


def promise_limit(promised_days: int) -> TimeLimit:
    """An item's time limit: received at once, done within its promised working days, to
    the end of that working day."""
    return TimeLimit(
        0, TimeUnit.WORKING_HOURS, promised_days, TimeUnit.WORKING_DAYS, end_of_day=True
    )


def promise_for(item: ServiceItem, at: dt.datetime) -> dt.datetime:
    """The promise of a request for ``item`` received at ``at`` (the desk form's preview)."""
    return deadlines.deadlines_from(at, promise_limit(item.promised_days))[1]


# --- the kind's own handlers ---------------------------------------------------------------------
def _office_promise(step: Step) -> dt.date:
    data = step.data
    has_date = data.get("promised_on") not in (None, "")
    has_days = data.get("working_days") not in (None, "")
    if has_date == has_days:
        raise field_error("promised_on", MSG_STEP_WHEN)
    if has_days:
        days = whole_number(data["working_days"])
        if days is None or not 1 <= days <= MAX_STEP_WORKING_DAYS:
            raise field_error("working_days", MSG_STEP_DAYS, max=MAX_STEP_WORKING_DAYS)
        due = deadlines.deadlines_from(step.at, promise_limit(days))[1]
        return due.astimezone(deadlines.time_zone()).date()
    value = data["promised_on"]
    promised = value if isinstance(value, dt.date) else parse_date(str(value).strip())
    if promised is None or promised < step.at.astimezone(deadlines.time_zone()).date():
        raise field_error("promised_on", MSG_STEP_DATE)
    return promised


def hand_off(step: Step) -> None:
    """转办: the matter goes to a town or county office for its part; a ``ServiceStep``
    (numbered 1, 2, ...) records the office, its level and its promised date. The request
    stays in progress, and its own promise to the resident does not move."""
    office = step.data.get("office")
    office = office.strip() if isinstance(office, str) else ""
    if not office:
        raise field_error("office", MSG_OFFICE_REQUIRED)
    level = step.data.get("level")
    if level not in (Level.TOWN, Level.COUNTY):
        raise field_error("level", MSG_STEP_LEVEL)
    promised = _office_promise(step)
    last = step.case.steps.aggregate(n=Max("number"))["n"] or 0
    row = ServiceStep.objects.create(
        request=step.case,
        number=last + 1,
        office=office[:100],
        level=level,
        handed_at=step.at,
        promised_on=promised,
        note=step.note,
    )
    step.out = {
        "step": row.number,
        "office": row.office,
        "level": level,
        "promised_on": promised.isoformat(),
    }


def not_the_first_receiver(case: Any, kind: CaseKind, parties: Any) -> str | None:
    """The person who took a request does not record its rating: residents' ratings count
    in their own assessment (``assessments``). The resident rates on the public page; a
    colleague may record a rating given by phone or at the desk."""
    user = parties.user
    if user is not None and user.is_authenticated and case.reporter_id == user.pk:
        return gettext(MSG_FIRST_RECEIVER_RATES)
    return None


def not_the_first_receiver_sql(kind: CaseKind, parties: Any) -> Q:
    """``not_the_first_receiver`` as SQL (``cases.todo``)."""
    user = parties.user
    return ~Q(reporter=user) if user.is_authenticated else Q()


def escalated_by_the_owner(case: Any, kind: CaseKind, parties: Any) -> str | None:
    """The village keeps handling a request escalated to the town, but escalating it further
    is the town's (the owner's) decision."""
    if parties.everything or parties.handles(case.owner_level, case.owner_code):
        return None
    return gettext(MSG_ESCALATED_BY_THE_OWNER) % {"code": case.owner_code}


def a_step_is_out(case: Any, kind: CaseKind, parties: Any) -> str | None:
    """The office's part can come back only while a hand-off is out."""
    out = ServiceStep.objects.filter(request=case, back_at__isnull=True).exists()
    return None if out else gettext(MSG_NO_STEP_OUT)


def step_back(step: Step) -> None:
    """The office's part came back (``data.step``: its number; the latest still out when
    not given): the step gets ``back_at``."""
    out = ServiceStep.objects.filter(request=step.case, back_at__isnull=True)
    given = step.data.get("step")
    if given in (None, ""):
        row = out.order_by("-number").first()
    else:
        number = whole_number(given)
        row = out.filter(number=number).first() if number is not None else None
    if row is None:
        raise field_error("step", MSG_STEP_UNKNOWN, step=given if given is not None else "")
    row.back_at = step.at
    row.save(update_fields=["back_at"])
    step.out = {"step": row.number, "office": row.office}


def _close_steps(step: Step) -> None:
    """A request done or returned has no hand-off still out: the offices' parts are back."""
    ServiceStep.objects.filter(request=step.case, back_at__isnull=True).update(back_at=step.at)


def done(step: Step) -> None:
    """办结: the engine's resolve; the first receiver hears, to hand it over."""
    workflow.resolve(step)
    _close_steps(step)
    receiver = step.case.first_receiver_id
    step.notify = {receiver} if receiver is not None else set()


def deliver(step: Step) -> None:
    """交付: picked up by the resident or delivered to them (``data.how``); the engine's
    close-out (closed on time when done by the promise)."""
    how = step.data.get("how")
    if how not in HOW:
        raise field_error("how", MSG_HOW)
    workflow.close_out(step)
    step.out["how"] = how


def decline(step: Step) -> None:
    """退回: not eligible, with the reason (the note); final."""
    step.case.extension_pending = False
    _close_steps(step)


TRANSITIONS: dict[str, Transition] = kind_transitions(
    keep=[
        Action.START,
        Action.RESOLVE,
        Action.CLOSE_OUT,
        Action.CALLBACK,
        Action.REQUEST_EXTENSION,
        Action.GRANT_EXTENSION,
        Action.REFUSE_EXTENSION,
        Action.ESCALATE,
        Action.CANCEL,
    ],
    override={
        Action.RESOLVE: {"handler": done},
        Action.CLOSE_OUT: {
            "party": HANDLER,
            "sources": [Status.RESOLVED],
            "conditions": [],
            "handler": deliver,
        },
        Action.CALLBACK: {
            "party": HANDLER,
            "sources": [Status.RESOLVED, Status.CLOSED],
            "conditions": [not_rated_since_resolved, not_the_first_receiver],
        },
        Action.ESCALATE: {
            "sources": OPEN_WORK,
            "target": None,
            "conditions": [
                *workflow.TRANSITIONS[Action.ESCALATE].conditions,
                escalated_by_the_owner,
            ],
        },
        Action.CANCEL: {"party": HANDLER, "sources": OPEN_WORK},
    },
    add={
        Action.HAND_OFF: Transition(HANDLER, frozenset([Status.IN_PROGRESS]), None, hand_off),
        Action.STEP_BACK: Transition(
            HANDLER, frozenset([Status.IN_PROGRESS]), None, step_back, (a_step_is_out,)
        ),
        Action.DECLINE: Transition(
            HANDLER, frozenset(OPEN_WORK), Status.DECLINED, decline, reason_required=True
        ),
    },
)


class ServiceRequestKind(CaseKind):
    name = "service_request"
    model = ServiceRequest
    event_model = ServiceRequestEvent
    due_event_model = ServiceRequestDue
    supervision_model = ServiceRequestSupervision
    case_field = "request"
    transitions = TRANSITIONS
    extra_handler_roles = {Level.VILLAGE: (Role.VILLAGE_ASSISTANT,)}
    handler_messages = {Level.VILLAGE: MSG_ONLY_VILLAGE}
    reopen_on_low_rating = False
    new_deadlines_on_escalation = False
    handlers_stay_at = Level.VILLAGE
    action_labels = {
        Action.START: pgettext_lazy("service action", "start handling"),
        Action.RESOLVE: pgettext_lazy("service action", "done"),
        Action.CLOSE_OUT: pgettext_lazy("service action", "deliver"),
        Action.CANCEL: pgettext_lazy("service action", "withdraw"),
        Action.CALLBACK: pgettext_lazy("service action", "record the resident's rating"),
    }
    action_phrases = {
        Action.START: gettext_noop("start handling this request"),
        Action.HAND_OFF: gettext_noop("hand this request off to an office"),
        Action.STEP_BACK: gettext_noop("record that an office's part came back"),
        Action.RESOLVE: gettext_noop("report this request done"),
        Action.CLOSE_OUT: gettext_noop("deliver this request"),
        Action.DECLINE: gettext_noop("return this request as not eligible"),
        Action.CANCEL: gettext_noop("withdraw this request"),
        Action.CALLBACK: gettext_noop("record the resident's rating of this request"),
        Action.REQUEST_EXTENSION: gettext_noop("ask for more time on this request"),
        Action.GRANT_EXTENSION: gettext_noop("grant more time on this request"),
        Action.REFUSE_EXTENSION: gettext_noop("refuse more time on this request"),
        Action.ESCALATE: gettext_noop("escalate this request"),
    }

    def time_limit(self, case: Any) -> TimeLimit:
        days = ServiceItem.objects.filter(pk=case.item_id).values_list("promised_days", flat=True)
        return promise_limit(days.get())

    def notify(self, case: Any, event: Any, worker_ids: set[int]) -> None:
        notifications.notify_request(case, event, worker_ids)

    def notify_overdue_at_top(
        self, case: Any, worker_ids: set[int], *, kind: str, due_at: dt.datetime
    ) -> None:
        notifications.notify_overdue_at_top(case, worker_ids, due_at=due_at)

    def notify_supervision(self, case: Any, worker_ids: set[int], *, number: int) -> None:
        notifications.notify_supervision(case, worker_ids, number=number)

    def clock_queryset(self) -> QuerySet[ServiceRequest]:
        return ServiceRequest.objects.select_related("item")


# The to do reads the kind's own condition as SQL (cases.todo).
register_condition_sql(not_the_first_receiver, not_the_first_receiver_sql)
