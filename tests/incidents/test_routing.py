"""incidents.routing: every rule of the engine (households.routing) as an incident meets it,
on a small literal world near lon 100, lat 0.

The world (``world`` fixture), in one district D (lon 100.0-100.4):

    lon 100.00 ------ 100.05 ------ 100.10 ------ 100.15 ------ 100.20 ------ 100.30 -- 100.40
        | grid W (001) | grid E (002) | village V2   | (no village) | town T2      | (no town)
        |<----- village V1 --------->| (no grid)    |              |              |
        |<------------------------- town T1 ------------------------>|              |

V1 and V2 belong to station S1. Every place has its people; tests remove or change them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext
from psycopg.types.range import Range

from grids.models import District, Generation, Role, RoleAssignment
from grids.services import boundary_supersede
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    TenHouseholdUnit,
)
from incidents import routing
from incidents.models import Category, CategoryResponder, Level, RecipientKind, Responder
from incidents.routing import OutsideEveryDistrict, render_explanation, route
from tests.factories import (
    CatchmentAssignmentFactory,
    DistrictFactory,
    GenerationFactory,
    GridFactory,
    RoleAssignmentFactory,
    StationFactory,
    TownFactory,
    VillageFactory,
    WorkerFactory,
    rect,
)

pytestmark = pytest.mark.django_db

# About 1.1 m per 0.00001 degree at the equator.
M = 1 / 111_320

# When the world's boundaries were drawn: long before any report in these tests.
WORLD_AGE = dt.timedelta(days=400)


def _since(days_ago: int, until_days_ago: int | None = None) -> Range:
    today = dt.date.today()
    end = today - dt.timedelta(days=until_days_ago) if until_days_ago is not None else None
    return Range(today - dt.timedelta(days=days_ago), end, "[)")


@dataclass
class World:
    generation: Generation
    district: object
    t1: object
    t2: object
    v1: object
    v2: object
    west: object
    east: object
    station: object
    people: dict[str, RoleAssignment]
    unit: TenHouseholdUnit
    central_worker: object

    def name(self, key: str) -> str:
        return self.people[key].worker.name


def _holder(key: str, role: Role, **place: object) -> RoleAssignment:
    return RoleAssignmentFactory(
        role=role, worker=WorkerFactory(name=key), period=_since(365), **place
    )


def world_generation() -> Generation:
    """A generation of its own, dated WORLD_AGE ago and newer than every other: existing
    generations (the demo's, say) move further back, inside the test's transaction."""
    Generation.objects.update(created_at=F("created_at") - dt.timedelta(days=3650))
    generation = GenerationFactory(description="test world")
    Generation.objects.filter(pk=generation.pk).update(created_at=timezone.now() - WORLD_AGE)
    generation.refresh_from_db()
    return generation


def build_world(generation: Generation) -> World:
    district = DistrictFactory(geom=rect(100.0, 0.0, 100.4, 0.1), generation_low=generation)
    t1 = TownFactory(district=district, geom=rect(100.0, 0.0, 100.2, 0.1))
    t2 = TownFactory(district=district, geom=rect(100.2, 0.0, 100.3, 0.1))
    v1 = VillageFactory(town=t1, geom=rect(100.0, 0.0, 100.1, 0.1))
    v2 = VillageFactory(town=t1, geom=rect(100.1, 0.0, 100.15, 0.1))
    west = GridFactory(village=v1, code=v1.code + "001", geom=rect(100.0, 0.0, 100.05, 0.1))
    east = GridFactory(village=v1, code=v1.code + "002", geom=rect(100.05, 0.0, 100.1, 0.1))
    station = StationFactory(town=t1)
    for village in (v1, v2):
        CatchmentAssignmentFactory(village=village, station=station)
    people = {
        "W leader": _holder("W leader", Role.GRID_LEADER, grid=west),
        "W guide": _holder("W guide", Role.PARTY_GUIDE, grid=west),
        "E leader": _holder("E leader", Role.GRID_LEADER, grid=east),
        "E guide": _holder("E guide", Role.PARTY_GUIDE, grid=east),
        "V1 secretary": _holder("V1 secretary", Role.VILLAGE_SECRETARY, village=v1),
        "V1 director": _holder("V1 director", Role.MEDIATION_DIRECTOR, village=v1),
        "V1 team A": _holder("V1 team A", Role.MEDIATION_TEAM, village=v1),
        "V1 team B": _holder("V1 team B", Role.MEDIATION_TEAM, village=v1),
        "V2 secretary": _holder("V2 secretary", Role.VILLAGE_SECRETARY, village=v2),
        "S1 head": _holder("S1 head", Role.STATION_HEAD, station=station),
        "T1 dispatcher": _holder("T1 dispatcher", Role.TOWN_DISPATCHER, town=t1),
        "T2 dispatcher": _holder("T2 dispatcher", Role.TOWN_DISPATCHER, town=t2),
    }
    # A ten-household unit in grid W around (100.01, 0.01), its central household a party
    # member who is also a worker.
    head = Household.objects.create(
        address="W road 1", location=Point(100.01, 0.01, srid=4326), head_name="Head", grid=west
    )
    branch = PartyBranch.objects.create(name="V1 branch", village=v1)
    central_worker = WorkerFactory(name="Central member")
    member = PartyMember.objects.create(
        name="Central member", branch=branch, household=head, worker=central_worker
    )
    central = CentralHousehold.objects.create(
        household=head, party_member=member, designated_on=dt.date(2024, 1, 1)
    )
    unit = TenHouseholdUnit.objects.create(
        name="W unit 1",
        grid=west,
        head_household=head,
        central_household=central,
        geom=Polygon.from_bbox((100.009, 0.009, 100.011, 0.011)),
    )
    head.ten_household_unit = unit
    head.save()
    return World(
        generation, district, t1, t2, v1, v2, west, east, station, people, unit, central_worker
    )


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture
def dispute() -> Category:
    return Category.objects.get(code="dispute")


def now() -> dt.datetime:
    return timezone.now()


def routed(result: routing.RoutingResult) -> dict[tuple[str, str], str]:
    """{(kind, responder): name}; fails if one (kind, responder) has two people."""
    out: dict[tuple[str, str], str] = {}
    for p in result.recipients:
        key = (p.kind, p.responder)
        if p.responder != Responder.MEDIATION_TEAM:
            assert key not in out, f"{key} twice"
        out[key] = p.name
    return out


def here(lon: float, lat: float, category: Category, severity: str) -> routing.RoutingResult:
    """Route an incident at (lon, lat) reported now."""
    return route(point=Point(lon, lat, srid=4326), at=now(), category=category, severity=severity)


def names(result: routing.RoutingResult, kind: str | None = None) -> set[str]:
    return {p.name for p in result.recipients if kind is None or p.kind == kind}


def has_part(result: routing.RoutingResult, msgid: str, **params: object) -> bool:
    return any(
        part["msgid"] == msgid and all(part["params"].get(k) == v for k, v in params.items())
        for part in result.explanation
    )


def end(assignment: RoleAssignment, days_ago: int = 30) -> None:
    """The assignment ended ``days_ago`` days ago (it started a year ago)."""
    assignment.period = _since(365, days_ago)
    assignment.save()


# --- where the point is -----------------------------------------------------------------------
def test_point_inside_a_grid_goes_to_that_grid_with_its_lineage(world, dispute):
    result = here(100.02, 0.05, dispute, "blue")

    assert result.grid.code == world.west.code
    assert result.grid.id == world.west.pk
    assert result.village.code == world.v1.code
    assert result.town.code == world.t1.code
    assert result.district.code == world.district.code
    assert result.generation == world.generation.pk
    assert result.place_code == world.west.code
    assert result.responsible_level == Level.GRID
    assert result.explanation[0] == {
        "msgid": routing.EXPLAIN_IN_GRID,
        "params": {"code": world.west.code, "name": world.west.name},
    }
    assert not names(result, RecipientKind.WATCHING)


def test_point_exactly_on_the_shared_edge_goes_to_the_smallest_code_and_the_other_watches(
    world, dispute
):
    result = here(100.05, 0.05, dispute, "blue")

    assert result.grid.code == world.west.code < world.east.code
    assert routed(result)[(RecipientKind.ROUTED, Responder.GRID_LEADER)] == "W leader"
    assert routed(result)[(RecipientKind.WATCHING, Responder.GRID_LEADER)] == "E leader"
    assert has_part(result, routing.EXPLAIN_WATCHING, code=world.east.code, name="E leader")


@pytest.mark.parametrize(
    ("metres_inside", "watched"),
    [(0.5, True), (10, True), (19, True), (21, False), (30, False)],
)
def test_a_point_near_the_edge_inside_east_gets_west_leader_watching_within_20_m(
    world, dispute, metres_inside, watched
):
    point = Point(100.05 + metres_inside * M, 0.05, srid=4326)
    result = route(point=point, at=now(), category=dispute, severity="blue")

    assert result.grid.code == world.east.code
    assert routed(result)[(RecipientKind.ROUTED, Responder.GRID_LEADER)] == "E leader"
    assert ("W leader" in names(result, RecipientKind.WATCHING)) is watched


def test_a_point_near_the_edge_inside_west_gets_east_leader_watching(world, dispute):
    result = route(
        point=Point(100.05 - 10 * M, 0.05, srid=4326), at=now(), category=dispute, severity="blue"
    )
    assert result.grid.code == world.west.code
    assert names(result, RecipientKind.WATCHING) == {"E leader"}


def test_a_neighbour_without_a_leader_is_named_in_the_explanation(world, dispute):
    end(world.people["E leader"])
    result = here(100.05, 0.05, dispute, "blue")
    assert not names(result, RecipientKind.WATCHING)
    assert has_part(result, routing.EXPLAIN_WATCHING_VACANT, code=world.east.code)


def test_point_in_a_village_but_no_grid_goes_to_the_secretary_and_the_station_head(world, dispute):
    result = here(100.12, 0.05, dispute, "blue")

    assert result.grid is None
    assert result.village.code == world.v2.code
    assert result.place_code == world.v2.code
    assert result.responsible_level == Level.VILLAGE
    people = routed(result)
    assert people[(RecipientKind.ROUTED, Responder.VILLAGE_SECRETARY)] == "V2 secretary"
    assert people[(RecipientKind.ROUTED, Responder.STATION_HEAD)] == "S1 head"
    assert not any(p.responder == Responder.GRID_LEADER for p in result.recipients)
    assert has_part(result, routing.EXPLAIN_IN_VILLAGE_NO_GRID, code=world.v2.code)


def test_point_in_a_town_but_no_village_goes_to_the_town_dispatcher(world, dispute):
    result = here(100.17, 0.05, dispute, "blue")

    assert (result.grid, result.village) == (None, None)
    assert result.town.code == world.t1.code
    assert result.place_code == world.t1.code
    assert result.responsible_level == Level.TOWN
    assert routed(result) == {(RecipientKind.ROUTED, Responder.TOWN_DISPATCHER): "T1 dispatcher"}
    assert has_part(result, routing.EXPLAIN_IN_TOWN_NO_VILLAGE, code=world.t1.code)


def test_point_in_the_district_but_no_town_goes_to_the_nearest_towns_dispatcher(world, dispute):
    # lon 100.32 is 2 km from T2 (ends at 100.30) and 13 km from T1.
    result = here(100.32, 0.05, dispute, "blue")

    assert result.town.code == world.t2.code
    assert result.district.code == world.district.code
    assert result.responsible_level == Level.TOWN
    assert routed(result) == {(RecipientKind.ROUTED, Responder.TOWN_DISPATCHER): "T2 dispatcher"}
    assert has_part(result, routing.EXPLAIN_NEAREST_TOWN, code=world.t2.code)


def test_point_outside_every_district_raises(world, dispute):
    with pytest.raises(OutsideEveryDistrict) as caught:
        here(101.5, 0.5, dispute, "blue")
    assert caught.value.message_dict == {"geometry": [gettext(routing.MSG_OUTSIDE_EVERY_DISTRICT)]}


def test_point_in_another_srid_is_transformed_first(world, dispute):
    point = Point(100.07, 0.03, srid=4326).transform(3857, clone=True)
    result = route(point=point, at=now(), category=dispute, severity="blue")
    assert result.grid.code == world.east.code


# --- vacancies ------------------------------------------------------------------------------
def test_no_grid_leader_the_village_secretary_takes_it_and_the_explanation_says_so(world, dispute):
    end(world.people["W leader"])
    result = here(100.02, 0.05, dispute, "blue")

    leader = [p for p in result.recipients if p.responder == Responder.GRID_LEADER]
    assert [(p.kind, p.role, p.name) for p in leader] == [
        (RecipientKind.ROUTED, Role.VILLAGE_SECRETARY, "V1 secretary")
    ]
    assert has_part(
        result,
        routing.EXPLAIN_VACANT_FALLBACK,
        responder={"msgid": "grid leader"},
        role={"msgid": "village party secretary"},
        name="V1 secretary",
    )
    with translation.override("en"):
        assert "no grid leader: the village party secretary V1 secretary takes it" in (
            render_explanation(result.explanation)
        )


def test_no_party_guide_the_station_head_takes_it_and_the_explanation_says_so(world, dispute):
    world.people["W guide"].delete()
    result = here(100.02, 0.05, dispute, "blue")

    guide = [p for p in result.recipients if p.responder == Responder.PARTY_GUIDE]
    assert [(p.role, p.name) for p in guide] == [(Role.STATION_HEAD, "S1 head")]
    assert has_part(
        result,
        routing.EXPLAIN_VACANT_FALLBACK,
        responder={"msgid": "party-building guide"},
        role={"msgid": "station head"},
        name="S1 head",
    )


def test_no_leader_and_no_secretary_the_station_head_takes_it(world, dispute):
    end(world.people["W leader"])
    end(world.people["V1 secretary"])
    result = here(100.02, 0.05, dispute, "blue")
    leader = [p for p in result.recipients if p.responder == Responder.GRID_LEADER]
    assert [(p.role, p.name) for p in leader] == [(Role.STATION_HEAD, "S1 head")]


def test_nobody_at_any_level_is_said_and_nothing_fails(world, dispute):
    for key in ("W leader", "V1 secretary", "S1 head", "T1 dispatcher"):
        end(world.people[key])
    result = here(100.02, 0.05, dispute, "blue")
    assert not any(p.responder == Responder.GRID_LEADER for p in result.recipients)
    assert has_part(result, routing.EXPLAIN_VACANT_NOBODY, responder={"msgid": "grid leader"})


# --- severity tiers (data) -----------------------------------------------------------------
def test_blue_reaches_leader_guide_central_household_and_mediation_director(world, dispute):
    result = here(100.02, 0.05, dispute, "blue")

    assert routed(result) == {
        (RecipientKind.ROUTED, Responder.GRID_LEADER): "W leader",
        (RecipientKind.ROUTED, Responder.PARTY_GUIDE): "W guide",
        (RecipientKind.ROUTED, Responder.CENTRAL_HOUSEHOLD): "Central member",
        (RecipientKind.ROUTED, Responder.MEDIATION_DIRECTOR): "V1 director",
    }
    assert result.responsible_level == Level.GRID
    central = next(p for p in result.recipients if p.responder == Responder.CENTRAL_HOUSEHOLD)
    assert central.worker_id == world.central_worker.pk


def test_yellow_adds_the_village_mediation_team_and_is_a_village_matter(world, dispute):
    result = here(100.02, 0.05, dispute, "yellow")

    team = sorted(p.name for p in result.recipients if p.responder == Responder.MEDIATION_TEAM)
    assert team == ["V1 team A", "V1 team B"]
    assert {"W leader", "W guide", "Central member", "V1 director"} <= names(result)
    assert result.responsible_level == Level.VILLAGE
    assert has_part(result, routing.EXPLAIN_TEAM_ADDED, severity={"msgid": "yellow"})


def test_red_goes_to_the_dispatcher_the_grid_leader_and_the_dispatcher_for_nobody_on_duty(
    world, dispute
):
    """Issue 12 item 4: red reaches the grid leader on the spot and the town's on-duty officer
    as well as the dispatcher; with nobody on duty that day the dispatcher takes the
    on-duty officer's part, and the explanation (recorded with the incident) says so."""
    result = here(100.02, 0.05, dispute, "red")

    assert routed(result) == {
        (RecipientKind.ROUTED, Responder.GRID_LEADER): "W leader",
        (RecipientKind.ROUTED, Responder.TOWN_DISPATCHER): "T1 dispatcher",
        (RecipientKind.ROUTED, Responder.TOWN_DUTY_OFFICER): "T1 dispatcher",
        (RecipientKind.COPIED, Responder.PARTY_GUIDE): "W guide",
    }
    fallback = next(p for p in result.recipients if p.responder == Responder.TOWN_DUTY_OFFICER)
    assert fallback.role == Role.TOWN_DISPATCHER
    assert has_part(
        result,
        routing.EXPLAIN_VACANT_FALLBACK,
        responder={"msgid": "town on-duty officer"},
        role={"msgid": "town platform dispatcher"},
        name="T1 dispatcher",
    )
    assert result.responsible_level == Level.TOWN


def test_red_reaches_the_officer_on_duty_that_day(world, dispute):
    today = timezone.localdate()
    day = dt.timedelta(days=1)
    for name, first in (("T1 on duty", today), ("T1 tomorrow", today + day)):
        RoleAssignmentFactory(
            role=Role.TOWN_DUTY_OFFICER,
            worker=WorkerFactory(name=name),
            town=world.t1,
            period=Range(first, first + day, "[)"),
        )

    result = here(100.02, 0.05, dispute, "red")

    assert routed(result)[(RecipientKind.ROUTED, Responder.TOWN_DUTY_OFFICER)] == "T1 on duty"
    assert "T1 tomorrow" not in {p.name for p in result.recipients}


def test_yellow_reaches_the_village_team(world, dispute):
    _holder("V1 lawyer", Role.VILLAGE_LAWYER, village=world.v1)
    _holder("V1 police", Role.AUXILIARY_POLICE, village=world.v1)

    result = here(100.02, 0.05, dispute, "yellow")

    people = routed(result)
    assert people[(RecipientKind.ROUTED, Responder.VILLAGE_LAWYER)] == "V1 lawyer"
    assert people[(RecipientKind.ROUTED, Responder.AUXILIARY_POLICE)] == "V1 police"
    assert people[(RecipientKind.ROUTED, Responder.VILLAGE_SECRETARY)] == "V1 secretary"
    # Data, not code: a district admin takes the lawyer off yellow for this category.
    CategoryResponder.objects.filter(
        category=dispute, severity="yellow", responder=Responder.VILLAGE_LAWYER
    ).delete()
    after = here(100.02, 0.05, dispute, "yellow")
    assert (RecipientKind.ROUTED, Responder.VILLAGE_LAWYER) not in routed(after)


def test_the_guide_is_copied_even_when_the_category_leaves_the_guide_out(world, dispute):
    CategoryResponder.objects.filter(
        category=dispute, severity="blue", responder=Responder.PARTY_GUIDE
    ).delete()
    result = here(100.02, 0.05, dispute, "blue")
    assert routed(result)[(RecipientKind.COPIED, Responder.PARTY_GUIDE)] == "W guide"
    assert (RecipientKind.ROUTED, Responder.PARTY_GUIDE) not in routed(result)


def test_responders_are_data_a_row_added_is_routed(world, dispute):
    before = here(100.02, 0.05, dispute, "blue")
    CategoryResponder.objects.create(
        category=dispute, severity="blue", responder=Responder.STATION_HEAD
    )
    after = here(100.02, 0.05, dispute, "blue")

    assert "S1 head" not in names(before)
    assert routed(after)[(RecipientKind.ROUTED, Responder.STATION_HEAD)] == "S1 head"


def test_a_new_category_with_its_own_tiers_routes_by_them(world):
    noise = Category.objects.create(code="noise", name_zh="噪音", name_en="Noise")
    CategoryResponder.objects.create(
        category=noise, severity="blue", responder=Responder.VILLAGE_SECRETARY
    )
    result = here(100.02, 0.05, noise, "blue")
    assert routed(result) == {
        (RecipientKind.ROUTED, Responder.VILLAGE_SECRETARY): "V1 secretary",
        (RecipientKind.COPIED, Responder.PARTY_GUIDE): "W guide",
    }


# --- the central household --------------------------------------------------------------------
def test_a_point_far_from_any_unit_gets_the_nearest_unit_of_its_grid(world, dispute):
    result = here(100.04, 0.09, dispute, "blue")
    assert routed(result)[(RecipientKind.ROUTED, Responder.CENTRAL_HOUSEHOLD)] == "Central member"


def test_a_central_household_without_a_worker_is_named_and_skipped(world, dispute):
    PartyMember.objects.update(worker=None)
    result = here(100.01, 0.01, dispute, "blue")
    assert not any(p.responder == Responder.CENTRAL_HOUSEHOLD for p in result.recipients)
    assert has_part(
        result, routing.EXPLAIN_CENTRAL_NO_WORKER, unit="W unit 1", name="Central member"
    )


def test_a_grid_without_units_says_no_central_household(world, dispute):
    result = here(100.07, 0.05, dispute, "blue")
    assert result.grid.code == world.east.code
    assert has_part(result, routing.EXPLAIN_CENTRAL_NONE)


# --- time: boundaries and people as they were ---------------------------------------------
def test_routing_at_a_past_time_after_a_boundary_change_uses_the_old_grid(world, dispute):
    old_west = world.west
    before_change = timezone.now() - dt.timedelta(days=20)
    new_generation = GenerationFactory(description="west shrinks")
    Generation.objects.filter(pk=new_generation.pk).update(
        created_at=timezone.now() - dt.timedelta(days=10)
    )
    new_generation.refresh_from_db()
    new_west = boundary_supersede(
        old_west, generation=new_generation, geom=rect(100.0, 0.0, 100.03, 0.1)
    )
    point = Point(100.04, 0.05, srid=4326)  # in the old west, in no grid of the new generation

    then = route(point=point, at=before_change, category=dispute, severity="blue")
    today = route(point=point, at=now(), category=dispute, severity="blue")

    assert then.generation == world.generation.pk
    assert then.grid.id == old_west.pk != new_west.pk
    # The leader's assignment followed the new row; it still counts for the old time.
    assert routed(then)[(RecipientKind.ROUTED, Responder.GRID_LEADER)] == "W leader"
    assert today.generation == new_generation.pk
    assert today.grid is None
    assert today.village.code == world.v1.code
    # And inside the new west, today routes to the new row.
    inside = here(100.01, 0.05, dispute, "blue")
    assert inside.grid.id == new_west.pk


def test_routing_uses_the_leader_of_the_reported_time_not_todays(world, dispute):
    end(world.people["W leader"], days_ago=10)
    RoleAssignmentFactory(
        grid=world.west,
        role=Role.GRID_LEADER,
        worker=WorkerFactory(name="New leader"),
        period=_since(10),
    )
    point = Point(100.02, 0.05, srid=4326)

    then = route(point=point, at=now() - dt.timedelta(days=20), category=dispute, severity="blue")
    today = route(point=point, at=now(), category=dispute, severity="blue")

    assert routed(then)[(RecipientKind.ROUTED, Responder.GRID_LEADER)] == "W leader"
    assert routed(today)[(RecipientKind.ROUTED, Responder.GRID_LEADER)] == "New leader"


def test_a_report_dated_before_every_generation_uses_the_first_with_districts(world, dispute):
    long_ago = min(Generation.objects.values_list("created_at", flat=True)) - dt.timedelta(days=1)
    params = routing.routing_params(
        point=Point(100.02, 0.05, srid=4326), at=long_ago, category_id=dispute.pk, severity="blue"
    )
    first_with_districts = District.objects.order_by("generation_low").values_list(
        "generation_low", flat=True
    )[0]
    assert routing._lookup(params)["generation"] == first_with_districts


def test_routing_is_one_statement(world, dispute, django_assert_num_queries):
    with django_assert_num_queries(1):
        here(100.05, 0.05, dispute, "yellow")


# --- the explanation in words -----------------------------------------------------------------
def test_the_explanation_reads_as_one_sentence_in_the_readers_language(world, dispute):
    result = here(100.02, 0.05, dispute, "yellow")
    with translation.override("en"):
        english = render_explanation(result.explanation)
    with translation.override("zh-hans"):
        chinese = render_explanation(result.explanation)
    assert english.startswith(
        f"In grid {world.west.code} ({world.west.name}); grid leader W leader"
    )
    assert english.endswith("responsible level: village.")
    assert "yellow: the village mediation team is added" in english
    assert chinese.startswith(f"位于网格 {world.west.code}（{world.west.name}）；网格长W leader；")
    assert chinese.endswith("责任层级：村（社区）。")
    assert "黄色预警：增派村调解队" in chinese
