"""cases.todo: the to do is the workflow's rule in SQL, so it must agree with
``allowed_actions`` case by case.

The world is the workflow tests' (``tests.incidents.test_workflow``: grids W and E of village
V1, station S1, town T1, district, city; a login per role holder and an account per level),
with a login for W's party-building guide. Cases are put into every state a to do asks about
(reported at each level, acknowledged, in progress, more time asked for, resolved, verified
by a station account or by the head, closed out and rated or not, returned, escalated to the
city), then for every login the to do is compared with what ``allowed_actions`` says of every
case the login may see: the item is the first action of ``TODO_ACTIONS`` the login may take
(rating only once the case is closed out), and a case with none is not in the to do.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AccountRole
from cases import workflow as engine
from cases.todo import CONDITION_SQL, TODO_ACTIONS, TodoAction
from incidents.models import Incident, Status
from incidents.selectors import incidents_visible_to
from incidents.todo import FOLLOW_UP, todo, todo_count, todo_counts
from incidents.workflow import Action
from tests.cases.todo_agreement import assert_todo_agrees
from tests.factories import AccountFactory
from tests.incidents.test_routing import build_world, world_generation
from tests.incidents.test_workflow import (
    CaseWorld,
    _login_for,
    act,
    build_case_world,
    new_case,
)


def build_todo_world() -> CaseWorld:
    """The workflow tests' world with logins for W's guide and V1's mediation director."""
    cw = build_case_world(build_world(world_generation()))
    cw.users["guide"] = _login_for(cw.world, "W guide", "w-guide")
    cw.users["director"] = _login_for(cw.world, "V1 director", "v1-director")
    # A hand-typed grid account for W on E's leader: a person's place-level account counts
    # for nothing (``granted_account``), in the to do as in the workflow.
    AccountFactory(
        user=cw.users["other_grid_leader"], role=AccountRole.GRID_WORKER, codes=[cw.west]
    )
    return cw


@pytest.fixture
def tw(db) -> CaseWorld:
    return build_todo_world()


def _cases(cw: CaseWorld) -> dict[str, Incident]:
    """Cases in every state the to do asks about; the key says which."""
    c: dict[str, Incident] = {}
    c["reported"] = new_case(cw)
    c["acknowledged"] = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    started = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    c["in_progress"] = act(cw, "grid_leader", started, Action.START)
    more = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    c["more_time"] = act(
        cw, "grid_leader", more, Action.REQUEST_EXTENSION, data={"working_days": 2}
    )
    resolved = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    c["resolved"] = act(cw, "grid_leader", resolved, Action.RESOLVE)
    by_staff = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    by_staff = act(cw, "grid_leader", by_staff, Action.RESOLVE)
    c["verified_by_staff"] = act(cw, "station_staff", by_staff, Action.VERIFY)
    by_head = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    by_head = act(cw, "grid_leader", by_head, Action.RESOLVE)
    c["verified_by_head"] = act(cw, "station_head", by_head, Action.VERIFY)
    closed = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    closed = act(cw, "grid_leader", closed, Action.RESOLVE)
    closed = act(cw, "station_staff", closed, Action.VERIFY)
    c["closed"] = act(cw, "station_head", closed, Action.CLOSE_OUT)
    rated = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    rated = act(cw, "grid_leader", rated, Action.RESOLVE)
    rated = act(cw, "station_staff", rated, Action.VERIFY)
    rated = act(cw, "station_head", rated, Action.CLOSE_OUT)
    c["closed_rated"] = act(cw, "reporter", rated, Action.CALLBACK, data={"rating": 5})
    c["returned"] = act(cw, "grid_leader", new_case(cw), Action.RETURN_CASE, note="not ours")
    c["village"] = new_case(cw, "yellow")
    # Reported by E's leader, so visible to them: yet not theirs to acknowledge.
    c["reported_by_e_leader"] = new_case(cw, reporter="other_grid_leader")
    c["town"] = new_case(cw, "red")
    town = act(cw, "town_dispatcher", new_case(cw, "red"), Action.ACKNOWLEDGE)
    c["town_resolved"] = act(cw, "town_staff", town, Action.RESOLVE)
    town = act(cw, "town_dispatcher", new_case(cw, "red"), Action.ACKNOWLEDGE)
    town = act(cw, "town_staff", town, Action.RESOLVE)
    c["town_verified"] = act(cw, "district_admin", town, Action.VERIFY)
    county = act(cw, "town_dispatcher", new_case(cw, "red"), Action.ACKNOWLEDGE)
    c["county"] = act(cw, "town_dispatcher", county, Action.ESCALATE, note="too big")
    county = act(cw, "town_dispatcher", new_case(cw, "red"), Action.ACKNOWLEDGE)
    county = act(cw, "town_dispatcher", county, Action.ESCALATE, note="too big")
    c["city"] = act(cw, "district_admin", county, Action.ESCALATE, note="bigger")
    c["city_resolved"] = act(
        cw,
        "city_admin",
        act(cw, "city_admin", c["city"], Action.ACKNOWLEDGE),
        Action.RESOLVE,
    )
    c["city"] = act(cw, "district_admin", new_case_at_county(cw), Action.ESCALATE, note="up")
    return c


def new_case_at_county(cw: CaseWorld) -> Incident:
    county = act(cw, "town_dispatcher", new_case(cw, "red"), Action.ACKNOWLEDGE)
    return act(cw, "town_dispatcher", county, Action.ESCALATE, note="too big")


def test_every_condition_of_a_to_do_action_has_its_sql_twin():
    for action in TODO_ACTIONS.values():
        for condition in engine.TRANSITIONS[action].conditions:
            assert condition in CONDITION_SQL, (action, condition.__name__)


def test_the_to_do_is_what_allowed_actions_says_for_every_login_and_case(tw):
    cases = _cases(tw)
    assert {i.status for i in cases.values()} >= {
        Status.REPORTED,
        Status.ACKNOWLEDGED,
        Status.IN_PROGRESS,
        Status.RESOLVED,
        Status.VERIFIED,
        Status.CLOSED,
        Status.RETURNED,
    }
    seen = assert_todo_agrees(tw.users, incidents_visible_to)
    # The comparison covered every kind of item.
    assert seen == {str(a) for a in TodoAction}


def test_who_gets_what(tw):
    cases = _cases(tw)

    def items(who: str) -> dict[str, str]:
        names = {i.pk: k for k, i in cases.items()}
        return {names[i.pk]: i.todo_action for i in todo(tw.users[who]) if i.pk in names}

    leader = items("grid_leader")
    assert leader["reported"] == "acknowledge"
    assert leader["acknowledged"] == "start"
    assert leader["in_progress"] == "resolve"
    assert leader["more_time"] == "start"
    assert "resolved" not in leader
    head = items("station_head")
    assert head["more_time"] == "decide_extension"
    assert head["resolved"] == "verify"
    assert head["verified_by_staff"] == "close_out"
    assert "verified_by_head" not in head  # the verifier does not close out
    staff = items("station_staff")
    assert staff["resolved"] == "verify"
    assert "verified_by_staff" not in staff  # station staff accounts do not sign
    assert items("reporter") == {"closed": "callback"}
    assert items("other_grid_leader") == {}
    assert items("village_secretary")["village"] == "acknowledge"
    assert items("village_secretary")["returned"] == "redispatch"
    assert items("town_dispatcher")["town"] == "acknowledge"
    assert items("district_admin")["town_resolved"] == "verify"
    assert items("town_dispatcher")["town_verified"] == "close_out"
    assert items("district_admin")["county"] == "acknowledge"
    assert items("city_admin")["city"] == "acknowledge"
    # Routed with the leader but not a handler: asked to see that it is taken up, until it is.
    assert items("guide") == {
        "reported": FOLLOW_UP,
        "village": FOLLOW_UP,
        "reported_by_e_leader": FOLLOW_UP,
    }
    # The mediation director handles village cases: the yellow one is theirs to acknowledge.
    director = items("director")
    assert (director["reported"], director["village"]) == (FOLLOW_UP, "acknowledge")
    counts = todo_counts(tw.users["station_head"])
    assert counts["verify"] == 1 and counts["close_out"] == 1 and counts["decide_extension"] == 1
    assert todo_count(tw.users["station_head"]) == sum(counts.values())


def test_a_rating_is_asked_for_a_limited_time_after_close_out(tw):
    cases = _cases(tw)
    reporter = tw.users["reporter"]
    assert [i.pk for i in todo(reporter)] == [cases["closed"].pk]
    later = timezone.now() + dt.timedelta(days=31)
    assert list(todo(reporter, now=later)) == []


def test_the_order_is_severity_then_deadline(tw):
    blue_late = new_case(tw)
    blue_early = new_case(tw)
    Incident.objects.filter(pk=blue_early.pk).update(
        acknowledge_due_at=blue_late.acknowledge_due_at - dt.timedelta(hours=1)
    )
    leader_items = [i.pk for i in todo(tw.users["grid_worker"])]
    assert leader_items == [blue_early.pk, blue_late.pk]
    yellow = new_case(tw, "yellow")
    red = new_case(tw, "red")
    district = [i.pk for i in todo(tw.users["district_admin"])]
    assert district == []  # a district administrator acknowledges nothing at the town level
    # The grid worker account of W handles only W's grid cases; the superuser has no items.
    assert [i.pk for i in todo(tw.users["superuser"])] == []
    assert yellow.pk not in leader_items and red.pk not in leader_items
