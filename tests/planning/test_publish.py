"""Station edits, batches, violations, publish (a new dated version, open incidents
re-assigned with history, closed ones kept), the clock for later dates, /api/catchments/.

Uses the 5 x 3 board of tests/planning/test_plans.py (village k at column k % 5, row k // 5).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.utils import timezone

from grids.models import CatchmentAssignment, Station
from inbox.models import Notification
from incidents.models import CaseEvent, Category, Incident, Status
from incidents.services import incident_create
from planning import services
from planning.models import ChangeKind, Plan, PlanAssignment, PlanStation
from planning.selectors import (
    MSG_PIECES,
    MSG_SIZE,
    MSG_UNASSIGNED,
    plan_catchments_geojson,
    plan_diff,
    plan_violations,
)
from planning.tasks import apply_due_plans
from tests.factories import (
    AccountFactory,
    RoleAssignmentFactory,
    StationFactory,
    WorkerFactory,
)
from tests.planning.test_plans import SIZE, Board, msg


@pytest.fixture
def board(db) -> Board:
    return Board()


def centre(k: int) -> Point:
    return Point(100.0 + SIZE * (k % 5) + SIZE / 2, SIZE * (k // 5) + SIZE / 2, srid=4326)


def assigned(plan: Plan) -> dict[str, str | None]:
    return dict(plan.assignments.values_list("village_code", "station__code"))


# --- stations -----------------------------------------------------------------------------
def test_add_station_takes_the_next_free_code_and_must_stand_in_its_town(board):
    plan = board.plan(a=[0, 5, 10], b=[1, 2, 3])
    with pytest.raises(ValidationError) as exc:
        services.plan_station_add(
            actor=board.actor,
            plan=plan,
            town_code=board.town.code,
            name="New",
            location=Point(101.0, 1.0, srid=4326),
        )
    assert exc.value.message_dict["constraints"] == [
        msg(services.MSG_OUTSIDE_TOWN, station=f"{board.town.code}S03", town=board.town.code)
    ]
    assert not plan.stations.filter(station__isnull=True).exists()
    new = services.plan_station_add(
        actor=board.actor, plan=plan, town_code=board.town.code, name="New", location=centre(4)
    )
    assert new.code == f"{board.town.code}S03" and new.station is None
    services.plan_assign(
        actor=board.actor,
        plan=plan,
        village_code=[board.code(4), board.code(9), board.code(14)],
        station=new.code,
    )
    assert assigned(plan)[board.code(9)] == new.code
    # Undo the assignment, then the addition: the new station is retired (never published).
    services.plan_undo(actor=board.actor, plan=plan)
    services.plan_undo(actor=board.actor, plan=plan)
    new.refresh_from_db()
    assert new.retired and assigned(plan)[board.code(9)] is None


def test_move_station_outside_its_town_needs_a_reason(board):
    plan = board.plan(a=[0, 5, 10], b=[1, 2, 3])
    far = Point(100.5, 0.5, srid=4326)
    with pytest.raises(ValidationError) as exc:
        services.plan_station_move(actor=board.actor, plan=plan, station=board.a.code, location=far)
    assert exc.value.message_dict["constraints"] == [
        msg(services.MSG_OUTSIDE_TOWN, station=board.a.code, town=board.town.code)
    ]
    change = services.plan_station_move(
        actor=board.actor,
        plan=plan,
        station=board.a.code,
        location=far,
        override_reason="Temporary office across the river.",
    )
    assert change.kind == ChangeKind.MOVE and change.override_reason.startswith("Temporary")
    assert plan.stations.get(code=board.a.code).location.equals_exact(far, 1e-9)
    services.plan_undo(actor=board.actor, plan=plan)
    assert plan.stations.get(code=board.a.code).location.equals_exact(board.a.location, 1e-9)
    # In EPSG:3857 too.
    inside = centre(0).transform(3857, clone=True)
    services.plan_station_move(actor=board.actor, plan=plan, station=board.a.code, location=inside)
    assert plan.stations.get(code=board.a.code).location.distance(centre(0)) < 1e-7


def test_retire_with_villages_needs_a_reason_and_undo_restores_them(board):
    plan = board.plan(a=[0, 5, 10], b=[1, 2, 3])
    with pytest.raises(ValidationError) as exc:
        services.plan_station_retire(actor=board.actor, plan=plan, station=board.a.code)
    assert exc.value.message_dict["constraints"] == [
        msg(services.MSG_RETIRE_HOLDS, station=board.a.code, count=3)
    ]
    changes = services.plan_station_retire(
        actor=board.actor, plan=plan, station=board.a.code, override_reason="Merged into B."
    )
    assert len(changes) == 4 and len({c.batch for c in changes}) == 1
    assert [assigned(plan)[board.code(k)] for k in (0, 5, 10)] == [None] * 3
    assert plan.stations.get(code=board.a.code).retired
    # A retired station takes no villages, whatever the reason.
    with pytest.raises(ValidationError) as exc:
        services.plan_assign(
            actor=board.actor,
            plan=plan,
            village_code=board.code(0),
            station=board.a.code,
            override_reason="x",
        )
    assert exc.value.message_dict["constraints"] == [
        msg(services.MSG_RETIRED, station=board.a.code)
    ]
    services.plan_undo(actor=board.actor, plan=plan)
    assert [assigned(plan)[board.code(k)] for k in (0, 5, 10)] == [board.a.code] * 3
    assert not plan.stations.get(code=board.a.code).retired
    services.plan_redo(actor=board.actor, plan=plan)
    assert plan.stations.get(code=board.a.code).retired


def test_a_locked_station_keeps_its_villages_even_with_a_reason(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[2, 3, 4])
    services.plan_station_lock(actor=board.actor, plan=plan, station=board.a.code, locked=True)
    for village, station in ((1, board.b), (6, board.a)):
        with pytest.raises(ValidationError) as exc:
            services.plan_assign(
                actor=board.actor,
                plan=plan,
                village_code=board.code(village),
                station=station.code,
                override_reason="please",
            )
        assert exc.value.message_dict["constraints"] == [
            msg(services.MSG_LOCKED, station=board.a.code)
        ]
    services.plan_undo(actor=board.actor, plan=plan)  # undo the lock
    services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(1), station=board.b.code
    )


def test_a_brush_stroke_is_checked_as_a_whole_and_undone_as_one(board):
    plan = board.plan(a=[0, 1, 2, 5, 6, 7], b=[3, 4, 8])
    # 7 alone would not touch B (3, 4, 8: 7 touches 8 - fine) but 2 then 7 in that order
    # would leave A in pieces half-way; the result as a whole is what is checked.
    changes = services.plan_assign(
        actor=board.actor,
        plan=plan,
        village_code=[board.code(2), board.code(7)],
        station=board.b.code,
        action="brush",
    )
    assert {c.batch for c in changes} == {1} and {c.action for c in changes} == {"brush"}
    assert assigned(plan)[board.code(2)] == assigned(plan)[board.code(7)] == board.b.code
    services.plan_undo(actor=board.actor, plan=plan)
    assert assigned(plan)[board.code(2)] == assigned(plan)[board.code(7)] == board.a.code
    # A stroke taking B over 7 is refused with the reason, and nothing is applied.
    with pytest.raises(ValidationError) as exc:
        services.plan_assign(
            actor=board.actor,
            plan=plan,
            village_code=[board.code(k) for k in (2, 7, 12, 13, 9)],
            station=board.b.code,
        )
    assert (
        msg(services.MSG_TOO_MANY, station=board.b.code, count=8, max=7)
        in (exc.value.message_dict["constraints"])
    )
    assert assigned(plan)[board.code(2)] == board.a.code


# --- violations, diff, GeoJSON --------------------------------------------------------------
def test_violations_diff_and_catchments(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[3, 9])
    messages = [v["message"] for v in plan_violations(plan)]
    unassigned = sorted(
        {board.code(k) for k in range(15)} - {board.code(k) for k in (0, 5, 10, 1, 3, 9)}
        | {board.far.code}
    )
    assert messages == [msg(MSG_UNASSIGNED, village=c) for c in unassigned] + [
        msg(MSG_SIZE, station=board.b.code, count=2, min=3, max=7),
        msg(MSG_PIECES, station=board.b.code, pieces=2),
        msg(MSG_SIZE, station=board.c.code, count=0, min=3, max=7),
    ]
    services.plan_assign(
        actor=board.actor,
        plan=plan,
        village_code=board.code(1),
        station=board.b.code,
        override_reason="test",
    )
    diff = plan_diff(plan)
    assert [(d["village_code"], d["from_station"], d["to_station"]) for d in diff] == [
        (board.code(1), board.a.code, board.b.code)
    ]
    other = services.plan_create(actor=board.actor, name="other", area_code=board.town.code)
    assert [d["village_code"] for d in plan_diff(plan, other)] == [board.code(1)]
    collection = plan_catchments_geojson(plan)
    features = {f["properties"]["station_code"]: f for f in collection["features"]}
    assert set(features) == {board.a.code, board.b.code}
    assert features[board.b.code]["properties"]["villages"] == 3
    assert features[board.a.code]["geometry"]["type"] in ("Polygon", "MultiPolygon")


# --- publish ------------------------------------------------------------------------------
def _report(board: Board, k: int, reporter) -> Incident:
    incident, _ = incident_create(
        actor=reporter,
        point=centre(k),
        category=Category.objects.order_by("pk").first(),
        severity="blue",
        description="A drain is blocked",
    )
    return incident


@pytest.fixture
def full(board):
    """A complete, valid published assignment of the first town: A = columns 0-1,
    B = columns 2-3, D = column 4."""
    board.d = StationFactory(town=board.town, code=f"{board.town.code}S04")
    board.publish(a=[0, 1, 5, 6, 10, 11], b=[2, 3, 7, 8, 12, 13], d=[4, 9, 14])
    return board


def test_publish_refuses_unassigned_villages_violations_without_reason_and_past_dates(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[2, 3])
    with pytest.raises(ValidationError) as exc:
        services.plan_publish(actor=board.actor, plan=plan)
    assert exc.value.message_dict["plan"] == [
        msg(services.MSG_PUBLISH_UNASSIGNED, count=10, example=board.code(4))
    ]
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        services.plan_publish(
            actor=board.actor, plan=plan, effective_from=today - dt.timedelta(days=1)
        )
    assert exc.value.message_dict["effective_from"] == [
        msg(services.MSG_PUBLISH_DATE, date=today - dt.timedelta(days=1))
    ]
    assert Plan.objects.get(pk=plan.pk).status == "draft"
    assert not CatchmentAssignment.objects.filter(period__startswith=today).exists()


def test_publish_with_violations_needs_a_reason(full):
    board = full
    plan = services.plan_create(actor=board.actor, name="p", area_code=board.town.code)
    assert plan_violations(plan) == []
    for k in (2, 7):
        services.plan_assign(
            actor=board.actor,
            plan=plan,
            village_code=board.code(k),
            station=board.a.code,
            override_reason="A takes the school villages.",
        )
    before = CatchmentAssignment.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.plan_publish(actor=board.actor, plan=plan)
    assert exc.value.message_dict["constraints"] == [
        msg(services.MSG_PUBLISH_VIOLATIONS, count=1),
        msg(MSG_SIZE, station=board.a.code, count=8, min=3, max=7),
    ]
    assert CatchmentAssignment.objects.count() == before
    assert Plan.objects.get(pk=plan.pk).status == "draft"
    services.plan_publish(actor=board.actor, plan=plan, override_reason="Until the new station.")
    assert Plan.objects.get(pk=plan.pk).publish_reason == "Until the new station."
    assert CatchmentAssignment.objects.count() == before + 15


def test_publish_makes_a_new_dated_version_and_reassigns_open_incidents(full):
    board = full
    day = timezone.localdate()
    head_b = WorkerFactory(name="Head B")
    RoleAssignmentFactory(worker=head_b, role="station_head", station=board.b)
    reporter = AccountFactory(role="grid_worker", codes=[board.town.code]).user
    moving_open = _report(board, 2, reporter)  # village 2: B -> A in the plan
    moving_closed = _report(board, 7, reporter)  # village 7 too, but closed
    staying = _report(board, 3, reporter)  # village 3 stays with B
    assert moving_open.station == board.b and staying.station == board.b
    Incident.objects.filter(pk=moving_closed.pk).update(status=Status.CLOSED)
    events_before = {
        i: CaseEvent.objects.filter(incident_id=i).count()
        for i in (moving_open.pk, moving_closed.pk, staying.pk)
    }

    plan = services.plan_create(actor=board.actor, name="Spring 2027", area_code=board.town.code)
    services.plan_assign(
        actor=board.actor,
        plan=plan,
        village_code=[board.code(2)],
        station=board.a.code,
    )
    services.plan_assign(
        actor=board.actor,
        plan=plan,
        village_code=[board.code(7)],
        station=board.a.code,
        override_reason="A takes the school villages.",
    )
    published = services.plan_publish(
        actor=board.actor, plan=plan, override_reason="A holds 8 until the new station opens."
    )
    assert (published.status, published.effective_from) == ("published", day)
    assert published.publish_reason.startswith("A holds 8")

    # History: yesterday's version ends today; today's starts today.
    old = CatchmentAssignment.objects.get(village=board.villages[2], station=board.b)
    assert (old.period.lower, old.period.upper) == (day - dt.timedelta(days=365), day)
    new = CatchmentAssignment.objects.active(day).get(village=board.villages[2])
    assert new.station == board.a and new.period.lower == day and new.period.upper is None
    assert (
        CatchmentAssignment.objects.active(day)
        .filter(village__code__startswith=board.town.code)
        .count()
        == 15
    )
    assert (
        CatchmentAssignment.objects.active(day - dt.timedelta(days=1))
        .get(village=board.villages[2])
        .station
        == board.b
    )

    # The open case moved with a history entry; the closed one and the staying one did not.
    fresh = Incident.objects.get(pk=moving_open.pk)
    assert fresh.station == board.a and fresh.version == moving_open.version + 1
    event = CaseEvent.objects.filter(incident=fresh).order_by("-seq").first()
    assert event.action == "reassign_station" and event.seq == events_before[fresh.pk] + 1
    assert event.data["from_station"] == board.b.code and event.data["to_station"] == board.a.code
    assert event.data["plan"] == plan.pk and event.from_status == event.to_status
    assert "Spring 2027" in event.note
    assert Incident.objects.get(pk=moving_closed.pk).station == board.b
    assert Incident.objects.get(pk=staying.pk).station == board.b
    for pk in (moving_closed.pk, staying.pk):
        assert CaseEvent.objects.filter(incident_id=pk).count() == events_before[pk]
    # Running it again changes nothing (idempotent).
    assert services.reassign_incidents(published, actor=None) == []

    # A draft can no longer be edited once published; publishing again the same day is
    # refused (a version already starts today).
    with pytest.raises(ValidationError):
        services.plan_assign(
            actor=board.actor, plan=published, village_code=board.code(3), station=board.a.code
        )
    again = services.plan_create(actor=board.actor, name="again", area_code=board.town.code)
    with pytest.raises(ValidationError) as exc:
        services.plan_publish(actor=board.actor, plan=again, override_reason="x")
    assert exc.value.message_dict["effective_from"] == [
        msg(services.MSG_PUBLISH_LATER_VERSION, code=board.town.code, date=day)
    ]


def test_publish_carries_station_edits_over(full):
    board = full
    plan = services.plan_create(actor=board.actor, name="p", area_code=board.town.code)
    new = services.plan_station_add(
        actor=board.actor, plan=plan, town_code=board.town.code, name="East", location=centre(4)
    )
    services.plan_assign(
        actor=board.actor,
        plan=plan,
        village_code=[board.code(k) for k in (4, 9, 14)],
        station=new.code,
        override_reason="East replaces D.",
    )
    services.plan_station_retire(actor=board.actor, plan=plan, station=board.d.code)
    services.plan_station_move(
        actor=board.actor, plan=plan, station=board.a.code, location=centre(5)
    )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    services.plan_publish(actor=board.actor, plan=plan, effective_from=tomorrow)
    station = Station.objects.get(code=new.code)
    assert station.name == "East" and station.town == board.town
    assert PlanStation.objects.get(pk=new.pk).station == station
    assert Station.objects.get(pk=board.a.pk).location.equals_exact(centre(5), 1e-9)
    assert Station.objects.get(pk=board.d.pk).retired_on == tomorrow
    # In force tomorrow: today's catchments are unchanged.
    assert CatchmentAssignment.objects.active().get(village=board.villages[4]).station == board.d
    assert (
        CatchmentAssignment.objects.active(tomorrow).get(village=board.villages[4]).station
        == station
    )


def test_a_plan_for_a_later_day_reassigns_incidents_on_that_day(full):
    board = full
    reporter = AccountFactory(role="grid_worker", codes=[board.town.code]).user
    incident = _report(board, 2, reporter)
    plan = services.plan_create(actor=board.actor, name="later", area_code=board.town.code)
    services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(2), station=board.a.code
    )
    day = timezone.localdate() + dt.timedelta(days=3)
    services.plan_publish(actor=board.actor, plan=plan, effective_from=day)
    assert Incident.objects.get(pk=incident.pk).station == board.b
    assert apply_due_plans(day - dt.timedelta(days=1)) == {}
    assert apply_due_plans(day) == {plan.pk: [incident.pk]}
    assert Incident.objects.get(pk=incident.pk).station == board.a
    assert apply_due_plans(day + dt.timedelta(days=1)) == {plan.pk: []}
    event = CaseEvent.objects.filter(incident=incident).order_by("-seq").first()
    assert event.action == "reassign_station" and event.actor is None


def test_the_new_station_head_is_told(full):
    board = full
    head_a = WorkerFactory(name="Head A")
    RoleAssignmentFactory(worker=head_a, role="station_head", station=board.a)
    reporter = AccountFactory(role="grid_worker", codes=[board.town.code]).user
    incident = _report(board, 2, reporter)
    plan = services.plan_create(actor=board.actor, name="p", area_code=board.town.code)
    services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(2), station=board.a.code
    )
    services.plan_publish(actor=board.actor, plan=plan)
    note = Notification.objects.filter(
        worker=head_a, subject_type="incident", subject_id=incident.pk
    ).get()
    assert note.message["params"]["id"] == incident.pk


# --- /api/catchments/ -----------------------------------------------------------------------
def test_catchments_api(full, client):
    board = full
    client.force_login(board.actor)
    today = timezone.localdate()
    plan = services.plan_create(actor=board.actor, name="p", area_code=board.town.code)
    services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(2), station=board.a.code
    )
    tomorrow = today + dt.timedelta(days=1)
    services.plan_publish(actor=board.actor, plan=plan, effective_from=tomorrow)

    def station_of_2(at: str | None) -> str:
        params = {"town": board.town.code, **({"at": at} if at else {})}
        body = client.get("/api/catchments/", params).json()
        rows = {r["village_code"]: r for r in body["villages"]}
        assert len(rows) == 15
        return rows[board.code(2)]["station_code"], rows[board.code(2)]

    code, row = station_of_2(None)
    assert code == board.b.code and row["valid_until"] == tomorrow.isoformat()
    code, row = station_of_2(tomorrow.isoformat())
    assert code == board.a.code and row["valid_from"] == tomorrow.isoformat()
    assert row["valid_until"] is None

    for params, key in (
        ({}, "town"),
        ({"town": "12"}, "town"),
        ({"town": board.town.code, "at": "2026-13-40"}, "at"),
        ({"town": board.town.code, "at": "yesterday"}, "at"),
    ):
        response = client.get("/api/catchments/", params)
        assert response.status_code == 400, params
        assert key in response.json()["errors"]
    outsider = AccountFactory(role="planner", codes=[board.other_town.code]).user
    client.force_login(outsider)
    response = client.get("/api/catchments/", {"town": board.town.code})
    assert response.status_code == 404
    client.logout()
    assert client.get("/api/catchments/", {"town": board.town.code}).status_code in (401, 403)


def test_plan_assignment_rows_survive_only_in_the_plan(full):
    """Drafts never touch routing: a draft's change leaves the published rows alone."""
    board = full
    plan = services.plan_create(actor=board.actor, name="p", area_code=board.town.code)
    before = list(CatchmentAssignment.objects.order_by("pk").values_list("pk", "station_id"))
    services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(2), station=board.a.code
    )
    assert list(CatchmentAssignment.objects.order_by("pk").values_list("pk", "station_id")) == (
        before
    )
    assert PlanAssignment.objects.get(plan=plan, village_code=board.code(2)).station.code == (
        board.a.code
    )


# --- proposals through the service -----------------------------------------------------------
def test_repair_and_propose_apply_one_batch_that_meets_every_constraint(full):
    board = full
    plan = services.plan_create(actor=board.actor, name="p", area_code=board.town.code)
    services.plan_assign(
        actor=board.actor,
        plan=plan,
        village_code=[board.code(2), board.code(7)],
        station=board.a.code,
        override_reason="test",
    )
    assert [v["kind"] for v in plan_violations(plan)] == ["size"]
    result = services.plan_solve(actor=board.actor, plan=plan, mode="repair", time_limit=5)
    assert result.status in ("optimal", "feasible") and result.moved == 1
    assert plan_violations(plan) == []
    assert len(result.changes) == 1 and {c.action for c in result.changes} == {"repair"}
    services.plan_undo(actor=board.actor, plan=plan)
    assert [v["kind"] for v in plan_violations(plan)] == ["size"]

    services.plan_station_lock(actor=board.actor, plan=plan, station=board.d.code, locked=True)
    result = services.plan_solve(actor=board.actor, plan=plan, mode="propose", time_limit=5)
    assert result.status in ("optimal", "feasible")
    assert plan_violations(plan) == []
    # The locked station kept exactly its villages.
    assert sorted(
        plan.assignments.filter(station__code=board.d.code).values_list("village_code", flat=True)
    ) == [board.code(k) for k in (4, 9, 14)]
    batches = set(plan.changes.filter(action="propose").values_list("batch", flat=True))
    assert len(batches) <= 1


def test_island_villages_get_an_allowed_link_to_the_nearest_village(board):
    from planning.models import AllowedLink
    from tests.factories import VillageFactory, square

    island = VillageFactory(
        town=board.town, code=f"{board.town.code}016", geom=square(100.0, 0.045, 0.004)
    )
    links = services.link_islands(board.district.code)
    assert [(link.village_a, link.village_b) for link in links] == [(board.code(10), island.code)]
    assert services.link_islands(board.district.code) == []  # idempotent
    assert AllowedLink.objects.count() == 1
