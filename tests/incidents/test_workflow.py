"""incidents.workflow: every state and side path, who may do what, conflicts, the history;
and the case API (GET /api/incidents/<id>/case/, POST /api/incidents/<id>/actions/) and
the admin, which go through the same rule.

The world is ``tests.incidents.test_routing``'s (district D, towns T1/T2, village V1 with
grids W and E, village V2, station S1 over V1 and V2), with logins for its people and an
account per level. A blue dispute in grid W is owned by grid W: its leader and the grid
worker of W handle it; station S1 supervises it and closes it out.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image

from accounts.models import Account, AccountRole
from cases import deadlines
from cases import workflow as engine
from grids.models import Generation, Worker
from inbox.models import Notification
from incidents import notifications, services, time_limits, workflow
from incidents.models import (
    CaseAttachment,
    CaseEvent,
    Category,
    Incident,
    IncidentReport,
    Level,
    Status,
    TimeUnit,
)
from incidents.workflow import (
    ACTION_PHRASES,
    Action,
    ActionNotAllowed,
    CaseConflict,
    allowed_actions,
    case_act,
)
from tests.factories import AccountFactory, GenerationFactory, UserFactory
from tests.incidents.case_history import purge_incidents
from tests.incidents.test_routing import World, build_world, world_generation

# Every test that touches the database takes ``cw`` (which takes ``db``), except the
# concurrency test, which commits (``in_own_connection``).
W_POINT = (100.01, 0.02)  # in grid W of village V1


# --- the world with logins ------------------------------------------------------------------------
@dataclass
class CaseWorld:
    world: World
    users: dict[str, Any]
    dispute: Category

    @property
    def west(self) -> str:
        return self.world.west.code

    @property
    def east(self) -> str:
        return self.world.east.code

    @property
    def v1(self) -> str:
        return self.world.v1.code

    @property
    def t1(self) -> str:
        return self.world.t1.code

    @property
    def county(self) -> str:
        return self.world.district.code

    @property
    def city(self) -> str:
        return self.world.district.code[:4] + "00"

    @property
    def station(self) -> str:
        return self.world.station.code


def _login_for(world: World, key: str, username: str) -> Any:
    user = UserFactory(username=username)
    worker = world.people[key].worker
    worker.user = user
    worker.save()
    return user


def _account(username: str, role: str, code: str, **user: Any) -> Any:
    return AccountFactory(user=UserFactory(username=username, **user), role=role, codes=[code]).user


def build_case_world(world: World) -> CaseWorld:
    users = {
        "grid_leader": _login_for(world, "W leader", "w-leader"),
        "other_grid_leader": _login_for(world, "E leader", "e-leader"),
        "village_secretary": _login_for(world, "V1 secretary", "v1-secretary"),
        "station_head": _login_for(world, "S1 head", "s1-head"),
        "town_dispatcher": _login_for(world, "T1 dispatcher", "t1-dispatcher"),
        "grid_worker": _account("w-worker", AccountRole.GRID_WORKER, world.west.code),
        "other_grid_worker": _account("e-worker", AccountRole.GRID_WORKER, world.east.code),
        "village_staff": _account("v1-staff", AccountRole.VILLAGE_STAFF, world.v1.code),
        "station_staff": _account("s1-staff", AccountRole.STATION_STAFF, world.station.code),
        "town_staff": _account("t1-staff", AccountRole.TOWN_STAFF, world.t1.code),
        "district_admin": _account("d-admin", AccountRole.DISTRICT_ADMIN, world.district.code),
        "city_admin": _account("c-admin", AccountRole.CITY_ADMIN, world.district.code[:4] + "00"),
        "reporter": UserFactory(username="resident", first_name="Li"),
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    return CaseWorld(world, users, Category.objects.get(code="dispute"))


@pytest.fixture
def cw(db) -> CaseWorld:
    return build_case_world(build_world(world_generation()))


def new_case(
    cw: CaseWorld,
    severity: str = "blue",
    *,
    reporter: str = "reporter",
    point: tuple[float, float] = W_POINT,
) -> Incident:
    incident, created = services.incident_create(
        actor=cw.users[reporter],
        point=Point(*point, srid=4326),
        category=cw.dispute,
        severity=severity,
        description="Two neighbours quarrel over a wall",
    )
    assert created
    return Incident.objects.get(pk=incident.pk)


def act(cw: CaseWorld, who: str | None, incident: Incident, action: str, **kwargs: Any) -> Incident:
    """Take an action with the case's current version (as a page showing it now would); a
    resolve without a note gets a written result (the workflow requires one)."""
    if action == Action.RESOLVE:
        kwargs.setdefault("note", "The wall was rebuilt on the line the two agreed")
    version = Incident.objects.values_list("version", flat=True).get(pk=incident.pk)
    return case_act(
        actor=None if who is None else cw.users[who],
        incident_id=incident.pk,
        action=action,
        version=version,
        **kwargs,
    )


def history(incident: Incident) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(incident=incident).order_by("seq"))


def actions_of(incident: Incident) -> list[str]:
    return [e.action for e in history(incident)]


def msg(msgid: str, **params: Any) -> str:
    return gettext(msgid) % params if params else gettext(msgid)


def phrase(action: str) -> str:
    return gettext(ACTION_PHRASES[action])


# --- the history says it all ----------------------------------------------------------------------
def _when(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def assert_history_complete(incident: Incident) -> None:
    """The history is contiguous and chained, and the case fields are what it says."""
    incident = Incident.objects.get(pk=incident.pk)
    events = history(incident)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].action == Action.REPORT
    assert events[0].at == incident.reported_at
    for before, after in zip(events, events[1:], strict=False):
        assert after.from_status == before.to_status, (before, after)
        assert after.from_level == before.to_level, (before, after)
        assert after.at >= before.at
        assert after.actor_name
    last = events[-1]
    assert (incident.status, incident.owner_level) == (last.to_status, last.to_level)

    def times(action: str) -> list[dt.datetime]:
        return [e.at for e in events if e.action == action]

    acks, resolves, closes = times("acknowledge"), times("resolve"), times("close_out")
    assert incident.acknowledged_at == (acks[0] if acks else None)
    assert incident.resolved_at == (resolves[-1] if resolves else None)
    assert incident.closed_at == (closes[-1] if incident.status == Status.CLOSED else None)
    assert incident.extension_count == len(times("grant_extension"))
    assert incident.rework_count == len(times("reopen"))
    assert incident.escalation_count == len(times("escalate"))
    ratings = [e.data["rating"] for e in events if e.action == "callback"]
    assert incident.satisfaction == (ratings[-1] if ratings else None)
    # A request waits until a decision, or anything that makes it moot.
    ends = {"grant_extension", "refuse_extension", "resolve", "return_case", "escalate"}
    ends |= {"redispatch", "cancel"}
    pending = False
    for e in events:
        if e.action == "request_extension":
            pending = True
        elif e.action in ends:
            pending = False
    assert incident.extension_pending is pending
    # The deadline in force: set by the report, an escalation, a redispatch, a grant.
    due = None
    for e in events:
        if e.data.get("resolve_due_at") and e.action != "request_extension":
            due = _when(e.data["resolve_due_at"])
    assert incident.resolve_due_at == due
    if incident.status == Status.CLOSED:
        assert incident.closed_on_time is (incident.resolved_at <= due)
    else:
        assert incident.closed_on_time is None


# --- a new case -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("severity", "level", "code"),
    [
        ("blue", Level.GRID, "west"),
        ("yellow", Level.VILLAGE, "v1"),
        ("red", Level.TOWN, "t1"),
    ],
)
def test_a_new_case_is_owned_by_its_responsible_level_with_deadlines(cw, severity, level, code):
    incident = new_case(cw, severity)
    assert (incident.status, incident.owner_level) == (Status.REPORTED, level)
    assert incident.owner_code == getattr(cw, code)
    assert incident.version == 1
    limit = time_limits.time_limit(cw.dispute.pk, severity)
    ack, res = deadlines.deadlines_from(incident.reported_at, limit)
    assert (incident.acknowledge_due_at, incident.resolve_due_at) == (ack, res)
    [report] = history(incident)
    assert (report.seq, report.action, report.actor) == (1, "report", cw.users["reporter"])
    assert (report.from_status, report.to_status) == (Status.REPORTED, Status.REPORTED)
    assert report.from_level == report.to_level == level
    assert report.actor_name == "Li"  # the login's full name
    assert_history_complete(incident)


def test_the_report_event_names_the_reporters_worker(cw):
    incident = new_case(cw, reporter="grid_leader")
    assert history(incident)[0].actor_name == "W leader"


def test_a_duplicate_attaches_to_a_case_in_progress(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    duplicate, created = services.incident_create(
        actor=cw.users["grid_worker"],
        point=Point(*W_POINT, srid=4326),
        category=cw.dispute,
        severity=None,
        description="Same quarrel",
        attach_to=incident,
    )
    assert created and duplicate.pk == incident.pk
    assert IncidentReport.objects.filter(incident=incident).count() == 2


# --- the main path --------------------------------------------------------------------------------
def test_happy_path_to_close_out(cw):
    incident = new_case(cw)
    steps = [
        ("grid_leader", Action.ACKNOWLEDGE, Status.ACKNOWLEDGED),
        ("grid_worker", Action.START, Status.IN_PROGRESS),
        ("grid_leader", Action.RESOLVE, Status.RESOLVED),
        ("station_staff", Action.VERIFY, Status.VERIFIED),
        ("station_head", Action.CLOSE_OUT, Status.CLOSED),
    ]
    for version, (who, action, status) in enumerate(steps, start=1):
        incident = case_act(
            actor=cw.users[who],
            incident_id=incident.pk,
            action=action,
            version=version,
            note=f"{action} done",
        )
        assert incident.status == status
        assert incident.version == version + 1
    events = history(incident)
    assert [e.action for e in events] == ["report", *(a for _, a, _ in steps)]
    assert [e.actor_name for e in events[1:]] == [
        "W leader",
        "w-worker",
        "W leader",
        "s1-staff",
        "S1 head",
    ]
    assert [e.note for e in events[1:]] == [f"{a} done" for _, a, _ in steps]
    assert all(e.from_level == e.to_level == Level.GRID for e in events)
    assert incident.acknowledged_at == events[1].at
    assert incident.resolved_at == events[3].at
    assert incident.closed_at == events[5].at
    assert incident.closed_on_time is True
    assert allowed_actions(user=cw.users["grid_leader"], incident=incident) == []
    assert_history_complete(incident)


def test_resolve_straight_after_acknowledging_and_the_resolve_tells_the_station(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    incident = act(cw, "grid_leader", incident, Action.RESOLVE, note="settled")
    assert incident.status == Status.RESOLVED
    head = cw.world.people["S1 head"].worker
    entry = Notification.objects.get(worker=head, subject_type="incident", subject_id=incident.pk)
    assert entry.message["msgid"] == notifications.MSG_CASE_RESOLVED
    assert_history_complete(incident)


def test_closing_late_is_not_on_time(cw):
    incident = new_case(cw)
    late = incident.resolve_due_at + dt.timedelta(hours=1)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    act(cw, "grid_leader", incident, Action.RESOLVE, at=late)
    act(cw, "station_staff", incident, Action.VERIFY, at=late)
    incident = act(cw, "station_head", incident, Action.CLOSE_OUT, at=late)
    assert incident.closed_on_time is False
    assert_history_complete(incident)


def test_attachments_go_with_the_event(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="JPEG")
    # The type stored is the one the content shows, not the uploader's (tests/security).
    photo = SimpleUploadedFile("after.jpg", buffer.getvalue(), content_type="image/png")
    act(cw, "grid_leader", incident, Action.RESOLVE, attachments=[photo])
    [attachment] = CaseAttachment.objects.filter(event__incident=incident)
    assert attachment.event.action == "resolve"
    assert (attachment.content_type, attachment.size) == ("image/jpeg", photo.size)
    too_many = [SimpleUploadedFile(f"{i}.txt", b"x") for i in range(6)]
    with pytest.raises(ValidationError) as err:
        act(cw, "station_staff", incident, Action.VERIFY, attachments=too_many)
    assert err.value.message_dict == {
        "attachments": [msg(workflow.MSG_TOO_MANY_ATTACHMENTS, max=5)]
    }


# --- return and redispatch ------------------------------------------------------------------------
def test_return_goes_to_the_village_which_redispatches_to_the_right_grid(cw):
    incident = new_case(cw)
    due = (incident.acknowledge_due_at, incident.resolve_due_at)
    with pytest.raises(ValidationError) as err:
        act(cw, "grid_leader", incident, Action.RETURN_CASE)
    assert err.value.message_dict == {"note": [msg(workflow.MSG_REASON_REQUIRED)]}
    incident = act(cw, "grid_leader", incident, Action.RETURN_CASE, note="The wall is in E")
    assert (incident.status, incident.owner_level, incident.owner_code) == (
        Status.RETURNED,
        Level.VILLAGE,
        cw.v1,
    )
    assert (incident.acknowledge_due_at, incident.resolve_due_at) == due  # the clock runs on
    secretary = cw.world.people["V1 secretary"].worker
    assert (
        Notification.objects.get(
            worker=secretary, subject_type="incident", subject_id=incident.pk
        ).message["msgid"]
        == notifications.MSG_CASE_RETURNED
    )
    assert allowed_actions(user=cw.users["grid_leader"], incident=incident) == []
    assert allowed_actions(user=cw.users["village_secretary"], incident=incident) == [
        Action.REDISPATCH,
        Action.ESCALATE,
    ]
    at = timezone.now() + dt.timedelta(minutes=5)
    incident = act(
        cw,
        "village_secretary",
        incident,
        Action.REDISPATCH,
        data={"level": "grid", "code": cw.east},
        at=at,
    )
    assert (incident.status, incident.owner_level, incident.owner_code) == (
        Status.REPORTED,
        Level.GRID,
        cw.east,
    )
    limit = time_limits.time_limit(cw.dispute.pk, "blue")
    assert (incident.acknowledge_due_at, incident.resolve_due_at) == deadlines.deadlines_from(
        at, limit
    )
    event = history(incident)[-1]
    assert (event.from_status, event.to_status) == (Status.RETURNED, Status.REPORTED)
    assert (event.from_level, event.to_level) == (Level.VILLAGE, Level.GRID)
    assert event.data["code"] == cw.east
    e_leader = cw.world.people["E leader"].worker
    assert Notification.objects.filter(
        worker=e_leader,
        subject_type="incident",
        subject_id=incident.pk,
        message__msgid=notifications.MSG_CASE_REDISPATCHED,
    ).exists()
    # Grid E's people handle it now; grid W's no longer do.
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    assert err.value.message == msg(
        workflow.MSG_ONLY_HANDLERS[Level.GRID], code=cw.east, action=phrase("acknowledge")
    )
    incident = act(cw, "other_grid_worker", incident, Action.ACKNOWLEDGE, at=at)
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.escalation_count == 0
    assert_history_complete(incident)


def test_the_station_may_redispatch_a_returned_case_too(cw):
    incident = new_case(cw)
    act(cw, "grid_worker", incident, Action.RETURN_CASE, note="not ours")
    incident = act(
        cw, "station_staff", incident, Action.REDISPATCH, data={"level": "village", "code": cw.v1}
    )
    assert (incident.owner_level, incident.owner_code) == (Level.VILLAGE, cw.v1)
    incident = act(cw, "village_staff", incident, Action.ACKNOWLEDGE)
    assert_history_complete(incident)


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"level": "street", "code": "1"}, "level", None),
        ({"level": "town", "code": "T1"}, "level", None),
        ({"level": "grid", "code": "12345"}, "code", None),
        ({"level": "village", "code": "T2+001"}, "code", "outside"),
        ({"level": "village", "code": "T1+999"}, "code", "unknown"),
    ],
)
def test_redispatch_checks_the_place(cw, data, field, expected):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.RETURN_CASE, note="not ours")
    code = data["code"]
    if code.startswith("T1+"):
        code = cw.t1 + code[3:]
    elif code.startswith("T2+"):
        code = cw.world.t2.code + code[3:]
    elif code == "T1":
        code = cw.t1
    with pytest.raises(ValidationError) as err:
        act(cw, "village_secretary", incident, Action.REDISPATCH, data={**data, "code": code})
    assert list(err.value.message_dict) == [field]
    if expected == "outside":
        assert err.value.message_dict[field] == [
            msg(workflow.MSG_CODE_OUTSIDE, code=code, area=f"{gettext('town')} {cw.t1}")
        ]
    if expected == "unknown":
        assert err.value.message_dict[field] == [
            msg(workflow.MSG_UNKNOWN_PLACE, level=gettext("village"), code=code)
        ]
    assert Incident.objects.get(pk=incident.pk).status == Status.RETURNED


# --- extensions -----------------------------------------------------------------------------------
def test_extension_requested_refused_then_requested_and_granted(cw):
    incident = new_case(cw)
    first_due = incident.resolve_due_at
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    incident = act(
        cw, "grid_leader", incident, Action.REQUEST_EXTENSION, data={"working_days": 2}, note="."
    )
    assert incident.extension_pending is True
    expected = deadlines.add_working_time(first_due, 2, "working_days")
    assert history(incident)[-1].data == {"until": expected.isoformat(), "working_days": 2}
    head = cw.world.people["S1 head"].worker
    assert Notification.objects.filter(
        worker=head, message__msgid=notifications.MSG_CASE_EXTENSION_REQUESTED
    ).exists()
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "grid_leader", incident, Action.REQUEST_EXTENSION, data={"working_days": 1})
    assert err.value.message == msg(workflow.MSG_EXTENSION_PENDING)
    assert Action.GRANT_EXTENSION in allowed_actions(
        user=cw.users["station_head"], incident=incident
    )
    incident = act(cw, "station_head", incident, Action.REFUSE_EXTENSION, note="no")
    assert (incident.extension_pending, incident.resolve_due_at) == (False, first_due)
    assert incident.extension_count == 0
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "station_head", incident, Action.GRANT_EXTENSION)
    assert err.value.message == msg(workflow.MSG_NO_EXTENSION_REQUESTED)
    until = first_due + dt.timedelta(days=10)
    act(cw, "grid_worker", incident, Action.REQUEST_EXTENSION, data={"until": until.isoformat()})
    incident = act(cw, "station_staff", incident, Action.GRANT_EXTENSION)
    assert (incident.extension_pending, incident.resolve_due_at) == (False, until)
    assert incident.extension_count == 1
    assert history(incident)[-1].data == {
        "resolve_due_at": until.isoformat(),
        "previous_resolve_due_at": first_due.isoformat(),
    }
    leader = cw.world.people["W leader"].worker
    assert Notification.objects.filter(
        worker=leader, message__msgid=notifications.MSG_CASE_EXTENSION_GRANTED
    ).exists()
    # Resolved between the old and the new deadline: on time.
    act(cw, "grid_leader", incident, Action.RESOLVE, at=first_due + dt.timedelta(days=1))
    act(cw, "station_staff", incident, Action.VERIFY, at=first_due + dt.timedelta(days=1))
    incident = act(
        cw, "station_head", incident, Action.CLOSE_OUT, at=first_due + dt.timedelta(days=2)
    )
    assert incident.closed_on_time is True
    assert_history_complete(incident)


def test_more_time_cannot_be_asked_for_after_the_deadline(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    late = incident.resolve_due_at + dt.timedelta(minutes=1)
    assert Action.REQUEST_EXTENSION in allowed_actions(
        user=cw.users["grid_leader"], incident=incident
    )
    assert Action.REQUEST_EXTENSION not in allowed_actions(
        user=cw.users["grid_leader"], incident=incident, at=late
    )
    with pytest.raises(ValidationError) as err:
        act(
            cw, "grid_leader", incident, Action.REQUEST_EXTENSION, data={"working_days": 1}, at=late
        )
    due = timezone.localtime(incident.resolve_due_at).strftime("%Y-%m-%d %H:%M")
    assert err.value.message_dict == {
        "until": [msg(workflow.MSG_EXTENSION_AFTER_DEADLINE, due=due)]
    }
    assert Incident.objects.get(pk=incident.pk).extension_pending is False


@pytest.mark.parametrize(
    ("data", "field", "msgid"),
    [
        ({}, "until", workflow.MSG_EXTENSION_HOW),
        ({"until": "2099-01-01T00:00:00+08:00", "working_days": 1}, "until", None),
        ({"until": "2052-01-01T00:00:00+08:00"}, "until", None),  # a mistyped year
        ({"until": "next week"}, "until", workflow.MSG_BAD_UNTIL),
        ({"until": "2000-01-01T00:00:00+08:00"}, "until", None),
        ({"working_days": 0}, "working_days", None),
        ({"working_days": "two"}, "working_days", None),
        ({"working_days": True}, "working_days", None),
    ],
)
def test_a_request_for_more_time_needs_a_later_deadline(cw, data, field, msgid):
    incident = new_case(cw)
    with pytest.raises(ValidationError) as err:
        act(cw, "grid_leader", incident, Action.REQUEST_EXTENSION, data=data)
    assert list(err.value.message_dict) == [field]
    if msgid:
        assert err.value.message_dict[field] == [msg(msgid)]


def test_more_time_reaches_as_far_as_the_most_working_days(cw):
    """A new deadline by date may reach as far as MAX_EXTENSION_WORKING_DAYS working days
    after the current one, as one asked for in working days may, and no farther: a mistyped
    year is refused with the latest date it may be."""
    incident = new_case(cw)
    latest = deadlines.add_working_time(
        incident.resolve_due_at, workflow.MAX_EXTENSION_WORKING_DAYS, TimeUnit.WORKING_DAYS
    )
    too_late = latest + dt.timedelta(minutes=1)
    with pytest.raises(ValidationError) as err:
        act(
            cw,
            "grid_leader",
            incident,
            Action.REQUEST_EXTENSION,
            data={"until": too_late.isoformat()},
        )
    local = timezone.localtime(latest).strftime("%Y-%m-%d %H:%M")
    assert err.value.message_dict == {
        "until": [
            msg(workflow.MSG_UNTIL_TOO_LATE, max=workflow.MAX_EXTENSION_WORKING_DAYS, latest=local)
        ]
    }
    incident = act(
        cw, "grid_leader", incident, Action.REQUEST_EXTENSION, data={"until": latest.isoformat()}
    )
    assert incident.extension_pending is True


# --- escalation -----------------------------------------------------------------------------------
def test_escalate_by_hand_up_to_the_city(cw):
    incident = new_case(cw)
    with pytest.raises(ValidationError) as err:
        act(cw, "grid_leader", incident, Action.ESCALATE)
    assert err.value.message_dict == {"note": [msg(workflow.MSG_REASON_REQUIRED)]}
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    climb = [
        ("grid_leader", Level.VILLAGE, cw.v1),
        ("village_secretary", Level.TOWN, cw.t1),
        ("town_dispatcher", Level.COUNTY, cw.county),
        ("district_admin", Level.CITY, cw.city),
    ]
    limit = time_limits.time_limit(cw.dispute.pk, "blue")
    for n, (who, level, code) in enumerate(climb, start=1):
        at = timezone.now() + dt.timedelta(hours=n)
        incident = act(cw, who, incident, Action.ESCALATE, note=f"too big for us ({n})", at=at)
        assert (incident.status, incident.owner_level, incident.owner_code) == (
            Status.REPORTED,
            level,
            code,
        )
        assert incident.escalation_count == n
        assert (incident.acknowledge_due_at, incident.resolve_due_at) == (
            deadlines.deadlines_from(at, limit)
        )
    assert incident.acknowledged_at is not None  # the first acknowledge is kept
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "city_admin", incident, Action.ESCALATE, note="higher")
    assert err.value.message == msg(workflow.MSG_TOP_LEVEL, action=phrase("escalate"))
    assert allowed_actions(user=cw.users["city_admin"], incident=incident) == [
        Action.ACKNOWLEDGE,
        Action.ASSESS,
        Action.REQUEST_EXTENSION,
        Action.CANCEL,
    ]
    # The city handles and supervises itself, and signs off: verification and close-out by
    # two different administrators.
    cw.users["other_city_admin"] = _account("c-admin-2", AccountRole.CITY_ADMIN, cw.city)
    later = timezone.now() + dt.timedelta(days=1)
    for action in (Action.ACKNOWLEDGE, Action.RESOLVE, Action.VERIFY):
        incident = act(cw, "city_admin", incident, action, at=later)
    with pytest.raises(ActionNotAllowed):
        act(cw, "city_admin", incident, Action.CLOSE_OUT, at=later)
    incident = act(cw, "other_city_admin", incident, Action.CLOSE_OUT, at=later)
    assert incident.status == Status.CLOSED
    levels = [(e.from_level, e.to_level) for e in history(incident) if e.action == "escalate"]
    assert levels == [
        (Level.GRID, Level.VILLAGE),
        (Level.VILLAGE, Level.TOWN),
        (Level.TOWN, Level.COUNTY),
        (Level.COUNTY, Level.CITY),
    ]
    assert_history_complete(incident)


def test_escalation_tells_the_new_owners(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ESCALATE, note="needs the village")
    notified = set(
        Notification.objects.filter(
            subject_type="incident",
            subject_id=incident.pk,
            message__msgid=notifications.MSG_CASE_ESCALATED,
        ).values_list("worker__name", flat=True)
    )
    assert notified == {"V1 secretary", "V1 director"}


def test_a_town_case_is_verified_by_the_county_and_closed_out_by_the_town(cw):
    incident = new_case(cw, "red")
    act(cw, "town_dispatcher", incident, Action.ACKNOWLEDGE)
    act(cw, "town_staff", incident, Action.RESOLVE)
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "town_dispatcher", incident, Action.VERIFY)
    assert err.value.message == msg(
        workflow.MSG_ONLY_HANDLERS[Level.COUNTY], code=cw.county, action=phrase("verify")
    )
    act(cw, "district_admin", incident, Action.VERIFY)
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "station_head", incident, Action.CLOSE_OUT)
    assert err.value.message == msg(
        workflow.MSG_ONLY_HANDLERS[Level.TOWN], code=cw.t1, action=phrase("close_out")
    )
    incident = act(cw, "town_dispatcher", incident, Action.CLOSE_OUT)
    assert incident.status == Status.CLOSED
    assert_history_complete(incident)


# --- rework and callback --------------------------------------------------------------------------
def test_failed_verification_reopens_as_rework(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    act(cw, "grid_leader", incident, Action.RESOLVE)
    first_resolved = Incident.objects.get(pk=incident.pk).resolved_at
    incident = act(cw, "station_head", incident, Action.REOPEN, note="the wall still leans")
    assert (incident.status, incident.rework_count) == (Status.IN_PROGRESS, 1)
    assert Notification.objects.filter(
        worker=cw.world.people["W leader"].worker, message__msgid=notifications.MSG_CASE_REOPENED
    ).exists()
    later = timezone.now() + dt.timedelta(hours=2)
    incident = act(cw, "grid_leader", incident, Action.RESOLVE, at=later)
    assert incident.resolved_at == later != first_resolved  # the last resolve
    act(cw, "station_staff", incident, Action.VERIFY, at=later)
    act(cw, "station_head", incident, Action.REOPEN, at=later)
    act(cw, "grid_leader", incident, Action.RESOLVE, at=later)
    act(cw, "station_staff", incident, Action.VERIFY, at=later)
    incident = act(cw, "station_head", incident, Action.CLOSE_OUT, at=later)
    assert (incident.status, incident.rework_count) == (Status.CLOSED, 2)
    assert_history_complete(incident)


def closed_case(cw: CaseWorld) -> Incident:
    incident = new_case(cw)
    for who, action in [
        ("grid_leader", Action.ACKNOWLEDGE),
        ("grid_leader", Action.RESOLVE),
        ("station_staff", Action.VERIFY),
        ("station_head", Action.CLOSE_OUT),
    ]:
        incident = act(cw, who, incident, action)
    return incident


def test_a_satisfied_callback_sets_the_satisfaction(cw):
    incident = closed_case(cw)
    assert allowed_actions(user=cw.users["reporter"], incident=incident) == [Action.CALLBACK]
    incident = act(cw, "reporter", incident, Action.CALLBACK, data={"rating": 4}, note="good")
    assert (incident.status, incident.satisfaction, incident.rework_count) == (
        Status.CLOSED,
        4,
        0,
    )
    event = history(incident)[-1]
    assert (event.action, event.data, event.from_status, event.to_status) == (
        "callback",
        {"rating": 4},
        Status.CLOSED,
        Status.CLOSED,
    )
    assert allowed_actions(user=cw.users["reporter"], incident=incident) == []
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "reporter", incident, Action.CALLBACK, data={"rating": 5})
    assert err.value.message == msg(workflow.MSG_ALREADY_RATED)
    assert_history_complete(incident)


def test_an_unsatisfied_callback_reopens_the_case(cw):
    incident = closed_case(cw)
    version = incident.version
    incident = act(cw, "reporter", incident, Action.CALLBACK, data={"rating": 2})
    assert incident.version == version + 1  # one action
    assert (incident.status, incident.satisfaction, incident.rework_count) == (
        Status.IN_PROGRESS,
        2,
        1,
    )
    assert (incident.closed_at, incident.closed_on_time) == (None, None)
    callback, reopen = history(incident)[-2:]
    assert (callback.action, callback.to_status) == ("callback", Status.CLOSED)
    assert (reopen.action, reopen.seq) == ("reopen", callback.seq + 1)
    assert (reopen.from_status, reopen.to_status) == (Status.CLOSED, Status.IN_PROGRESS)
    assert reopen.actor == cw.users["reporter"]
    assert reopen.data == {"cause": "callback", "rating": 2}
    assert reopen.note == msg(workflow.MSG_REOPENED_BY_CALLBACK, rating=2)
    assert Notification.objects.filter(
        worker=cw.world.people["W leader"].worker, message__msgid=notifications.MSG_CASE_REOPENED
    ).exists()
    # Solved again, rated again.
    act(cw, "grid_leader", incident, Action.RESOLVE)
    incident = act(cw, "reporter", incident, Action.CALLBACK, data={"rating": "5"})
    assert (incident.status, incident.satisfaction) == (Status.RESOLVED, 5)
    act(cw, "station_staff", incident, Action.VERIFY)
    incident = act(cw, "station_head", incident, Action.CLOSE_OUT)
    assert_history_complete(incident)


@pytest.mark.parametrize("rating", [0, 6, "x", None, True, 2.5])
def test_a_rating_is_a_whole_number_from_1_to_5(cw, rating):
    incident = closed_case(cw)
    with pytest.raises(ValidationError) as err:
        act(cw, "reporter", incident, Action.CALLBACK, data={"rating": rating})
    assert err.value.message_dict == {"rating": [msg(workflow.MSG_BAD_RATING)]}


# --- cancel ---------------------------------------------------------------------------------------
def test_cancel_needs_a_reason(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.REQUEST_EXTENSION, data={"working_days": 1})
    with pytest.raises(ValidationError) as err:
        act(cw, "station_staff", incident, Action.CANCEL, note="   ")
    assert err.value.message_dict == {"note": [msg(workflow.MSG_REASON_REQUIRED)]}
    assert Incident.objects.get(pk=incident.pk).status == Status.REPORTED
    incident = act(cw, "station_staff", incident, Action.CANCEL, note="duplicate of #1")
    assert (incident.status, incident.extension_pending) == (Status.CANCELLED, False)
    assert history(incident)[-1].note == "duplicate of #1"
    for who in cw.users:
        assert allowed_actions(user=cw.users[who], incident=incident) == [], who
    assert_history_complete(incident)


# --- who may do what: each forbidden action refused with its message ------------------------------
def _to(*steps: tuple[str, str, dict[str, Any]]) -> Callable[[CaseWorld, Incident], None]:
    def setup(cw: CaseWorld, incident: Incident) -> None:
        for who, action, kwargs in steps:
            act(cw, who, incident, action, **kwargs)

    return setup


ACK = ("grid_leader", Action.ACKNOWLEDGE, {})
START = ("grid_leader", Action.START, {})
RESOLVE = ("grid_leader", Action.RESOLVE, {"note": "settled"})
VERIFY = ("station_staff", Action.VERIFY, {})
CLOSE = ("station_head", Action.CLOSE_OUT, {})
ASK = ("grid_leader", Action.REQUEST_EXTENSION, {"data": {"working_days": 1}})
RETURN = ("grid_leader", Action.RETURN_CASE, {"note": "not ours"})


def _handlers(cw: CaseWorld) -> dict[str, Any]:
    return {"msgid": workflow.MSG_ONLY_HANDLERS[Level.GRID], "code": cw.west}


def _station(cw: CaseWorld) -> dict[str, Any]:
    return {"msgid": workflow.MSG_ONLY_STATION, "code": cw.station}


def _station_head(cw: CaseWorld) -> dict[str, Any]:
    return {"msgid": workflow.MSG_ONLY_STATION_HEAD, "code": cw.station}


def _redispatchers(cw: CaseWorld) -> dict[str, Any]:
    return {"msgid": workflow.MSG_ONLY_REDISPATCHERS, "code": cw.v1, "level": gettext("village")}


def _reporter(cw: CaseWorld) -> dict[str, Any]:
    return {"msgid": workflow.MSG_ONLY_REPORTER}


FORBIDDEN = [
    # action, how the case gets to a state where the action is possible, who tries, message
    (Action.ASSESS, _to(), "village_secretary", _handlers),
    (Action.ACKNOWLEDGE, _to(), "other_grid_leader", _handlers),
    (Action.ACKNOWLEDGE, _to(), "village_secretary", _handlers),
    (Action.START, _to(ACK), "station_head", _handlers),
    (Action.RESOLVE, _to(ACK, START), "village_staff", _handlers),
    (Action.RETURN_CASE, _to(), "reporter", _handlers),
    (Action.REQUEST_EXTENSION, _to(ACK), "station_staff", _handlers),
    (Action.ESCALATE, _to(), "other_grid_worker", _handlers),
    (Action.VERIFY, _to(ACK, RESOLVE), "grid_leader", _station),
    (Action.CLOSE_OUT, _to(ACK, RESOLVE, VERIFY), "grid_worker", _station_head),
    (Action.CLOSE_OUT, _to(ACK, RESOLVE, VERIFY), "town_staff", _station_head),
    # A station account that is not the head's (issue 12, acceptance 4).
    (Action.CLOSE_OUT, _to(ACK, RESOLVE, VERIFY), "station_staff", _station_head),
    (Action.GRANT_EXTENSION, _to(ASK), "grid_leader", _station),
    (Action.REFUSE_EXTENSION, _to(ASK), "town_dispatcher", _station),
    (Action.REDISPATCH, _to(RETURN), "other_grid_leader", _redispatchers),
    (Action.REOPEN, _to(ACK, RESOLVE), "grid_worker", _station),
    (Action.CANCEL, _to(), "grid_leader", _station),
    (Action.CALLBACK, _to(ACK, RESOLVE, VERIFY, CLOSE), "station_head", _reporter),
]


@pytest.mark.parametrize(
    ("action", "setup", "who", "message"),
    FORBIDDEN,
    ids=[f"{a.value}-by-{w}" for a, _, w, _ in FORBIDDEN],
)
def test_a_forbidden_action_is_refused_with_a_clear_message(cw, action, setup, who, message):
    incident = new_case(cw)
    setup(cw, incident)
    before = Incident.objects.get(pk=incident.pk)
    expected = message(cw)
    msgid = expected.pop("msgid")
    data = {
        Action.CALLBACK: {"data": {"rating": 5}},
        Action.REDISPATCH: {"data": {"level": "grid", "code": cw.west}},
        Action.REQUEST_EXTENSION: {"data": {"working_days": 1}},
        Action.ASSESS: {"data": {"severity": "yellow"}},
    }.get(action, {})
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, who, incident, action, note="trying", **data)
    assert err.value.message == msg(msgid, action=phrase(action), **expected)
    assert action not in allowed_actions(user=cw.users[who], incident=before)
    after = Incident.objects.get(pk=incident.pk)
    assert (after.version, after.status) == (before.version, before.status)
    assert len(history(after)) == len(history(before))
    # ... and someone allowed may (the superuser, at least).
    act(cw, "superuser", incident, action, note="allowed", **data)


def test_every_action_has_a_refusal_in_the_table():
    # Incidents take the engine's table; hand-off, step back and decline are other kinds'.
    others = {Action.HAND_OFF, Action.STEP_BACK, Action.DECLINE}
    assert {a for a, *_ in FORBIDDEN} == set(Action) - {
        Action.REPORT,
        Action.REASSIGN_STATION,
        *others,
    }
    assert set(engine.TRANSITIONS).isdisjoint(others)


@pytest.mark.parametrize("action", ["hand_off", "step_back", "decline"])
def test_an_action_of_another_kind_is_refused(cw, action):
    incident = act(cw, "grid_leader", new_case(cw), Action.ACKNOWLEDGE)
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "superuser", incident, action, note="x")
    assert err.value.message == msg(engine.MSG_NOT_OFFERED, action=phrase(action))


def test_an_action_in_the_wrong_state_is_refused(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    assert err.value.message == msg(
        workflow.MSG_WRONG_STATE, action=phrase("acknowledge"), status=gettext("acknowledged")
    )
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "station_head", incident, Action.CLOSE_OUT)
    assert err.value.message == msg(
        workflow.MSG_WRONG_STATE, action=phrase("close_out"), status=gettext("acknowledged")
    )
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "superuser", incident, Action.REPORT)
    assert err.value.message == msg(workflow.MSG_REPORT_IS_NOT_AN_ACTION)
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "superuser", incident, Action.REASSIGN_STATION)
    assert err.value.message == msg(workflow.MSG_STATION_CHANGE_IS_NOT_AN_ACTION)
    with pytest.raises(ValidationError) as verr:
        act(cw, "superuser", incident, "fly")
    assert verr.value.message_dict == {"action": [msg(workflow.MSG_UNKNOWN_ACTION, action="fly")]}


def test_a_case_in_a_village_without_a_station_says_so(cw):
    from grids.models import CatchmentAssignment

    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    act(cw, "grid_leader", incident, Action.RESOLVE)
    CatchmentAssignment.objects.filter(village__code=cw.v1).delete()
    with pytest.raises(ActionNotAllowed) as err:
        act(cw, "station_staff", incident, Action.VERIFY)
    assert err.value.message == msg(workflow.MSG_NO_STATION, code=cw.v1, action=phrase("verify"))


def test_a_role_that_has_ended_no_longer_counts(cw):
    incident = new_case(cw)
    assignment = cw.world.people["W leader"]
    from tests.incidents.test_routing import end

    end(assignment, days_ago=1)
    with pytest.raises(ActionNotAllowed):
        act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("grid_leader", ["acknowledge", "assess", "request_extension", "return_case", "escalate"]),
        ("grid_worker", ["acknowledge", "assess", "request_extension", "return_case", "escalate"]),
        ("station_head", ["cancel"]),
        ("station_staff", ["cancel"]),
        ("reporter", []),
        ("other_grid_leader", []),
        ("village_secretary", []),
        ("town_staff", []),
        ("city_admin", []),
        (
            "superuser",
            ["acknowledge", "assess", "request_extension", "return_case", "escalate", "cancel"],
        ),
    ],
)
def test_allowed_actions_of_a_new_grid_case(cw, who, expected):
    incident = new_case(cw)
    assert allowed_actions(user=cw.users[who], incident=incident) == expected


def test_the_superuser_acts_in_their_own_name(cw):
    incident = new_case(cw)
    act(cw, "superuser", incident, Action.ACKNOWLEDGE)
    event = history(incident)[-1]
    assert (event.actor, event.actor_name) == (cw.users["superuser"], "root")


def test_the_system_acts_as_the_system(cw):
    incident = new_case(cw)
    act(cw, None, incident, Action.ESCALATE, note="overdue")
    event = history(incident)[-1]
    assert (event.actor, event.actor_name) == (None, gettext(workflow.MSG_SYSTEM))


# --- two people at once ---------------------------------------------------------------------------
def test_a_stale_version_is_a_conflict_and_nothing_is_lost(cw):
    incident = new_case(cw)
    seen = incident.version
    case_act(
        actor=cw.users["grid_leader"], incident_id=incident.pk, action="acknowledge", version=seen
    )
    with pytest.raises(CaseConflict) as err:
        case_act(
            actor=cw.users["grid_worker"],
            incident_id=incident.pk,
            action="acknowledge",
            version=seen,
            note="me too",
        )
    assert err.value.message == msg(workflow.MSG_CONFLICT, status=gettext("acknowledged"))
    assert err.value.incident.version == seen + 1
    assert actions_of(incident) == ["report", "acknowledge"]
    assert history(incident)[-1].actor == cw.users["grid_leader"]
    # A conflict even for an action that would have been allowed: the actor must look first.
    with pytest.raises(CaseConflict):
        case_act(
            actor=cw.users["station_head"], incident_id=incident.pk, action="cancel", version=seen
        )


# Committed data for tests where another connection must see it (threads, the worker).
COMMITTED_CODE = "990299001001001"


def commit_case(*, usernames: list[str], **fields: Any) -> Incident:
    """A committed blue dispute owned by grid 990299001001001 (no boundaries: the
    workflow needs none) and a committed grid-worker login per username (``committed-*``).
    ``remove_committed`` removes them (and the leftovers of an interrupted run)."""
    if not Generation.objects.exists():
        GenerationFactory(description=COMMITTED_GENERATION)
    for name in usernames:
        AccountFactory(
            user=UserFactory(username=f"committed-{name}"),
            role=AccountRole.GRID_WORKER,
            codes=[COMMITTED_CODE],
        )
    reporter = UserFactory(username="committed-reporter")
    now = timezone.now()
    values = {
        "location": Point(100.01, 0.02, srid=4326),
        "category": Category.objects.get(code="dispute"),
        "severity": "blue",
        "description": "committed case",
        "reporter": reporter,
        "reported_at": now,
        "generation": Generation.objects.order_by("id").first(),
        "place_code": COMMITTED_CODE,
        "responsible_level": Level.GRID,
        "owner_level": Level.GRID,
        "owner_code": COMMITTED_CODE,
        "acknowledge_due_at": now + dt.timedelta(days=1),
        "resolve_due_at": now + dt.timedelta(days=7),
        **fields,
    }
    incident = Incident.objects.create(**values)
    workflow.record_report(incident, actor=reporter)
    return incident


def committed_user(name: str) -> Any:
    return UserFactory._meta.model.objects.get(username=f"committed-{name}")


def remove_committed() -> None:
    """Remove what a committed test made: the cases of grid 990299001001001 with their
    history (``purge_incidents``), the ``committed-*`` logins."""
    purge_incidents(Incident.objects.filter(place_code=COMMITTED_CODE).values_list("pk", flat=True))
    users = UserFactory._meta.model.objects.filter(username__startswith="committed-")
    Worker.objects.filter(user__in=users).delete()
    Account.objects.filter(user__in=users).delete()
    users.delete()
    Generation.objects.filter(description=COMMITTED_GENERATION).delete()


COMMITTED_GENERATION = "committed test generation"


def in_own_connection(test: Callable[..., None]) -> Callable[..., None]:
    """Run the test body in a thread of its own, so on a database connection of its own in
    autocommit: what it writes is committed and seen by other connections (threads, a
    worker process). The test's own transaction (``django_db``: it sets the test database
    up) stays empty. The body removes what it commits (``remove_committed``)."""

    @functools.wraps(test)
    def run_in_thread(*args: Any, **kwargs: Any) -> None:
        outcome: dict[str, BaseException] = {}

        def body() -> None:
            try:
                test(*args, **kwargs)
            except BaseException as exc:  # re-raised in the test's thread
                outcome["error"] = exc
            finally:
                connections.close_all()

        thread = threading.Thread(target=body)
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]

    return run_in_thread


@pytest.mark.django_db
@in_own_connection
def test_two_people_acting_at_once_one_wins_the_other_is_told(monkeypatch):
    remove_committed()
    incident = commit_case(usernames=["a", "b"])
    try:
        real_apply = engine.last_event

        def slow_apply(*args: Any, **kwargs: Any) -> Any:
            # Whoever holds the row lock first holds it a while: the other one waits on it.
            time.sleep(0.5)
            return real_apply(*args, **kwargs)

        monkeypatch.setattr(engine, "last_event", slow_apply)
        barrier = threading.Barrier(2)
        results: dict[str, tuple[str, float]] = {}

        def attempt(user: Any, note: str) -> None:
            try:
                barrier.wait(timeout=10)
                started = time.monotonic()
                try:
                    case_act(
                        actor=user,
                        incident_id=incident.pk,
                        action=Action.ACKNOWLEDGE,
                        version=1,
                        note=note,
                    )
                    results[note] = ("won", time.monotonic() - started)
                except CaseConflict as exc:
                    results[note] = (exc.message, time.monotonic() - started)
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=attempt, args=(committed_user(name), name))
            for name in ("a", "b")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        outcomes = sorted(results.values(), key=lambda r: r[0] != "won")
        assert [o[0] for o in outcomes] == [
            "won",
            msg(workflow.MSG_CONFLICT, status=gettext("acknowledged")),
        ]
        # The loser really waited for the winner's lock (not a sequential run).
        assert outcomes[1][1] >= 0.4
        events = history(incident)
        assert [e.action for e in events] == ["report", "acknowledge"]
        winner = next(note for note, r in results.items() if r[0] == "won")
        assert events[1].note == winner
        refreshed = Incident.objects.get(pk=incident.pk)
        assert (refreshed.version, refreshed.status) == (2, Status.ACKNOWLEDGED)
    finally:
        remove_committed()


# --- the API --------------------------------------------------------------------------------------
def case_url(incident: Incident) -> str:
    return reverse("incident-case", args=[incident.pk])


def actions_url(incident: Incident) -> str:
    return reverse("incident-actions", args=[incident.pk])


def as_user(api_client: Any, cw: CaseWorld, who: str) -> Any:
    api_client.force_authenticate(cw.users[who])
    return api_client


def test_get_the_case(api_client, cw):
    incident = new_case(cw)
    body = as_user(api_client, cw, "grid_leader").get(case_url(incident)).json()
    assert set(body) == {
        "id",
        "status",
        "owner_level",
        "owner_code",
        "version",
        "acknowledge_due_at",
        "resolve_due_at",
        "onsite_due_at",
        "traffic_light",
        "allowed_actions",
        "history",
        "deliveries",
    }
    # One message per person told, each with its channels' delivery states.
    assert body["deliveries"] and all(g["deliveries"] for g in body["deliveries"])
    assert (body["status"], body["owner_level"], body["owner_code"]) == (
        "reported",
        "grid",
        cw.west,
    )
    assert body["onsite_due_at"] is None  # blue: no on-site deadline
    assert (body["version"], body["traffic_light"]) == (1, "green")
    assert body["allowed_actions"] == [
        "acknowledge",
        "assess",
        "request_extension",
        "return_case",
        "escalate",
    ]
    [report] = body["history"]
    assert set(report) == {
        "seq",
        "action",
        "actor_name",
        "at",
        "from_status",
        "to_status",
        "from_level",
        "to_level",
        "note",
        "data",
        "attachments",
    }
    assert (report["seq"], report["action"], report["actor_name"]) == (1, "report", "Li")


def test_get_the_case_in_a_few_queries(api_client, cw, django_assert_max_num_queries):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    client = as_user(api_client, cw, "station_head")
    # session user, account, case, roles, station, history, attachments; the deliveries
    # and the people told
    with django_assert_max_num_queries(10):
        assert client.get(case_url(incident)).status_code == 200


def test_post_actions_json(api_client, cw):
    incident = new_case(cw)
    client = as_user(api_client, cw, "grid_leader")
    res = client.post(
        actions_url(incident), {"action": "acknowledge", "version": 1, "note": "on it"}, "json"
    )
    assert res.status_code == 200, res.json()
    body = res.json()
    assert (body["status"], body["version"]) == ("acknowledged", 2)
    assert body["history"][-1]["note"] == "on it"
    assert body["allowed_actions"] == ["start", "resolve", "request_extension", "return_case"] + [
        "escalate"
    ]
    # Stale: 409 with the case as it is.
    res = as_user(api_client, cw, "grid_worker").post(
        actions_url(incident), {"action": "acknowledge", "version": 1}, "json"
    )
    assert res.status_code == 409
    assert res.json()["detail"] == msg(workflow.MSG_CONFLICT, status=gettext("acknowledged"))
    assert res.json()["case"]["version"] == 2
    # Not allowed: 403 with the reason.
    res = as_user(api_client, cw, "station_head").post(
        actions_url(incident), {"action": "start", "version": 2}, "json"
    )
    assert res.status_code == 403
    assert res.json()["detail"] == msg(
        workflow.MSG_ONLY_HANDLERS[Level.GRID], code=cw.west, action=phrase("start")
    )
    # Bad input: 400 with field errors.
    res = as_user(api_client, cw, "grid_leader").post(
        actions_url(incident), {"action": "escalate", "version": 2}, "json"
    )
    assert res.status_code == 400
    assert res.json()["errors"] == {"note": [msg(workflow.MSG_REASON_REQUIRED)]}
    assert res.json()["detail"] == msg(workflow.MSG_REASON_REQUIRED)
    res = client.post(actions_url(incident), {"action": "fly", "version": 2}, "json")
    assert res.status_code == 400
    assert list(res.json()["errors"]) == ["action"]
    res = client.post(actions_url(incident), {"action": "start"}, "json")
    assert res.status_code == 400
    assert list(res.json()["errors"]) == ["version"]
    res = client.post(actions_url(incident), {"action": "start", "version": 2, "data": [1]}, "json")
    assert res.status_code == 400
    assert list(res.json()["errors"]) == ["data"]
    assert actions_of(incident) == ["report", "acknowledge"]


def test_post_actions_multipart_with_attachments(api_client, cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    client = as_user(api_client, cw, "grid_leader")
    res = client.post(
        actions_url(incident),
        {
            "action": "request_extension",
            "version": "2",
            "note": "waiting for the owner",
            "data": '{"working_days": 3}',
            "attachments": [SimpleUploadedFile("letter.pdf", b"%PDF-1.4", "application/pdf")],
        },
        format="multipart",
    )
    assert res.status_code == 200, res.json()
    event = res.json()["history"][-1]
    assert event["action"] == "request_extension"
    assert event["data"]["working_days"] == 3
    [url] = event["attachments"]
    attachment = CaseAttachment.objects.get(event__incident=incident)
    assert url.endswith(f"{attachment.pk}/") or url.endswith(attachment.file.name)


def test_the_api_answers_404_outside_the_jurisdiction_and_lets_the_reporter_rate(api_client, cw):
    incident = closed_case(cw)
    res = as_user(api_client, cw, "other_grid_worker").get(case_url(incident))
    assert res.status_code == 404
    res = as_user(api_client, cw, "reporter").get(case_url(incident))
    assert res.status_code == 200
    assert res.json()["allowed_actions"] == ["callback"]
    res = api_client.post(
        actions_url(incident),
        {"action": "callback", "version": incident.version, "data": {"rating": 5}},
        "json",
    )
    assert res.status_code == 200
    assert Incident.objects.get(pk=incident.pk).satisfaction == 5


def test_a_redispatched_case_is_visible_to_its_new_owners(api_client, cw):
    # Routed to grid W (place_code W); sent to grid E: E's grid worker sees it through its
    # owner (owner_code E), though it was never routed there.
    incident = new_case(cw)
    client = as_user(api_client, cw, "other_grid_worker")
    assert client.get(case_url(incident)).status_code == 404
    act(cw, "grid_leader", incident, Action.RETURN_CASE, note="E's wall")
    act(
        cw,
        "village_secretary",
        incident,
        Action.REDISPATCH,
        data={"level": "grid", "code": cw.east},
    )
    body = client.get(case_url(incident)).json()
    assert body["allowed_actions"] == [
        "acknowledge",
        "assess",
        "request_extension",
        "return_case",
        "escalate",
    ]


def test_anonymous_cannot_read_or_act(api_client, cw):
    incident = new_case(cw)
    assert api_client.get(case_url(incident)).status_code in (401, 403)
    res = api_client.post(actions_url(incident), {"action": "cancel", "version": 1}, "json")
    assert res.status_code in (401, 403)


def test_incident_list_and_detail_show_the_case_state(api_client, cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ESCALATE, note="up")
    client = as_user(api_client, cw, "superuser")
    detail = client.get(reverse("incident-detail", args=[incident.pk])).json()["properties"]
    assert (detail["status"], detail["owner_level"], detail["owner_code"]) == (
        "reported",
        "village",
        cw.v1,
    )
    assert detail["traffic_light"] == "green"
    features = client.get(reverse("incident-list"), {"grid": cw.west}).json()["features"]
    [row] = [f["properties"] for f in features if f["id"] == incident.pk]
    assert (row["status"], row["owner_level"], row["traffic_light"]) == (
        "reported",
        "village",
        "green",
    )


# --- the admin ------------------------------------------------------------------------------------
def test_admin_actions_go_through_the_workflow(client, cw):
    incident = new_case(cw)
    other = new_case(cw)
    act(cw, "grid_leader", other, Action.ACKNOWLEDGE)
    client.force_login(cw.users["superuser"])
    url = reverse("admin:incidents_incident_changelist")
    res = client.post(
        url,
        {"action": "case_acknowledge", "_selected_action": [incident.pk, other.pk]},
        follow=True,
    )
    assert res.status_code == 200
    assert Incident.objects.get(pk=incident.pk).status == Status.ACKNOWLEDGED
    assert history(incident)[-1].actor == cw.users["superuser"]
    text = res.content.decode()
    wrong = msg(
        workflow.MSG_WRONG_STATE, action=phrase("acknowledge"), status=gettext("acknowledged")
    )
    assert f"#{other.pk}" in text and wrong.split(":")[0] in text
    assert actions_of(other) == ["report", "acknowledge"]


def test_admin_cannot_edit_the_state_or_the_history(client, cw):
    incident = new_case(cw)
    client.force_login(cw.users["superuser"])
    change = reverse("admin:incidents_incident_change", args=[incident.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    client.post(change, {"description": "edited", "status": "closed"})
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED
    event = history(incident)[0]
    assert client.get(reverse("admin:incidents_caseevent_changelist")).status_code == 200
    view = client.get(reverse("admin:incidents_caseevent_change", args=[event.pk]))
    assert view.status_code == 200
    assert 'name="note"' not in view.content.decode()
    assert client.get(reverse("admin:incidents_caseevent_add")).status_code == 403
    assert client.get(reverse("admin:incidents_caseevent_delete", args=[event.pk])).status_code in (
        403,
        302,
    )
    assert CaseEvent.objects.filter(pk=event.pk).exists()
