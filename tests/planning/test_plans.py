"""Plans: constraints refused with their reason, override kept, undo/redo, CSV, statistics.

A hand-built district 9901xx with two towns; the first town is a 5 x 3 board of square
villages 0.01 degree wide (village k at column k % 5, row k // 5), so neighbours share an edge
and diagonal ones touch only at a corner.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from psycopg.types.range import Range

from accounts.models import AccountRole
from households.models import PartyBranch, PartyMember
from planning import services
from planning.models import AllowedLink, PlanAssignment
from planning.selectors import plan_station_stats
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    DistrictFactory,
    GridFactory,
    HouseholdFactory,
    StationFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    rect,
    square,
)

SIZE = 0.01


def msg(msgid: str, **params: object) -> str:
    return gettext(msgid) % params if params else gettext(msgid)


class Board:
    def __init__(self) -> None:
        self.district = DistrictFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
        self.town = TownFactory(district=self.district, geom=rect(100.0, 0.0, 100.05, 0.03))
        self.other_town = TownFactory(district=self.district, geom=rect(100.06, 0.0, 100.07, 0.01))
        self.villages = [
            VillageFactory(
                town=self.town,
                code=f"{self.town.code}{k + 1:03d}",
                geom=square(100.0 + SIZE * (k % 5), SIZE * (k // 5), SIZE),
            )
            for k in range(15)
        ]
        self.far = VillageFactory(
            town=self.other_town,
            code=f"{self.other_town.code}001",
            geom=square(100.06, 0.0, SIZE),
        )
        self.a = StationFactory(town=self.town, code=f"{self.town.code}S01")
        self.b = StationFactory(town=self.town, code=f"{self.town.code}S02")
        self.c = StationFactory(town=self.other_town, code=f"{self.other_town.code}S01")
        self.actor = UserFactory(is_superuser=True)

    def code(self, k: int) -> str:
        return self.villages[k].code

    def publish(self, **catchments: list[int]) -> None:
        for name, ks in catchments.items():
            for k in ks:
                CatchmentAssignmentFactory(village=self.villages[k], station=getattr(self, name))

    def plan(self, **catchments: list[int]):
        self.publish(**catchments)
        return services.plan_create(actor=self.actor, name="draft", area_code=self.district.code)

    def station_of(self, plan, k: int):
        """The code of the station village ``k`` has in the plan (None: unassigned)."""
        return (
            PlanAssignment.objects.filter(plan=plan, village_code=self.code(k))
            .values_list("station__code", flat=True)
            .get()
        )


@pytest.fixture
def board(db) -> Board:
    return Board()


def refused(board: Board, plan, k: int, station) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        services.plan_assign(
            actor=board.actor, plan=plan, village_code=board.code(k), station=station.code
        )
    assert board.station_of(plan, k) != station.code, "a refused change must not be applied"
    assert not plan.changes.exists()
    return exc.value.message_dict["constraints"]


# --- create -------------------------------------------------------------------------------
def test_create_copies_the_assignment_of_the_base_date(board):
    board.publish(a=[0, 1, 5])
    today = timezone.localdate()
    # Village 2 moves to B from next month on: not in a plan based on today.
    CatchmentAssignmentFactory(
        village=board.villages[2],
        station=board.b,
        period=Range(today, today + dt.timedelta(30)),
    )
    CatchmentAssignmentFactory(
        village=board.villages[2],
        station=board.a,
        period=Range(today + dt.timedelta(30), None),
    )
    plan = services.plan_create(actor=board.actor, name=" p ", area_code=board.town.code)
    assert plan.name == "p" and plan.base_date == today and plan.status == "draft"
    rows = dict(plan.assignments.values_list("village_code", "station__code"))
    assert sorted(plan.stations.values_list("code", flat=True)) == [board.a.code, board.b.code]
    assert len(rows) == 15 and board.far.code not in rows
    assert rows[board.code(0)] == board.a.code and rows[board.code(2)] == board.b.code
    assert rows[board.code(3)] is None
    later = services.plan_create(
        actor=board.actor,
        name="later",
        area_code=board.town.code,
        base_date=today + dt.timedelta(40),
    )
    assert later.assignments.get(village_code=board.code(2)).station.code == board.a.code


def test_create_refuses_unknown_area_and_outsiders(board):
    with pytest.raises(ValidationError) as exc:
        services.plan_create(actor=board.actor, name="p", area_code="990199999")
    assert exc.value.message_dict["area_code"] == [msg(services.MSG_NO_AREA, code="990199999")]
    planner = AccountFactory(role=AccountRole.PLANNER, codes=[board.town.code]).user
    assert services.plan_create(actor=planner, name="p", area_code=board.town.code)
    with pytest.raises(PermissionDenied):
        services.plan_create(actor=planner, name="p", area_code=board.district.code)
    with pytest.raises(PermissionDenied):
        services.plan_create(actor=UserFactory(), name="p", area_code=board.town.code)


# --- constraints --------------------------------------------------------------------------
def test_more_than_seven_villages_is_refused(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[2, 3, 4, 7, 8, 9, 6])
    assert refused(board, plan, 1, board.b) == [
        msg(services.MSG_TOO_MANY, station=board.b.code, count=8, max=7)
    ]


def test_fewer_than_three_villages_is_refused(board):
    plan = board.plan(a=[0, 5, 10], b=[1, 2, 6])
    assert refused(board, plan, 0, board.b) == [
        msg(services.MSG_TOO_FEW, station=board.a.code, count=2, min=3)
    ]


def test_a_village_of_another_town_is_refused(board):
    plan = board.plan(a=[0, 5, 10, 1])
    assert refused(board, plan, 1, board.c) == [
        msg(services.MSG_OTHER_TOWN, village=board.code(1), station=board.c.code)
    ]


def test_a_detached_village_is_refused_for_the_gaining_station(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[3, 4, 8, 9])
    assert refused(board, plan, 10, board.b) == [
        msg(services.MSG_NOT_CONTIGUOUS, station=board.b.code)
    ]


def test_splitting_the_losing_station_is_refused(board):
    plan = board.plan(a=[0, 1, 2, 3], b=[5, 6, 7])
    assert refused(board, plan, 1, board.b) == [
        msg(services.MSG_NOT_CONTIGUOUS, station=board.a.code)
    ]


def test_touching_at_a_corner_is_not_adjacent(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[6, 7, 8])
    assert refused(board, plan, 10, board.b) == [
        msg(services.MSG_NOT_CONTIGUOUS, station=board.b.code)
    ]


def test_an_allowed_link_counts_as_adjacent(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[3, 4, 8, 9])
    AllowedLink.objects.create(village_a=board.code(9), village_b=board.code(10), note="bridge")
    services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(10), station=board.b.code
    )
    assert board.station_of(plan, 10) == board.b.code


def test_a_valid_move_is_applied_and_logged(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[2, 3, 4])
    (change,) = services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(1), station=board.b.code
    )
    assert board.station_of(plan, 1) == board.b.code
    assert (change.seq, change.batch, change.from_station.code, change.to_station.code) == (
        1,
        1,
        board.a.code,
        board.b.code,
    )
    assert change.override_reason == "" and change.by == board.actor


def test_override_with_a_written_reason_is_applied_and_kept(board):
    plan = board.plan(a=[0, 5, 10], b=[1, 2, 6])
    with pytest.raises(ValidationError):
        services.plan_assign(
            actor=board.actor,
            plan=plan,
            village_code=board.code(0),
            station=board.b.code,
            override_reason="   ",
        )
    (change,) = services.plan_assign(
        actor=board.actor,
        plan=plan,
        village_code=board.code(0),
        station=board.b.code,
        override_reason="Station A closes next year.",
    )
    assert board.station_of(plan, 0) == board.b.code
    change.refresh_from_db()
    assert change.override_reason == "Station A closes next year."


def test_a_published_plan_is_not_edited(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[2, 3, 4])
    plan.status = "published"
    plan.effective_from, plan.published_at = timezone.localdate(), timezone.now()
    plan.save()
    with pytest.raises(ValidationError) as exc:
        services.plan_assign(
            actor=board.actor, plan=plan, village_code=board.code(1), station=board.b.code
        )
    assert exc.value.message_dict["plan"] == [msg(services.MSG_NOT_DRAFT, plan="draft")]


# --- undo / redo --------------------------------------------------------------------------
def test_undo_and_redo(board):
    plan = board.plan(a=[0, 5, 10, 1, 6], b=[2, 3, 4])
    for k in (1, 6):
        services.plan_assign(
            actor=board.actor, plan=plan, village_code=board.code(k), station=board.b.code
        )
    services.plan_undo(actor=board.actor, plan=plan)
    assert (board.station_of(plan, 1), board.station_of(plan, 6)) == (board.b.code, board.a.code)
    services.plan_undo(actor=board.actor, plan=plan)
    assert board.station_of(plan, 1) == board.a.code
    with pytest.raises(ValidationError) as exc:
        services.plan_undo(actor=board.actor, plan=plan)
    assert exc.value.message_dict["plan"] == [msg(services.MSG_NOTHING_TO_UNDO)]
    (redone,) = services.plan_redo(actor=board.actor, plan=plan)
    assert redone.seq == 1 and board.station_of(plan, 1) == board.b.code
    # A fresh edit ends the redo stack; the undone change stays in the log.
    services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(6), station=board.b.code
    )
    with pytest.raises(ValidationError) as exc:
        services.plan_redo(actor=board.actor, plan=plan)
    assert exc.value.message_dict["plan"] == [msg(services.MSG_NOTHING_TO_REDO)]
    assert list(plan.changes.values_list("seq", "undone", "discarded")) == [
        (1, False, False),
        (2, True, True),
        (3, False, False),
    ]


# --- CSV ----------------------------------------------------------------------------------
def test_csv_round_trip(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[2, 3, 4])
    services.plan_assign(
        actor=board.actor, plan=plan, village_code=board.code(1), station=board.b.code
    )
    text = services.plan_export_csv(plan)
    lines = text.splitlines()
    assert lines[0] == "village_code,station_code"
    assert f"{board.code(1)},{board.b.code}" in lines and f"{board.code(14)}," in lines
    other = services.plan_create(actor=board.actor, name="copy", area_code=board.district.code)
    changes = services.plan_import_csv(actor=board.actor, plan=other, text=text)
    assert [c.village_code for c in changes] == [board.code(1)]
    assert services.plan_export_csv(other) == text


def test_csv_import_reports_every_bad_line_and_writes_nothing(board):
    plan = board.plan(a=[0, 5, 10, 1], b=[2, 3, 4])
    text = "\n".join(
        [
            f"{board.code(1)},{board.b.code}",
            "990199999999,x",
            f"{board.code(2)},990199999S01",
            f"{board.code(3)},{board.c.code}",
            f"{board.code(1)},{board.a.code}",
            "only-one-column",
        ]
    )
    with pytest.raises(ValidationError) as exc:
        services.plan_import_csv(actor=board.actor, plan=plan, text=text)
    line = services.MSG_CSV_LINE
    assert exc.value.message_dict["csv"] == [
        msg(line, line=2, error=msg(services.MSG_CSV_UNKNOWN_VILLAGE, code="990199999999")),
        msg(line, line=3, error=msg(services.MSG_CSV_UNKNOWN_STATION, code="990199999S01")),
        msg(
            line,
            line=4,
            error=msg(services.MSG_CSV_OTHER_TOWN, village=board.code(3), station=board.c.code),
        ),
        msg(line, line=5, error=msg(services.MSG_CSV_DUPLICATE, code=board.code(1))),
        msg(line, line=6, error=msg(services.MSG_CSV_COLUMNS)),
    ]
    assert board.station_of(plan, 1) == board.a.code and not plan.changes.exists()


# --- statistics ---------------------------------------------------------------------------
def test_station_stats(board, django_assert_max_num_queries):
    plan = board.plan(a=[0, 1, 2], b=[3, 9, 14])
    grid = GridFactory(village=board.villages[0], geom=board.villages[0].geom)
    households = [HouseholdFactory(grid=grid, size=s) for s in (2, 5)]
    branch = PartyBranch.objects.create(name="branch", village=board.villages[1])
    PartyMember.objects.create(name="m", branch=branch, household=households[0])
    with django_assert_max_num_queries(4):
        stats = {row["code"]: row for row in plan_station_stats(plan, travel=False)}
    assert set(stats) == {board.a.code, board.b.code, board.c.code}
    a, b, c = stats[board.a.code], stats[board.b.code], stats[board.c.code]
    assert (a["village_count"], a["household_count"], a["population"]) == (3, 2, 7)
    assert a["party_member_count"] == 1 and a["contiguous"] is True
    assert (b["village_count"], b["household_count"], b["population"]) == (3, 0, 0)
    assert b["contiguous"] is False  # 3 touches 9 only at a corner; 9-14 share an edge
    assert (c["village_count"], c["contiguous"]) == (0, True)
