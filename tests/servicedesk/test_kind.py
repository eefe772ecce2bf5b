"""The service kind on the case engine: its table is the engine's with the kind's changes, the
incident kind keeps the engine's, and the to do of service requests is the kind's rule in SQL
(it agrees with ``allowed_actions`` for every login and every state, as
``tests/cases/test_todo.py`` checks for incidents)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.translation import pgettext

from cases import workflow
from cases.kinds import kind_of
from cases.models import Status
from cases.todo import CONDITION_SQL, TODO_ACTIONS, TodoAction, todo_queryset
from cases.workflow import Action, allowed_actions, transitions_of
from gridmap.codes import Level
from grids.models import Role
from incidents.models import Incident
from incidents.todo import todo_count
from incidents.todo_extra import sections
from servicedesk.kind import TRANSITIONS, ServiceRequestKind
from servicedesk.models import ServiceRequest
from servicedesk.selectors import requests_visible_to
from tests.cases.todo_agreement import assert_todo_agrees
from tests.servicedesk.engine_world import act, build_world, take


@pytest.fixture
def w(db):
    return build_world()


def test_the_kind_is_registered_with_its_own_table():
    kind = kind_of(ServiceRequest)
    assert isinstance(kind, ServiceRequestKind)
    assert transitions_of(kind) is TRANSITIONS
    assert set(TRANSITIONS) == {
        Action.START,
        Action.HAND_OFF,
        Action.STEP_BACK,
        Action.RESOLVE,
        Action.CLOSE_OUT,
        Action.CALLBACK,
        Action.REQUEST_EXTENSION,
        Action.GRANT_EXTENSION,
        Action.REFUSE_EXTENSION,
        Action.ESCALATE,
        Action.DECLINE,
        Action.CANCEL,
    }
    engine = workflow.TRANSITIONS
    # The engine's rules, changed only where service differs.
    assert TRANSITIONS[Action.START] == engine[Action.START]
    assert TRANSITIONS[Action.GRANT_EXTENSION] == engine[Action.GRANT_EXTENSION]
    assert TRANSITIONS[Action.CLOSE_OUT].party == workflow.HANDLER
    assert TRANSITIONS[Action.CLOSE_OUT].sources == {Status.RESOLVED}
    assert TRANSITIONS[Action.CLOSE_OUT].conditions == ()
    assert TRANSITIONS[Action.ESCALATE].target is None
    assert TRANSITIONS[Action.ESCALATE].handler is engine[Action.ESCALATE].handler
    assert TRANSITIONS[Action.CANCEL].party == workflow.HANDLER
    assert TRANSITIONS[Action.DECLINE].target == Status.DECLINED
    assert workflow.reason_required_actions(kind) == {
        Action.RESOLVE,
        Action.ESCALATE,
        Action.DECLINE,
        Action.CANCEL,
    }
    # Incidents keep the engine's table.
    assert transitions_of(kind_of(Incident)) is engine


def test_the_services_labels():
    kind = kind_of(ServiceRequest)
    assert workflow.action_label(kind, Action.CLOSE_OUT) == pgettext("service action", "deliver")
    assert workflow.action_label(kind, Action.CANCEL) == pgettext("service action", "withdraw")
    assert workflow.action_label(kind_of(Incident), Action.CLOSE_OUT) == str(Action.CLOSE_OUT.label)


def test_village_assistants_handle_service_requests_only(w):
    kind = kind_of(ServiceRequest)
    roles, field = workflow.worker_roles(kind, Level.VILLAGE)
    assert Role.VILLAGE_ASSISTANT in roles and field == "village"
    assert Role.VILLAGE_ASSISTANT not in workflow.worker_roles(kind_of(Incident), Level.VILLAGE)[0]
    on = dt.date(2025, 9, 26)
    ids = workflow.handler_worker_ids(Level.VILLAGE, w.village.code, on, kind)
    assert w.users["assistant"].worker.pk in ids
    assert w.users["assistant"].worker.pk not in workflow.handler_worker_ids(
        Level.VILLAGE, w.village.code, on
    )


def test_an_escalation_by_a_person_keeps_the_state_and_the_promise(w):
    request = act(w, "assistant", take(w), "start")
    promise = request.resolve_due_at
    request = act(w, "assistant", request, "escalate", note="Needs the town's seal")
    assert (request.owner_level, request.status) == (Level.TOWN, Status.IN_PROGRESS)
    assert request.resolve_due_at == promise and request.escalation_count == 1
    # The village keeps handling it beside the town (delivery after escalation).
    assert "resolve" in allowed_actions(user=w.users["assistant"], case=request)
    assert "resolve" in allowed_actions(user=w.users["town_staff"], case=request)
    assert "resolve" not in allowed_actions(user=w.users["other_assistant"], case=request)


# --- the to do ---------------------------------------------------------------------------------
def _requests(w) -> dict[str, ServiceRequest]:
    """Requests in every state the to do asks about, taken two days ago."""
    start = timezone.now() - dt.timedelta(days=2)
    c: dict[str, ServiceRequest] = {}

    def new() -> ServiceRequest:
        return take(w, at=start)

    c["received"] = new()
    c["in_progress"] = act(w, "assistant", new(), "start")
    handed = act(w, "assistant", new(), "start")
    c["handed_off"] = act(
        w, "assistant", handed, "hand_off", data={"office": "Town office", "level": "town",
                                                   "working_days": 1}
    )  # fmt: skip
    c["more_time"] = act(w, "assistant", new(), "request_extension", data={"working_days": 2})
    c["done"] = act(w, "assistant", new(), "resolve", note="done")
    delivered = act(w, "assistant", new(), "resolve", note="done")
    c["delivered"] = act(w, "assistant", delivered, "close_out", data={"how": "pickup"})
    rated = act(w, "assistant", new(), "resolve", note="done")
    rated = act(w, "assistant", rated, "close_out", data={"how": "pickup"})
    c["delivered_rated"] = act(w, "secretary", rated, "callback", data={"rating": 5})
    c["declined"] = act(w, "assistant", new(), "decline", note="not eligible")
    c["withdrawn"] = act(w, "assistant", new(), "cancel", note="resident withdrew")
    c["at_town"] = act(w, "assistant", new(), "escalate", note="town's matter")
    return c


def test_every_condition_of_a_to_do_action_of_the_kind_has_its_sql_twin():
    for action in TODO_ACTIONS.values():
        for condition in TRANSITIONS.get(action, workflow.TRANSITIONS[action]).conditions:
            assert condition in CONDITION_SQL, (action, condition.__name__)


def test_the_to_do_is_what_allowed_actions_says_for_every_login_and_request(w):
    requests = _requests(w)
    assert {r.status for r in requests.values()} >= {
        Status.ACKNOWLEDGED,
        Status.IN_PROGRESS,
        Status.RESOLVED,
        Status.CLOSED,
        Status.DECLINED,
        Status.CANCELLED,
    }
    seen = assert_todo_agrees(w.users, requests_visible_to)
    # Every item the kind's table offers (it has no acknowledge, verify or redispatch).
    assert seen == {
        TodoAction.DECIDE_EXTENSION,
        TodoAction.START,
        TodoAction.RESOLVE,
        TodoAction.CLOSE_OUT,
        TodoAction.CALLBACK,
    }


def test_who_gets_what(w):
    requests = _requests(w)
    names = {r.pk: k for k, r in requests.items()}

    def items(who: str) -> dict[str, str]:
        user = w.users[who]
        rows = todo_queryset(user, requests_visible_to(user)).values_list("id", "todo_action")
        return {names[pk]: action for pk, action in rows}

    assistant = items("assistant")
    assert assistant == {
        "received": "start",
        "in_progress": "resolve",
        "handed_off": "resolve",
        "more_time": "start",
        "done": "close_out",
        # Escalated to the town, the village still handles it (the town beside it).
        "at_town": "start",
    }
    # The rating is not the first receiver's to record (it counts in their own assessment):
    # another handler of the village records one given by phone.
    assert items("secretary") == {**assistant, "delivered": "callback"}
    assert items("other_assistant") == {}
    assert items("head") == {"more_time": "decide_extension"}
    assert items("station_staff") == {"more_time": "decide_extension"}
    assert items("town_staff") == {"at_town": "start"}
    assert items("dispatcher") == {"at_town": "start"}
    assert items("leader") == {}


def test_the_requests_join_the_to_do_page_and_the_badge(w):
    requests = _requests(w)
    now = timezone.now()
    section = next(s for s in sections(w.users["assistant"], now) if s["key"] == "service_request")
    assert section["count"] == 6
    first = section["items"][0]
    assert first["url"] == f"/services/{first['id']}/" and first["short_code"] in first["text"]
    assert "Wang Fang" not in repr(section)
    assert todo_count(w.users["assistant"]) == 6
    assert todo_count(w.users["head"]) == 1
    assert requests  # taken two days ago: none overdue yet
    assert not any(item["overdue"] for item in section["items"])
