"""The clock (incidents.tasks): overdue cases escalate once per due event, also after the
worker was down; long-open cases get a supervision record every 15 days; and a real
procrastinate worker, stopped and started again, escalates a case exactly once.

The world and its logins are those of ``test_workflow`` (a blue dispute in grid W is owned
by grid W; station S1 supervises it).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import AccountRole
from cases import clock, deadlines, tasks
from cases import workflow as engine
from grids.models import Worker
from inbox.models import Notification
from incidents import notifications, time_limits, workflow
from incidents.models import (
    CaseEvent,
    DueEvent,
    Incident,
    Level,
    Status,
    SupervisionRecord,
)
from incidents.workflow import Action
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_routing import build_world, world_generation
from tests.incidents.test_workflow import (
    COMMITTED_CODE,
    CaseWorld,
    act,
    build_case_world,
    commit_case,
    history,
    in_own_connection,
    new_case,
    remove_committed,
)

MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def cw(db) -> CaseWorld:
    return build_case_world(build_world(world_generation()))


def mine(acted: list[tuple[int, Any]], *incidents: Incident) -> list[tuple[int, Any]]:
    """The part of a run's result about these incidents (other committed data may exist)."""
    ids = {i.pk for i in incidents}
    return sorted(a for a in acted if a[0] in ids)


def due_events(incident: Incident) -> list[tuple[str, dt.datetime]]:
    return list(
        DueEvent.objects.filter(incident=incident)
        .order_by("due_at", "kind")
        .values_list("kind", "due_at")
    )


def auto_note() -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(workflow.MSG_AUTO_ESCALATED)


# --- escalate_overdue -----------------------------------------------------------------------------
def test_an_unacknowledged_case_escalates_once_after_its_deadline(cw):
    incident = new_case(cw)
    due = incident.acknowledge_due_at
    assert mine(clock.escalate_overdue(due), incident) == []  # due, not yet overdue
    now = due + MINUTE
    assert mine(clock.escalate_overdue(now), incident) == [(incident.pk, "acknowledge")]
    incident.refresh_from_db()
    assert (incident.status, incident.owner_level, incident.owner_code) == (
        Status.REPORTED,
        Level.VILLAGE,
        cw.v1,
    )
    assert incident.escalation_count == 1
    limit = time_limits.time_limit(cw.dispute.pk, "blue")
    assert (incident.acknowledge_due_at, incident.resolve_due_at) == deadlines.deadlines_from(
        now, limit
    )
    event = history(incident)[-1]
    assert (event.action, event.actor, event.at, event.note) == ("escalate", None, now, auto_note())
    assert (event.from_level, event.to_level) == (Level.GRID, Level.VILLAGE)
    assert event.data["automatic"] is True
    assert event.data["overdue"] == [{"kind": "acknowledge", "due_at": due.isoformat()}]
    assert due_events(incident) == [("acknowledge", due)]
    told = set(
        Notification.objects.filter(
            subject_type="incident",
            subject_id=incident.pk,
            message__msgid=notifications.MSG_CASE_ESCALATED,
        ).values_list("worker__name", flat=True)
    )
    assert told == {"V1 secretary", "V1 director"}
    # Run again, at once or a minute later: nothing more.
    assert mine(clock.escalate_overdue(now), incident) == []
    assert mine(clock.escalate_overdue(now + MINUTE), incident) == []
    incident.refresh_from_db()
    assert incident.escalation_count == 1
    assert [e.action for e in history(incident)] == ["report", "escalate"]


def test_an_acknowledged_case_escalates_on_its_resolve_deadline_only(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    incident.refresh_from_db()
    assert mine(clock.escalate_overdue(incident.acknowledge_due_at + DAY), incident) == []
    now = incident.resolve_due_at + MINUTE
    assert mine(clock.escalate_overdue(now), incident) == [(incident.pk, "resolve")]
    incident.refresh_from_db()
    assert (incident.status, incident.owner_level) == (Status.REPORTED, Level.VILLAGE)


@pytest.mark.parametrize(
    "steps",
    [
        [("grid_leader", Action.ACKNOWLEDGE), ("grid_leader", Action.RESOLVE)],
        [("station_head", Action.CANCEL)],
    ],
    ids=["resolved", "cancelled"],
)
def test_a_resolved_or_closed_case_does_not_escalate(cw, steps):
    incident = new_case(cw)
    for who, action in steps:
        act(cw, who, incident, action, note="done")
    incident.refresh_from_db()
    later = incident.resolve_due_at + 30 * DAY
    assert mine(clock.escalate_overdue(later), incident) == []
    assert due_events(incident) == []


def test_a_returned_case_escalates_on_its_resolve_deadline(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.RETURN_CASE, note="not ours")
    incident.refresh_from_db()
    now = incident.resolve_due_at + MINUTE
    assert mine(clock.escalate_overdue(now), incident) == [(incident.pk, "resolve")]
    incident.refresh_from_db()
    assert (incident.status, incident.owner_level, incident.owner_code) == (
        Status.REPORTED,
        Level.TOWN,
        cw.t1,
    )


def test_an_extension_moves_the_due_event(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ACKNOWLEDGE)
    act(cw, "grid_leader", incident, Action.REQUEST_EXTENSION, data={"working_days": 3})
    act(cw, "station_head", incident, Action.GRANT_EXTENSION)
    incident.refresh_from_db()
    extended = incident.resolve_due_at
    first = deadlines.add_working_time(incident.reported_at, 7, "working_days")
    assert extended > first
    assert mine(clock.escalate_overdue(first + MINUTE), incident) == []
    assert mine(clock.escalate_overdue(extended + MINUTE), incident) == [(incident.pk, "resolve")]
    assert due_events(incident) == [("resolve", extended)]


def test_after_a_long_stop_one_run_catches_up_and_a_second_does_nothing(cw):
    # The worker was down for three weeks; meanwhile every deadline below passed.
    waiting = new_case(cw)  # neither acknowledged nor resolved: two due events, one escalation
    working = new_case(cw)
    act(cw, "grid_leader", working, Action.ACKNOWLEDGE)  # resolve deadline only
    extended = new_case(cw)
    act(cw, "grid_leader", extended, Action.ACKNOWLEDGE)
    act(cw, "grid_leader", extended, Action.REQUEST_EXTENSION, data={"working_days": 30})
    act(cw, "station_head", extended, Action.GRANT_EXTENSION)  # not due yet
    at_the_top = new_case(cw)
    for who in ("grid_leader", "village_secretary", "town_dispatcher", "district_admin"):
        act(cw, who, at_the_top, Action.ESCALATE, note="up")  # now at the city, unacknowledged
    cases = [waiting, working, extended, at_the_top]
    for incident in cases:
        incident.refresh_from_db()
    restart = timezone.now() + 21 * DAY

    acted = mine(clock.escalate_overdue(restart), *cases)

    assert acted == sorted(
        [
            (waiting.pk, "acknowledge"),
            (waiting.pk, "resolve"),
            (working.pk, "resolve"),
            (at_the_top.pk, "acknowledge"),
            (at_the_top.pk, "resolve"),
        ]
    )
    counts = {i.pk: Incident.objects.get(pk=i.pk).escalation_count for i in cases}
    assert counts == {waiting.pk: 1, working.pk: 1, extended.pk: 0, at_the_top.pk: 4}
    [escalation] = [e for e in history(waiting) if e.action == "escalate"]
    assert [o["kind"] for o in escalation.data["overdue"]] == ["acknowledge", "resolve"]
    assert Incident.objects.get(pk=at_the_top.pk).owner_level == Level.CITY
    assert len(due_events(at_the_top)) == 2
    # A second run, at once and a minute later: nothing.
    assert mine(clock.escalate_overdue(restart), *cases) == []
    assert mine(clock.escalate_overdue(restart + MINUTE), *cases) == []
    assert {i.pk: Incident.objects.get(pk=i.pk).escalation_count for i in cases} == counts
    assert DueEvent.objects.filter(incident__in=cases).count() == 5
    # Each escalation gave fresh deadlines; when they pass too, that is a new due event.
    waiting.refresh_from_db()
    later = waiting.acknowledge_due_at + MINUTE
    assert (waiting.pk, "acknowledge") in mine(clock.escalate_overdue(later), waiting)
    assert Incident.objects.get(pk=waiting.pk).owner_level == Level.TOWN


def test_overdue_at_the_city_tells_its_owners(cw):
    from grids.models import Worker

    city_admin = cw.users["city_admin"]
    Worker.objects.create(name="City duty officer", user=city_admin)
    incident = new_case(cw, "red")  # owned by town T1
    act(cw, "town_dispatcher", incident, Action.ESCALATE, note="up")
    act(cw, "district_admin", incident, Action.ESCALATE, note="up")
    incident.refresh_from_db()
    now = incident.acknowledge_due_at + MINUTE
    assert mine(clock.escalate_overdue(now), incident) == [(incident.pk, "acknowledge")]
    incident.refresh_from_db()
    assert (incident.owner_level, incident.escalation_count) == (Level.CITY, 2)
    [entry] = Notification.objects.filter(
        subject_type="incident",
        subject_id=incident.pk,
        message__msgid=notifications.MSG_CASE_OVERDUE_AT_TOP,
    )
    assert entry.worker.name == "City duty officer"
    assert mine(clock.escalate_overdue(now + MINUTE), incident) == []
    assert (
        Notification.objects.filter(
            subject_type="incident",
            subject_id=incident.pk,
            message__msgid=notifications.MSG_CASE_OVERDUE_AT_TOP,
        ).count()
        == 1
    )


def test_the_clock_climbs_one_level_per_missed_deadline(cw):
    incident = new_case(cw)
    levels = []
    for _ in range(6):
        incident.refresh_from_db()
        clock.escalate_overdue(incident.acknowledge_due_at + MINUTE)
        incident.refresh_from_db()
        levels.append(incident.owner_level)
    assert levels == ["village", "town", "county", "city", "city", "city"]
    assert incident.escalation_count == 4
    assert DueEvent.objects.filter(incident=incident).count() == 5


def test_escalation_counts_people_and_the_clock(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ESCALATE, note="needs the village")
    incident.refresh_from_db()
    clock.escalate_overdue(incident.acknowledge_due_at + MINUTE)
    incident.refresh_from_db()
    assert incident.escalation_count == 2
    assert [e.actor_name for e in history(incident) if e.action == "escalate"] == [
        "W leader",
        gettext(workflow.MSG_SYSTEM),
    ]


def test_one_failing_case_does_not_stop_the_others(cw, monkeypatch):
    first, second = new_case(cw), new_case(cw)
    real = engine.case_act

    def flaky(**kwargs: Any) -> Incident:
        if kwargs["case_id"] == first.pk:
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(engine, "case_act", flaky)
    now = first.acknowledge_due_at + DAY
    assert mine(clock.escalate_overdue(now), first, second) == [(second.pk, "acknowledge")]
    assert due_events(first) == []  # rolled back with it: the next run tries again
    monkeypatch.setattr(engine, "case_act", real)
    assert mine(clock.escalate_overdue(now), first, second) == [(first.pk, "acknowledge")]


def test_the_task_runs_both_and_is_periodic_every_minute(cw):
    from procrastinate.contrib.django import app

    incident = new_case(cw)
    Incident.objects.filter(pk=incident.pk).update(
        acknowledge_due_at=timezone.now() - DAY, reported_at=timezone.now() - 16 * DAY
    )
    result = tasks.clock(timestamp=int(time.time()))
    assert result["due_events"] >= 1 and result["supervision_records"] >= 1
    assert Incident.objects.get(pk=incident.pk).escalation_count == 1
    periodic = [
        p for p in app.periodic_registry.periodic_tasks.values() if p.task.name == "incidents.clock"
    ]
    assert [(p.cron, p.periodic_id) for p in periodic] == [("* * * * *", "case-clock")]


@pytest.mark.django_db
@in_own_connection
def test_two_clocks_at_once_escalate_once():
    # Two workers (threads with their own connections) run the same minute: the due event
    # is inserted once, so the case escalates once.
    remove_committed()
    try:
        _two_clocks_at_once()
    finally:
        remove_committed()


def _two_clocks_at_once() -> None:
    incident = commit_case(
        usernames=["a"],
        acknowledge_due_at=timezone.now() - dt.timedelta(hours=1),
    )
    now = timezone.now()
    barrier = threading.Barrier(2)
    results: list[list[tuple[int, str]]] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(mine(clock.escalate_overdue(now), incident))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [[], [(incident.pk, "acknowledge")]]
    incident.refresh_from_db()
    assert incident.escalation_count == 1
    assert (incident.owner_level, incident.owner_code) == (Level.VILLAGE, COMMITTED_CODE[:12])


# --- supervise_ledger -----------------------------------------------------------------------------
def test_supervision_every_15_days_until_closed(cw):
    incident = new_case(cw)
    reported = incident.reported_at - 31 * DAY
    Incident.objects.filter(pk=incident.pk).update(reported_at=reported)
    now = timezone.now()
    assert mine(clock.supervise_ledger(now), incident) == [(incident.pk, 1), (incident.pk, 2)]
    records = list(SupervisionRecord.objects.filter(incident=incident).order_by("number"))
    assert [(r.number, r.due_at) for r in records] == [
        (1, reported + 15 * DAY),
        (2, reported + 30 * DAY),
    ]
    assert {(r.owner_level, r.owner_code) for r in records} == {(Level.GRID, cw.west)}
    [entry] = Notification.objects.filter(
        subject_type="incident",
        subject_id=incident.pk,
        message__msgid=notifications.MSG_CASE_SUPERVISION,
    )
    assert entry.worker.name == "W leader"
    assert entry.message["params"]["number"] == 2
    # Again: nothing; 15 days on: number 3; exactly on the 45th day counts.
    assert mine(clock.supervise_ledger(now), incident) == []
    assert mine(clock.supervise_ledger(reported + 45 * DAY), incident) == [(incident.pk, 3)]
    act(cw, "station_head", incident, Action.CANCEL, note="duplicate")
    assert mine(clock.supervise_ledger(reported + 90 * DAY), incident) == []
    assert SupervisionRecord.objects.filter(incident=incident).count() == 3


def test_no_supervision_before_15_days(cw):
    incident = new_case(cw)
    now = incident.reported_at + 15 * DAY - MINUTE
    assert mine(clock.supervise_ledger(now), incident) == []
    assert mine(clock.supervise_ledger(now + MINUTE), incident) == [(incident.pk, 1)]


def test_supervision_follows_the_owner(cw):
    incident = new_case(cw)
    act(cw, "grid_leader", incident, Action.ESCALATE, note="up")
    clock.supervise_ledger(incident.reported_at + 16 * DAY)
    record = SupervisionRecord.objects.get(incident=incident)
    assert (record.owner_level, record.owner_code) == (Level.VILLAGE, cw.v1)
    told = set(
        Notification.objects.filter(
            subject_type="incident",
            subject_id=incident.pk,
            message__msgid=notifications.MSG_CASE_SUPERVISION,
        ).values_list("worker__name", flat=True)
    )
    assert told == {"V1 secretary", "V1 director"}


# --- a real worker, stopped and started again -----------------------------------------------------
WORKER_TIMEOUT = 90.0


def _database_url() -> str:
    s = connection.settings_dict
    credentials = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        credentials += ":" + quote(str(s["PASSWORD"]), safe="")
    host = quote(s.get("HOST") or "", safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgis://{credentials}@{host}{port}/{quote(s['NAME'], safe='')}"


def _start_worker(log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "gridmap.settings.test"),
        "DATABASE_URL": _database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "manage.py", "procrastinate", "worker", "--concurrency=1"]
    with open(log, "ab") as out:
        return subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # procrastinate stops gracefully
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _defer_clock() -> int | None:
    """Queue a clock job now (the periodic one may already be queued: the same lock)."""
    from procrastinate import exceptions

    try:
        return tasks.clock.defer(timestamp=int(time.time()))
    except exceptions.AlreadyEnqueued:
        return None


def _wait(condition: Any, process: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + WORKER_TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}):\n{log.read_text()}")
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen in {WORKER_TIMEOUT}s:\n{log.read_text()}")


def _clock_jobs_finished_since(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'incidents.clock' "
            "AND id >= %s AND status NOT IN ('succeeded', 'failed')",
            [job_id],
        )
        unfinished = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'incidents.clock' "
            "AND id >= %s AND status = 'succeeded'",
            [job_id],
        )
        return unfinished == 0 and cursor.fetchone()[0] > 0


def _last_clock_job() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


@pytest.mark.django_db
@in_own_connection
def test_a_real_worker_escalates_once_also_after_a_restart(tmp_path):
    remove_committed()
    try:
        _real_worker(tmp_path)
    finally:
        remove_committed()


def _real_worker(tmp_path: Path) -> None:
    overdue = commit_case(usernames=["a"], acknowledge_due_at=timezone.now() - DAY)
    # A case at the city level cannot escalate: each due event is told to its owner once.
    city = COMMITTED_CODE[:4] + "00"
    at_the_top = commit_case(
        usernames=[],
        owner_level=Level.CITY,
        owner_code=city,
        acknowledge_due_at=timezone.now() - DAY,
    )
    admin = AccountFactory(
        user=UserFactory(username="committed-city"), role=AccountRole.CITY_ADMIN, codes=[city]
    ).user
    Worker.objects.create(name="committed city officer", user=admin)
    log = tmp_path / "worker.log"
    escalations = lambda: Incident.objects.get(pk=overdue.pk).escalation_count  # noqa: E731

    def told_at_the_top() -> int:
        return Notification.objects.filter(
            subject_type="incident",
            subject_id=at_the_top.pk,
            message__msgid=notifications.MSG_CASE_OVERDUE_AT_TOP,
        ).count()

    worker = _start_worker(log)
    try:
        _defer_clock()
        _wait(lambda: escalations() == 1, worker, log, "the escalation")
        _wait(lambda: told_at_the_top() == 1, worker, log, "the overdue notice")
    finally:
        _stop_worker(worker)
    assert escalations() == 1
    escalated = Incident.objects.get(pk=overdue.pk)
    assert (escalated.owner_level, escalated.owner_code) == (Level.VILLAGE, COMMITTED_CODE[:12])

    # While the worker is down, the village's deadline passes too, and the due event it
    # answered is seen again by every later run. Start again: one more escalation (the new
    # due event), never a second one for the old due event.
    Incident.objects.filter(pk=overdue.pk).update(
        acknowledge_due_at=timezone.now() - dt.timedelta(hours=1)
    )
    since = _last_clock_job() + 1
    worker = _start_worker(log)
    try:
        _defer_clock()
        _wait(lambda: escalations() == 2, worker, log, "the second escalation")
        _defer_clock()  # and once more: nothing left to do
        _wait(lambda: _clock_jobs_finished_since(since), worker, log, "the clock jobs")
    finally:
        _stop_worker(worker)
    final = Incident.objects.get(pk=overdue.pk)
    assert (final.escalation_count, final.owner_level) == (2, Level.TOWN)
    assert DueEvent.objects.filter(incident=overdue).count() == 2
    assert DueEvent.objects.filter(incident=at_the_top).count() == 1
    assert told_at_the_top() == 1
    assert Incident.objects.get(pk=at_the_top.pk).escalation_count == 0
    assert [e.action for e in CaseEvent.objects.filter(incident=overdue).order_by("seq")] == [
        "report",
        "escalate",
        "escalate",
    ]
    assert "Traceback" not in log.read_text()
