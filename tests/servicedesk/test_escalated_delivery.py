"""Delivery after escalation: a request the clock escalated to the town stays the village's
to finish and deliver (``ServiceRequestKind.handlers_stay_at``); the town may act beside it,
a stranger village may not, the history names who did what, the to do and
``allowed_actions`` agree, and the figures count it as any other request. Incidents keep the
engine's rule: an escalated incident is the new owner's alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils.translation import gettext

from accounts.models import AccountRole
from cases import clock
from cases.kinds import kind_of
from cases.models import Status
from cases.todo import TodoAction, todo_queryset
from cases.workflow import Action, ActionNotAllowed, allowed_actions, home_place
from gridmap.codes import Level
from incidents.models import Incident
from servicedesk.figures import service_breakdown, service_figures
from servicedesk.models import ServiceRequest, ServiceRequestEvent
from servicedesk.selectors import requests_visible_to
from servicedesk.todo import MSG_TODO_ESCALATED, todo_items
from tests.cases.todo_agreement import assert_todo_agrees
from tests.factories import AccountFactory, UserFactory
from tests.servicedesk.engine_world import SHANGHAI, act, build_world, take

# After the promise of a request taken on FRIDAY (10 October 2025, 17:30): the clock
# escalates it.
LATER = dt.datetime(2025, 10, 11, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def w(db):
    return build_world()


def escalated(w, *, start: bool = True) -> ServiceRequest:
    """A request taken by the assistant (the first receiver) and escalated by the clock."""
    request = take(w)
    if start:
        request = act(w, "assistant", request, "start")
    assert (request.pk, "resolve") in clock.escalate_overdue(LATER)
    request.refresh_from_db()
    assert (request.owner_level, request.owner_code) == (Level.TOWN, w.town.code)
    return request


def escalated_mark() -> str:
    """The to do's "(escalated to the town)", in the active language."""
    return gettext(MSG_TODO_ESCALATED) % {"text": ""}


def who_did(request: ServiceRequest) -> list[tuple[str, str]]:
    return list(
        ServiceRequestEvent.objects.filter(request=request)
        .order_by("seq")
        .values_list("action", "actor_name")
    )


def test_the_village_assistant_finishes_and_delivers_an_escalated_request(w):
    request = escalated(w)
    request = act(w, "assistant", request, "hand_off", data={"office": "Civil affairs office",
                                                              "level": "county",
                                                              "working_days": 2})  # fmt: skip
    request = act(w, "assistant", request, "step_back")
    request = act(w, "assistant", request, "resolve", note="Allowance approved")
    assert request.status == Status.RESOLVED
    request = act(w, "assistant", request, "close_out", data={"how": "pickup"})
    assert request.status == Status.CLOSED and request.closed_on_time is False
    # The town still owns it (it supervises); the village did the work.
    assert request.owner_level == Level.TOWN
    assert who_did(request) == [
        ("report", "assistant"),
        ("start", "assistant"),
        ("escalate", "系统"),  # the system (the clock)
        ("hand_off", "assistant"),
        ("step_back", "assistant"),
        ("resolve", "assistant"),
        ("close_out", "assistant"),
    ]
    escalation = ServiceRequestEvent.objects.get(request=request, action="escalate")
    assert escalation.actor is None and escalation.data["automatic"] is True


def test_the_first_receiver_and_the_village_handlers_may_deliver(w):
    # The secretary (a village handler, not the first receiver) reports it done.
    request = act(w, "secretary", escalated(w), "resolve", note="Done at the county")
    assert request.first_receiver.user == w.users["assistant"]
    for who in ("assistant", "secretary", "town_staff", "dispatcher"):
        assert Action.CLOSE_OUT in allowed_actions(user=w.users[who], case=request), who
    request = act(w, "assistant", request, "close_out", data={"how": "delivered"})
    assert who_did(request)[-2:] == [("resolve", "secretary"), ("close_out", "assistant")]
    # The first receiver does not record the rating (it counts in their own assessment);
    # a colleague of the village does.
    assert Action.CALLBACK not in allowed_actions(user=w.users["assistant"], case=request)
    request = act(w, "secretary", request, "callback", data={"rating": 4})
    assert request.satisfaction == 4


def test_the_town_may_act_beside_the_village(w):
    request = act(w, "dispatcher", escalated(w, start=False), "start")
    request = act(w, "town_staff", request, "resolve", note="Approved by the town")
    request = act(w, "assistant", request, "close_out", data={"how": "pickup"})
    assert who_did(request)[-3:] == [
        ("start", "dispatcher"),
        ("resolve", "town_staff"),
        ("close_out", "assistant"),
    ]


def test_a_stranger_village_and_the_grid_leader_may_not(w):
    request = escalated(w)
    for who in ("other_assistant", "leader", "stranger", "head"):
        assert Action.RESOLVE not in allowed_actions(user=w.users[who], case=request), who
        with pytest.raises(ActionNotAllowed):
            act(w, who, request, "resolve", note="not mine")
    request = act(w, "assistant", request, "resolve", note="done")
    for who in ("other_assistant", "leader", "stranger"):
        with pytest.raises(ActionNotAllowed):
            act(w, who, request, "close_out", data={"how": "pickup"})
    request.refresh_from_db()
    assert request.status == Status.RESOLVED


def test_escalating_further_is_the_towns_decision(w):
    request = escalated(w)
    assert Action.ESCALATE not in allowed_actions(user=w.users["assistant"], case=request)
    with pytest.raises(ActionNotAllowed) as refused:
        act(w, "assistant", request, "escalate", note="over the town's head")
    assert w.town.code in str(refused.value)
    request = act(w, "town_staff", request, "escalate", note="the county's matter")
    assert request.owner_level == Level.COUNTY
    # The village still handles it (it holds the resident's papers).
    assert Action.RESOLVE in allowed_actions(user=w.users["assistant"], case=request)


def test_the_to_do_agrees_and_marks_it_escalated(w):
    request = escalated(w)
    # Taken after the escalation: still the village's alone.
    fresh = act(w, "assistant", take(w, at=LATER), "start")
    # A village staff account (an office grant) handles it like the village's roles.
    w.users["village_staff"] = AccountFactory(
        user=UserFactory(username="village_staff"),
        role=AccountRole.VILLAGE_STAFF,
        codes=[w.village.code],
    ).user
    assert_todo_agrees(w.users, requests_visible_to)
    for who in ("assistant", "secretary", "village_staff", "town_staff", "dispatcher"):
        user = w.users[who]
        rows = dict(todo_queryset(user, requests_visible_to(user)).values_list("id", "todo_action"))
        assert rows.get(request.pk) == TodoAction.RESOLVE, who
    for who in ("other_assistant", "leader"):
        user = w.users[who]
        assert not todo_queryset(user, requests_visible_to(user)).filter(pk=request.pk).exists()
    items = {i["id"]: i for i in todo_items(w.users["town_staff"], LATER)}
    assert items[request.pk]["escalated"] and items[request.pk]["overdue"]
    assert items[request.pk]["text"].endswith(escalated_mark())
    assert fresh.pk not in items
    # Done by the village: the delivery waits on the village and on the town.
    request = act(w, "assistant", request, "resolve", note="done")
    assert_todo_agrees(w.users, requests_visible_to)
    user = w.users["assistant"]
    rows = dict(todo_queryset(user, requests_visible_to(user)).values_list("id", "todo_action"))
    assert rows[request.pk] == TodoAction.CLOSE_OUT


def test_a_request_at_the_village_is_not_marked_escalated(w):
    request = act(w, "assistant", take(w), "start")
    items = {i["id"]: i for i in todo_items(w.users["assistant"], LATER)}
    assert items[request.pk]["escalated"] is False
    assert escalated_mark() not in items[request.pk]["text"]


def test_the_figures_count_it_for_the_village_and_its_first_receiver(w):
    on_time = act(w, "assistant", take(w), "start")
    on_time = act(w, "assistant", on_time, "escalate", note="needs the town's seal")
    # Escalated by a person before the promise, delivered by the village in time.
    on_time = act(w, "assistant", on_time, "resolve", note="done")
    on_time = act(w, "assistant", on_time, "close_out", data={"how": "pickup"})
    late = escalated(w)
    late = act(w, "assistant", late, "resolve", note="done", at=LATER + dt.timedelta(hours=1))
    late = act(w, "assistant", late, "close_out", data={"how": "delivered"})
    assert on_time.closed_on_time is True and late.closed_on_time is False
    period = {"start": dt.date(2025, 9, 1), "end": dt.date(2025, 11, 1)}
    for level, code in ((Level.VILLAGE, w.village.code), (Level.TOWN, w.town.code)):
        figures = service_figures(level=level, code=code, **period)
        assert (figures.received, figures.completed, figures.on_time) == (2, 2, 1), level
        assert figures.completion_rate == 1.0 and figures.on_time_rate == 0.5
    rows = service_breakdown(by="assistant", level=Level.TOWN, code=w.town.code, **period)
    assert [(r.pk, r.completed, r.on_time) for r in rows] == [
        (w.users["assistant"].worker.pk, 2, 1)
    ]


def test_incidents_keep_the_owners_rule():
    assert kind_of(Incident).handlers_stay_at is None
    assert kind_of(ServiceRequest).handlers_stay_at == Level.VILLAGE


def test_the_home_place_is_only_above_the_village(w):
    request = take(w)
    kind = kind_of(ServiceRequest)
    assert home_place(request, kind) is None
    request = escalated(w)
    assert home_place(request, kind) == (Level.VILLAGE, w.village.code)
    assert home_place(request, kind_of(Incident)) is None
