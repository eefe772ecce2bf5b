"""Emergencies round the clock and assessment (issue 12, items 4 and 5; acceptance 2, its
second half).

- A red incident reported on a Sunday is due for acknowledgement within its calendar
  minutes (data: ``CategoryTimeLimit``), not on Monday morning; it reaches the grid leader
  and the town's officer on duty that day (inbox entries) as well as the dispatcher; left
  unacknowledged it escalates on the next clock tick after the limit, and again every
  ``escalate_every_minutes`` after that.
- On site (到场) within 2 hours (data: ``CategoryTimeLimit.onsite_amount``): a red case
  has ``onsite_due_at``; acknowledged but not started, the clock escalates it once on the
  first tick after that deadline (not at it); started in time, nothing happens; blue and
  yellow have no on-site deadline. Before issue 12's on-site deadline, "start" had no time
  limit at all: a handler could acknowledge a gas leak and never go there.
- Assess (研判): the level that received a case re-grades it with a written reason before
  acknowledging it; it is routed again with new deadlines and the history says why.

The world and its logins are those of ``test_workflow`` (a dispute at W_POINT lies in grid W
of village V1, town T1).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone, translation
from django.utils.translation import gettext
from psycopg.types.range import Range

from cases import clock, deadlines
from cases import workflow as engine
from gridmap.messages import render_message
from grids.models import Role
from inbox.models import Notification
from incidents import notifications, services, time_limits, todo
from incidents.models import (
    CaseEvent,
    CategoryTimeLimit,
    DueEvent,
    Incident,
    IncidentRecipient,
    Level,
    Responder,
    Status,
)
from incidents.workflow import Action
from tests.factories import RoleAssignmentFactory, UserFactory, WorkerFactory
from tests.incidents.test_routing import build_world, world_generation
from tests.incidents.test_workflow import (
    W_POINT,
    CaseWorld,
    actions_url,
    build_case_world,
    new_case,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def cw(db) -> CaseWorld:
    return build_case_world(build_world(world_generation()))


def last_sunday_morning() -> dt.datetime:
    """The latest Sunday 08:19 (Shanghai) before now: issue 12's red gas leak."""
    now = timezone.now().astimezone(SHANGHAI)
    day = now.date() - dt.timedelta(days=(now.weekday() + 1) % 7)
    at = dt.datetime.combine(day, dt.time(8, 19), tzinfo=SHANGHAI)
    return at if at <= now else at - dt.timedelta(days=7)


def on_duty(cw: CaseWorld, day: dt.date, name: str = "T1 on duty") -> Any:
    """A worker on duty at town T1 for one day, with a login."""
    worker = WorkerFactory(name=name, user=UserFactory(username=f"duty-{day.isoformat()}"))
    RoleAssignmentFactory(
        role=Role.TOWN_DUTY_OFFICER,
        worker=worker,
        town=cw.world.t1,
        period=Range(day, day + dt.timedelta(days=1), "[)"),
    )
    return worker


def told(incident: Incident, msgid: str | None = None) -> set[str]:
    entries = Notification.objects.filter(subject_type="incident", subject_id=incident.pk)
    if msgid is not None:
        entries = entries.filter(message__msgid=msgid)
    return set(entries.values_list("worker__name", flat=True))


def events(incident: Incident) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(incident=incident).order_by("seq"))


def auto_note() -> str:
    with translation.override("zh-hans"):
        return gettext(engine.MSG_AUTO_ESCALATED)


# --- acceptance 2 (second half) -------------------------------------------------------------
def test_a_red_incident_on_sunday_is_due_in_minutes_reaches_leader_and_duty_and_escalates(
    api_client, cw
):
    sunday = last_sunday_morning()
    assert sunday.weekday() == 6
    officer = on_duty(cw, sunday.date())
    # Data per category and severity: escalate again every 10 minutes for this category.
    CategoryTimeLimit.objects.filter(category=cw.dispute, severity="red").update(
        escalate_every_minutes=10
    )

    api_client.force_authenticate(cw.users["reporter"])
    response = api_client.post(
        "/api/incidents/",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(W_POINT)},
            "properties": {
                "category": "dispute",
                "severity": "red",
                "description": "Gas smell in the stairwell of building 3",
                "reported_at": sunday.isoformat(),
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()["id"])

    # Due within the configured 30 calendar minutes, not on Monday at 09:30.
    limit = dt.timedelta(minutes=30)
    assert incident.reported_at == sunday
    assert incident.acknowledge_due_at == sunday + limit
    assert incident.resolve_due_at == sunday + dt.timedelta(hours=24)
    assert incident.calendar_clock is True
    assert (incident.owner_level, incident.owner_code) == (Level.TOWN, cw.t1)

    # It reaches the grid leader and the officer on duty that Sunday, and the dispatcher.
    routed = set(
        IncidentRecipient.objects.filter(incident=incident).values_list("responder", "name")
    )
    assert {
        (Responder.GRID_LEADER, "W leader"),
        (Responder.TOWN_DUTY_OFFICER, officer.name),
        (Responder.TOWN_DISPATCHER, "T1 dispatcher"),
    } <= routed
    assert {"W leader", officer.name, "T1 dispatcher"} <= told(
        incident, notifications.MSG_NEW_INCIDENT
    )
    # The officer on duty handles town cases that day: they may acknowledge it.
    assert Action.ACKNOWLEDGE in engine.allowed_actions(
        user=officer.user, case=incident, at=sunday + MINUTE
    )

    # Unacknowledged: nothing at the deadline, an escalation on the next tick after it.
    due = incident.acknowledge_due_at
    assert [a for a in clock.escalate_overdue(due) if a[0] == incident.pk] == []
    first = due + MINUTE
    assert (incident.pk, "acknowledge") in clock.escalate_overdue(first)
    incident.refresh_from_db()
    assert (incident.status, incident.owner_level) == (Status.REPORTED, Level.COUNTY)
    assert incident.escalation_count == 1
    # ... and again every 10 minutes (the category's data) while nobody acknowledges it.
    assert incident.acknowledge_due_at == first + dt.timedelta(minutes=10)
    escalation = events(incident)[-1]
    assert (escalation.action, escalation.actor, escalation.note) == (
        "escalate",
        None,
        auto_note(),
    )
    assert (escalation.from_level, escalation.to_level) == (Level.TOWN, Level.COUNTY)
    assert escalation.data["repeat_minutes"] == 10

    assert [
        a for a in clock.escalate_overdue(first + dt.timedelta(minutes=10)) if a[0] == incident.pk
    ] == []
    second = first + dt.timedelta(minutes=10) + MINUTE
    assert (incident.pk, "acknowledge") in clock.escalate_overdue(second)
    incident.refresh_from_db()
    assert (incident.owner_level, incident.escalation_count) == (Level.CITY, 2)
    assert [e.action for e in events(incident)] == ["report", "escalate", "escalate"]
    assert [(e.at, e.to_level) for e in events(incident)[1:]] == [
        (first, Level.COUNTY),
        (second, Level.CITY),
    ]


def test_with_nobody_on_duty_the_dispatcher_is_told_and_the_history_says_so(client, cw):
    incident = new_case(cw, "red")  # nobody is on duty at T1 today
    stand_in = IncidentRecipient.objects.get(
        incident=incident, responder=Responder.TOWN_DUTY_OFFICER
    )
    assert (stand_in.name, stand_in.role) == ("T1 dispatcher", Role.TOWN_DISPATCHER)
    report = events(incident)[0]
    assert report.data["on_duty_taken_by"] == Role.TOWN_DISPATCHER
    client.force_login(cw.users["town_dispatcher"])
    with translation.override("zh-hans"):
        page = client.get(f"/cases/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "无人值班，改为通知" in page.content.decode()


def test_an_acknowledged_emergency_does_not_escalate_again(cw):
    incident = new_case(cw, "red")
    assert incident.calendar_clock is True
    first = incident.acknowledge_due_at + MINUTE
    assert (incident.pk, "acknowledge") in clock.escalate_overdue(first)
    incident.refresh_from_db()
    engine.case_act(
        actor=cw.users["district_admin"],
        model=Incident,
        case_id=incident.pk,
        action=Action.ACKNOWLEDGE,
        version=incident.version,
        at=first + MINUTE,
    )
    later = first + dt.timedelta(hours=2)
    assert [a for a in clock.escalate_overdue(later) if a[0] == incident.pk] == []
    incident.refresh_from_db()
    assert (incident.status, incident.escalation_count) == (Status.ACKNOWLEDGED, 1)


def test_a_blue_case_keeps_the_working_calendar(cw):
    incident = new_case(cw, "blue")
    assert incident.calendar_clock is False
    first = incident.acknowledge_due_at + MINUTE
    clock.escalate_overdue(first)
    incident.refresh_from_db()
    # Escalated once; the new owner gets the full working-time limits, no repeat.
    limit = time_limits.time_limit(cw.dispute.pk, "blue")
    assert (limit.calendar, limit.repeat_minutes) == (False, None)
    assert incident.acknowledge_due_at == deadlines.deadlines_from(first, limit)[0]
    assert "repeat_minutes" not in events(incident)[-1].data


# --- assess (研判) --------------------------------------------------------------------------
def assess(api_client: Any, cw: CaseWorld, who: str, incident: Incident, **body: Any) -> Any:
    api_client.force_authenticate(cw.users[who])
    version = Incident.objects.values_list("version", flat=True).get(pk=incident.pk)
    return api_client.post(
        actions_url(incident), {"action": "assess", "version": version, **body}, format="json"
    )


def test_the_grid_leader_regrades_blue_to_red_and_it_goes_to_the_leader_and_on_duty(api_client, cw):
    officer = on_duty(cw, timezone.localdate())
    incident = new_case(cw, "blue")
    seen = incident.version
    before = timezone.now()
    response = assess(
        api_client,
        cw,
        "grid_leader",
        incident,
        note="It is a gas leak, not a quarrel",
        data={"severity": "red", "category": "hazard"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["owner_level"], body["owner_code"]) == ("reported", "town", cw.t1)

    incident.refresh_from_db()
    assert (incident.severity, incident.category.code) == ("red", "hazard")
    assert incident.responsible_level == Level.TOWN
    assert incident.version == seen + 1
    # New deadlines from the new grading: calendar minutes from the assessment.
    assert incident.calendar_clock is True
    assert before + dt.timedelta(minutes=30) <= incident.acknowledge_due_at
    assert incident.acknowledge_due_at <= timezone.now() + dt.timedelta(minutes=30)
    # Re-routed: the leader, the officer on duty today and the dispatcher are told.
    recipients = set(
        IncidentRecipient.objects.filter(incident=incident).values_list("responder", "name")
    )
    assert (Responder.TOWN_DUTY_OFFICER, officer.name) in recipients
    assert (Responder.TOWN_DISPATCHER, "T1 dispatcher") in recipients
    assert {"W leader", officer.name, "T1 dispatcher"} <= told(
        incident, notifications.MSG_CASE_ASSESSED
    )
    # The history says who, why, and what changed.
    event = events(incident)[-1]
    assert (event.action, event.actor, event.note) == (
        "assess",
        cw.users["grid_leader"],
        "It is a gas leak, not a quarrel",
    )
    assert (event.from_level, event.to_level) == (Level.GRID, Level.TOWN)
    assert (event.from_status, event.to_status) == (Status.REPORTED, Status.REPORTED)
    assert event.data["severity"] == ["blue", "red"]
    assert event.data["category"] == ["dispute", "hazard"]
    assert event.data["previous_explanation"]
    assert (
        dt.datetime.fromisoformat(event.data["acknowledge_due_at"]) == incident.acknowledge_due_at
    )


def test_assessment_needs_a_written_reason_and_writes_nothing_without_one(api_client, cw):
    incident = new_case(cw, "blue")
    before = Incident.objects.get(pk=incident.pk)
    response = assess(api_client, cw, "grid_leader", incident, data={"severity": "red"})
    assert response.status_code == 400
    with translation.override("zh-hans"):
        expected = gettext(engine.MSG_ASSESS_REASON_REQUIRED)
    assert response.json()["detail"] == expected
    after = Incident.objects.get(pk=incident.pk)
    assert (after.version, after.severity, after.owner_level, after.acknowledge_due_at) == (
        before.version,
        before.severity,
        before.owner_level,
        before.acknowledge_due_at,
    )
    assert [e.action for e in events(incident)] == ["report"]
    assert not told(incident, notifications.MSG_CASE_ASSESSED)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"severity": "blue"}, "severity"),  # nothing changes
        ({"severity": "purple"}, "severity"),
        ({"category": "no-such-thing"}, "category"),
    ],
)
def test_assessment_checks_the_new_grading(api_client, cw, data, field):
    incident = new_case(cw, "blue")
    response = assess(api_client, cw, "grid_leader", incident, note="because", data=data)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert [e.action for e in events(incident)] == ["report"]


def test_only_the_receiving_level_assesses_before_acknowledging(api_client, cw):
    incident = new_case(cw, "blue")
    # Outside: cannot even see it.
    response = assess(
        api_client, cw, "other_grid_leader", incident, note="x", data={"severity": "red"}
    )
    assert response.status_code == 404
    # Sees it (the station supervises it) but did not receive it.
    response = assess(api_client, cw, "station_head", incident, note="x", data={"severity": "red"})
    assert response.status_code == 403
    # Once acknowledged, it is no longer assessed: escalate or return instead.
    engine.case_act(
        actor=cw.users["grid_leader"],
        model=Incident,
        case_id=incident.pk,
        action=Action.ACKNOWLEDGE,
        version=incident.version,
    )
    response = assess(api_client, cw, "grid_leader", incident, note="x", data={"severity": "red"})
    assert response.status_code == 403
    assert Incident.objects.get(pk=incident.pk).severity == "blue"


def test_the_case_page_offers_assessment_with_the_grading(client, cw):
    incident = new_case(cw, "yellow")  # owned by village V1
    client.force_login(cw.users["village_secretary"])
    page = client.get(f"/cases/{incident.pk}/").content.decode()
    assert 'data-action-form="assess"' in page
    assert 'name="severity"' in page and 'name="category"' in page
    response = client.post(
        f"/cases/{incident.pk}/",
        {
            "action": "assess",
            "version": incident.version,
            "severity": "blue",
            "category": "dispute",
            "note": "Only a quarrel about a hedge",
        },
    )
    assert response.status_code == 303
    incident.refresh_from_db()
    assert (incident.severity, incident.owner_level, incident.owner_code) == (
        "blue",
        Level.GRID,
        cw.west,
    )
    page = client.get(f"/cases/{incident.pk}/", follow=True).content.decode()
    # The history shows the change (the secretary still sees the village's cases).
    assert "Only a quarrel about a hedge" in page


def test_the_page_refuses_an_assessment_without_a_reason(client, cw):
    incident = new_case(cw, "yellow")
    client.force_login(cw.users["village_secretary"])
    response = client.post(
        f"/cases/{incident.pk}/",
        {"action": "assess", "version": incident.version, "severity": "red", "category": ""},
    )
    assert response.status_code == 400
    with translation.override("zh-hans"):
        assert gettext(engine.MSG_ASSESS_REASON_REQUIRED) in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).severity == "yellow"


# --- on site (到场) within 2 hours --------------------------------------------------------------
def red_on(cw: CaseWorld, at: dt.datetime) -> Incident:
    incident, created = services.incident_create(
        actor=cw.users["reporter"],
        point=Point(*W_POINT, srid=4326),
        category=cw.dispute,
        severity="red",
        description="Gas smell in the stairwell of building 3",
        reported_at=at,
    )
    assert created
    return Incident.objects.get(pk=incident.pk)


def take(cw: CaseWorld, who: str, incident: Incident, action: str, at: dt.datetime) -> None:
    version = Incident.objects.values_list("version", flat=True).get(pk=incident.pk)
    engine.case_act(
        actor=cw.users[who],
        model=Incident,
        case_id=incident.pk,
        action=action,
        version=version,
        at=at,
    )


def test_a_red_incident_on_sunday_must_be_on_site_within_two_hours_or_it_escalates_once(cw):
    WorkerFactory(name="District duty officer", user=cw.users["district_admin"])
    sunday = last_sunday_morning()
    incident = red_on(cw, sunday)
    # The seeded on-site limit (migration 0011): 120 calendar minutes, a Sunday like a Tuesday.
    assert incident.onsite_due_at == sunday + dt.timedelta(minutes=120)
    onsite = dt.datetime.fromisoformat(events(incident)[0].data["onsite_due_at"])
    assert onsite == incident.onsite_due_at
    # Acknowledged in time, but nobody starts work (nobody is on site).
    take(cw, "town_dispatcher", incident, Action.ACKNOWLEDGE, sunday + dt.timedelta(minutes=10))

    due = incident.onsite_due_at
    assert [a for a in clock.escalate_overdue(due) if a[0] == incident.pk] == []
    first = due + MINUTE
    assert [a for a in clock.escalate_overdue(first) if a[0] == incident.pk] == [
        (incident.pk, "onsite")
    ]
    incident.refresh_from_db()
    assert (incident.status, incident.owner_level) == (Status.REPORTED, Level.COUNTY)
    assert incident.escalation_count == 1
    escalation = events(incident)[-1]
    assert (escalation.action, escalation.actor, escalation.note, escalation.at) == (
        "escalate",
        None,
        auto_note(),
        first,
    )
    [overdue] = escalation.data["overdue"]
    assert overdue["kind"] == "onsite"
    assert dt.datetime.fromisoformat(overdue["due_at"]) == due
    # The next level gets its own full on-site time, and the county's handlers are told.
    assert incident.onsite_due_at == first + dt.timedelta(minutes=120)
    assert told(incident, notifications.MSG_CASE_ESCALATED) == {"District duty officer"}
    # Once per due event: the next ticks do nothing more for it.
    assert [a for a in clock.escalate_overdue(first + MINUTE) if a[0] == incident.pk] == []
    assert DueEvent.objects.filter(incident=incident, kind="onsite", due_at=due).count() == 1
    assert [e.action for e in events(incident)] == ["report", "acknowledge", "escalate"]


def test_started_before_the_on_site_deadline_it_does_not_escalate(cw):
    sunday = last_sunday_morning()
    incident = red_on(cw, sunday)
    take(cw, "town_dispatcher", incident, Action.ACKNOWLEDGE, sunday + dt.timedelta(minutes=10))
    take(cw, "town_dispatcher", incident, Action.START, sunday + dt.timedelta(minutes=100))
    after = incident.onsite_due_at + MINUTE
    assert [a for a in clock.escalate_overdue(after) if a[0] == incident.pk] == []
    incident.refresh_from_db()
    assert (incident.status, incident.escalation_count) == (Status.IN_PROGRESS, 0)
    assert not DueEvent.objects.filter(incident=incident).exists()
    assert deadlines.onsite_light(incident, after) is None


def test_blue_and_yellow_have_no_on_site_deadline(cw):
    for severity in ("blue", "yellow"):
        incident = new_case(cw, severity)
        assert incident.onsite_due_at is None
        assert "onsite_due_at" not in events(incident)[0].data
        later = incident.reported_at + dt.timedelta(days=30)
        acted = [a for a in clock.escalate_overdue(later) if a[0] == incident.pk]
        assert acted and "onsite" not in {kind for _, kind in acted}
        assert not DueEvent.objects.filter(incident=incident, kind="onsite").exists()


def test_the_case_page_shows_the_on_site_deadline_and_its_light(client, cw):
    red = new_case(cw, "red")
    blue = new_case(cw, "blue")
    client.force_login(cw.users["town_dispatcher"])
    with translation.override("zh-hans"):
        page = client.get(f"/cases/{red.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "到场时限" in page
    assert 'data-due="onsite"' in page and 'data-onsite-light="green"' in page
    local = timezone.localtime(red.onsite_due_at).strftime("%Y-%m-%d %H:%M")
    assert local in page
    # Overdue and still not on site: red.
    assert deadlines.onsite_light(red, red.onsite_due_at + MINUTE) == deadlines.RED
    assert deadlines.onsite_light(red, red.reported_at + dt.timedelta(minutes=100)) == (
        deadlines.YELLOW
    )
    client.force_login(cw.users["grid_leader"])
    page = client.get(f"/cases/{blue.pk}/").content.decode()
    assert 'data-due="onsite"' not in page


def test_the_to_do_orders_start_work_by_the_on_site_deadline(cw):
    now = timezone.now()
    incident = red_on(cw, now - dt.timedelta(minutes=20))
    take(cw, "town_dispatcher", incident, Action.ACKNOWLEDGE, now - dt.timedelta(minutes=10))
    [item] = [i for i in todo.todo(cw.users["town_dispatcher"]) if i.pk == incident.pk]
    assert item.todo_action == "start"
    assert item.due_at == incident.onsite_due_at != incident.resolve_due_at


def test_not_on_site_at_the_city_level_its_owners_are_told_once(cw):
    WorkerFactory(name="City duty officer", user=cw.users["city_admin"])
    now = timezone.now()
    incident = red_on(cw, now - dt.timedelta(minutes=5))
    for who in ("town_dispatcher", "district_admin"):
        engine.case_act(
            actor=cw.users[who],
            model=Incident,
            case_id=incident.pk,
            action=Action.ESCALATE,
            version=Incident.objects.values_list("version", flat=True).get(pk=incident.pk),
            at=now - dt.timedelta(minutes=4),
            note="Needs the city's gas company",
        )
    take(cw, "city_admin", incident, Action.ACKNOWLEDGE, now - dt.timedelta(minutes=3))
    incident.refresh_from_db()
    assert (incident.owner_level, incident.status) == (Level.CITY, Status.ACKNOWLEDGED)
    late = incident.onsite_due_at + MINUTE
    assert [a for a in clock.escalate_overdue(late) if a[0] == incident.pk] == [
        (incident.pk, "onsite")
    ]
    assert [a for a in clock.escalate_overdue(late + MINUTE) if a[0] == incident.pk] == []
    [entry] = Notification.objects.filter(
        subject_type="incident",
        subject_id=incident.pk,
        message__msgid=notifications.MSG_CASE_OVERDUE_AT_TOP,
    )
    assert entry.worker.name == "City duty officer"
    with translation.override("zh-hans"):
        assert "到场" in render_message(entry.message)
    with translation.override("en"):
        assert "on site was due" in render_message(entry.message)
