"""Separation of duties in the closed loop of an incident (issue 12, item 6; acceptance 4).

The threat: the loop's checks are done by whoever happens to hold the case. "Report resolved"
accepted an empty result, so a case could be closed with nothing on record of what was done;
one station account verified and closed out the same case within a minute; and any station
account could sign the close-out (销号) that seed 003 gives the station head to sign.

What fixed it (``cases.workflow``, one rule for every kind of case):

- resolve requires a written result (the note, not blank after stripping): otherwise 400 with
  ``MSG_RESULT_REQUIRED`` and nothing written; photos still go with it;
- close-out is refused to whoever made the case's latest verification
  (``not_the_verifier``: ``MSG_VERIFIER_CANNOT_CLOSE``), and no longer offered to them;
- close-out of a grid or village case is signed by the head of the station whose catchment
  holds the village, or by the delegate recorded for them (an active ``station_head_delegate``
  role assignment on that station), never by a station staff account
  (``MSG_ONLY_STATION_HEAD``); the event records the signer and ``signed_as``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from psycopg.types.range import Range

from grids.models import Role
from incidents import workflow
from incidents.models import CaseEvent, Incident, Status
from incidents.workflow import Action, allowed_actions
from tests.factories import RoleAssignmentFactory, UserFactory, WorkerFactory
from tests.incidents.test_routing import build_world, world_generation
from tests.incidents.test_workflow import (
    CaseWorld,
    act,
    build_case_world,
    msg,
    new_case,
    phrase,
)


@pytest.fixture
def cw(db) -> CaseWorld:
    return build_case_world(build_world(world_generation()))


def actions_url(incident: Incident) -> str:
    return reverse("incident-actions", args=[incident.pk])


def post(api_client: Any, cw: CaseWorld, who: str, incident: Incident, body: dict) -> Any:
    api_client.force_authenticate(cw.users[who])
    version = Incident.objects.values_list("version", flat=True).get(pk=incident.pk)
    return api_client.post(actions_url(incident), {"version": version, **body}, "json")


def events(incident: Incident) -> list[str]:
    return list(
        CaseEvent.objects.filter(incident=incident).order_by("seq").values_list("action", flat=True)
    )


# --- a written result -----------------------------------------------------------------------
@pytest.mark.parametrize("note", [None, "", "  \n\t "])
def test_resolve_with_an_empty_result_is_a_400_with_a_message(api_client, cw, note):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    body: dict[str, Any] = {"action": "resolve"}
    if note is not None:
        body["note"] = note
    before = events(incident)
    res = post(api_client, cw, "grid_leader", incident, body)
    assert res.status_code == 400
    assert res.json()["errors"] == {"note": [msg(workflow.MSG_RESULT_REQUIRED)]}
    assert res.json()["detail"] == msg(workflow.MSG_RESULT_REQUIRED)
    assert events(incident) == before
    assert Incident.objects.get(pk=incident.pk).status == Status.ACKNOWLEDGED


def test_the_result_message_is_translated():
    with translation.override("zh-hans"):
        chinese = translation.gettext(workflow.MSG_RESULT_REQUIRED)
    assert chinese != workflow.MSG_RESULT_REQUIRED and "。" in chinese


# --- verification and close-out by different people ----------------------------------------
def verified_by(cw: CaseWorld, who: str, severity: str = "blue") -> Incident:
    incident = new_case(cw, severity)
    owner = "grid_leader" if severity == "blue" else "village_secretary"
    act(cw, owner, incident, Action.ACKNOWLEDGE)
    act(cw, owner, incident, Action.RESOLVE, note="Settled on site")
    return act(cw, who, incident, Action.VERIFY)


def test_the_same_person_cannot_verify_and_close_out(api_client, cw):
    incident = verified_by(cw, "station_head")
    assert Action.CLOSE_OUT not in allowed_actions(user=cw.users["station_head"], incident=incident)
    res = post(api_client, cw, "station_head", incident, {"action": "close_out"})
    assert res.status_code == 403
    assert res.json()["detail"] == msg(workflow.MSG_VERIFIER_CANNOT_CLOSE)
    assert Incident.objects.get(pk=incident.pk).status == Status.VERIFIED
    assert events(incident)[-1] == "verify"


def test_after_a_reverification_the_latest_verifier_is_the_one_refused(cw):
    incident = verified_by(cw, "station_staff")
    act(cw, "station_head", incident, Action.REOPEN, note="Still leaking")
    act(cw, "grid_leader", incident, Action.RESOLVE, note="Pipe replaced")
    incident = act(cw, "station_head", incident, Action.VERIFY)
    with pytest.raises(workflow.ActionNotAllowed):
        act(cw, "station_head", incident, Action.CLOSE_OUT)


# --- the station head signs -----------------------------------------------------------------
@pytest.mark.parametrize("severity", ["blue", "yellow"])  # a grid case and a village case
def test_a_non_head_station_account_cannot_close_out(api_client, cw, severity):
    incident = verified_by(cw, "superuser", severity)
    assert incident.owner_level == ("grid" if severity == "blue" else "village")
    staff = cw.users["station_staff"]
    assert Action.CLOSE_OUT not in allowed_actions(user=staff, incident=incident)
    res = post(api_client, cw, "station_staff", incident, {"action": "close_out"})
    assert res.status_code == 403
    assert res.json()["detail"] == msg(
        workflow.MSG_ONLY_STATION_HEAD, code=cw.station, action=phrase("close_out")
    )
    res = post(api_client, cw, "station_head", incident, {"action": "close_out"})
    assert res.status_code == 200, res.json()
    event = CaseEvent.objects.get(incident=incident, action=Action.CLOSE_OUT)
    assert event.actor == cw.users["station_head"]
    assert event.actor_name == "S1 head"
    assert event.data == {"signed_as": "station_head"}


def delegate(cw: CaseWorld, *, ends: dt.date | None = None) -> Any:
    user = UserFactory(username="s1-delegate")
    today = timezone.localdate()
    RoleAssignmentFactory(
        worker=WorkerFactory(user=user, name="S1 delegate"),
        role=Role.STATION_HEAD_DELEGATE,
        station=cw.world.station,
        period=Range(today - dt.timedelta(days=30), ends, "[)"),
    )
    cw.users["delegate"] = user
    return user


def test_the_heads_recorded_delegate_signs_and_the_history_says_so(cw):
    delegate(cw)
    incident = verified_by(cw, "station_head", "yellow")
    assert Action.CLOSE_OUT in allowed_actions(user=cw.users["delegate"], incident=incident)
    incident = act(cw, "delegate", incident, Action.CLOSE_OUT)
    assert incident.status == Status.CLOSED
    event = CaseEvent.objects.get(incident=incident, action=Action.CLOSE_OUT)
    assert (event.actor_name, event.data) == ("S1 delegate", {"signed_as": "station_head_delegate"})


def test_a_delegation_that_ended_yesterday_signs_nothing(cw):
    delegate(cw, ends=timezone.localdate())
    incident = verified_by(cw, "station_staff")
    with pytest.raises(workflow.ActionNotAllowed):
        act(cw, "delegate", incident, Action.CLOSE_OUT)


# --- after close-out the reporter rates; 1-2 reopens (kept from before) ---------------------
def test_after_close_out_the_reporter_rates_and_a_2_reopens(cw):
    incident = verified_by(cw, "station_staff")
    incident = act(cw, "station_head", incident, Action.CLOSE_OUT)
    assert allowed_actions(user=cw.users["reporter"], incident=incident) == [Action.CALLBACK]
    incident = act(cw, "reporter", incident, Action.CALLBACK, data={"rating": 2})
    assert (incident.status, incident.rework_count, incident.closed_at) == (
        Status.IN_PROGRESS,
        1,
        None,
    )
    assert events(incident)[-2:] == ["callback", "reopen"]
