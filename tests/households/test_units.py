"""Ten-household units: created from picked households, routed to the grid's leader and guide,
saved with warnings outside the norm; the units layer and the households bbox filter."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import AccountRole
from grids.models import Role
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    TenHouseholdUnit,
)
from households.notifications import MSG_NEW_UNIT
from households.services import (
    MSG_ALREADY_IN_UNIT,
    MSG_MEMBERS_REQUIRED,
    MSG_UNKNOWN_HOUSEHOLDS,
    WARN_CENTRAL_HOUSEHOLD_FAR,
    WARN_UNIT_GRIDS,
    WARN_UNIT_SIZE,
    ten_household_unit_create,
    ten_household_units_warn,
)
from inbox.models import Notification
from tests.factories import (
    AccountFactory,
    HouseholdFactory,
    RoleAssignmentFactory,
    WorkerFactory,
)

pytestmark = pytest.mark.django_db
URL = reverse("ten-household-unit-list")
HOUSEHOLDS = reverse("household-list")
STEP = 0.0002  # about 22 m between neighbouring households


def zh(msgid: str, **params: object) -> str:
    """A message as the zh-hans UI (the default language) shows it."""
    with translation.override("zh-hans"):
        return gettext(msgid) % params


@pytest.fixture
def place(two_grids):
    west, east = two_grids
    leader = RoleAssignmentFactory(
        role=Role.GRID_LEADER, grid=west, worker=WorkerFactory(name="王网格长")
    ).worker
    guide = RoleAssignmentFactory(
        role=Role.PARTY_GUIDE, grid=west, worker=WorkerFactory(name="李指导员")
    ).worker
    staff = AccountFactory(role=AccountRole.VILLAGE_STAFF, codes=[west.village.code])
    return {"west": west, "east": east, "leader": leader, "guide": guide, "user": staff.user}


def row(n: int, *, grid, x0: float = 100.01, y: float = 0.01) -> list[Household]:
    """``n`` households in a row eastwards from (x0, y), in ``grid``."""
    return [
        HouseholdFactory(location=Point(x0 + i * STEP, y, srid=4326), grid=grid) for i in range(n)
    ]


def post(api_client, user, members: list[Household], **extra):
    api_client.force_authenticate(user)
    body = {
        "name": "第一十户",
        "head_household": members[0].id if members else extra.pop("head"),
        "central_household": None,
        "members": [m.id for m in members],
        **extra,
    }
    return api_client.post(URL, body, format="json")


def central_household_at(household: Household) -> CentralHousehold:
    branch = PartyBranch.objects.create(name="村党支部", village=household.grid.village)
    member = PartyMember.objects.create(name="党员甲", branch=branch, household=household)
    return CentralHousehold.objects.create(
        household=household, party_member=member, designated_on=dt.date(2024, 1, 1)
    )


# --- creating units -------------------------------------------------------------------------
def test_ten_households_make_a_unit_without_warnings(api_client, place):
    members = row(10, grid=place["west"])
    res = post(api_client, place["user"], members)
    assert res.status_code == 201, res.json()
    body = res.json()
    assert body["households"] == 10 and body["warnings"] == []
    assert body["grid"] == {"code": place["west"].code, "name": place["west"].name}
    unit = TenHouseholdUnit.objects.get(pk=body["id"])
    assert unit.head_household_id == members[0].id and unit.created_by == place["user"]
    assert set(unit.members.values_list("id", flat=True)) == {m.id for m in members}


def test_the_geometry_covers_every_member(api_client, place):
    members = row(10, grid=place["west"])
    body = post(api_client, place["user"], members).json()
    area = GEOSGeometry(str(body["geometry"]).replace("'", '"'), srid=4326)
    assert area.geom_type == "Polygon"
    for m in members:
        assert area.contains(m.location)
    stored = TenHouseholdUnit.objects.get(pk=body["id"]).geom
    assert all(stored.contains(m.location) for m in members)


def test_leader_and_guide_are_told(api_client, place):
    members = row(10, grid=place["west"])
    body = post(api_client, place["user"], members).json()

    names = {r["name"] for r in body["recipients"]}
    assert {"王网格长", "李指导员"} <= names
    assert {"name", "phone", "responder", "role"} <= set(body["recipients"][0])
    assert "王网格长" in body["explanation"]
    told = Notification.objects.filter(subject_type="ten_household_unit", subject_id=body["id"])
    assert {place["leader"].id, place["guide"].id} <= set(told.values_list("worker_id", flat=True))
    assert set(told.values_list("link", flat=True)) == {f"/map/#ten-household-unit-{body['id']}"}
    assert Notification.objects.count() == told.count()
    leader_entry = told.get(worker=place["leader"])
    assert leader_entry.kind == "routed"
    assert leader_entry.message["msgid"] == MSG_NEW_UNIT
    assert leader_entry.message["params"]["count"] == 10


@pytest.mark.parametrize("size", [5, 17])
def test_a_unit_outside_8_to_15_households_is_saved_with_a_warning(api_client, place, size):
    res = post(api_client, place["user"], row(size, grid=place["west"]))
    assert res.status_code == 201
    assert res.json()["warnings"] == [zh(WARN_UNIT_SIZE, count=size)]
    unit = TenHouseholdUnit.objects.get(pk=res.json()["id"])
    assert unit.warnings == [{"msgid": WARN_UNIT_SIZE, "params": {"count": size}}]


@pytest.mark.parametrize("size", [8, 15])
def test_8_and_15_households_are_within_the_norm(api_client, place, size):
    res = post(api_client, place["user"], row(size, grid=place["west"]))
    assert res.json()["warnings"] == []


def test_a_unit_spanning_two_grids_is_saved_with_a_warning(api_client, place):
    west, east = place["west"], place["east"]
    # Five on each side of the shared edge at lon 100.05.
    members = row(5, grid=west, x0=100.0491) + row(5, grid=east, x0=100.0501)
    res = post(api_client, place["user"], members)
    assert res.status_code == 201
    codes = ", ".join(sorted([west.code, east.code]))
    assert res.json()["warnings"] == [zh(WARN_UNIT_GRIDS, count=2, codes=codes)]
    # The unit's grid is the head household's.
    assert res.json()["grid"]["code"] == west.code


def test_a_household_already_in_a_unit_is_refused_by_name(api_client, place):
    first = row(10, grid=place["west"])
    assert post(api_client, place["user"], first).status_code == 201
    taken = first[3]
    again = [*row(9, grid=place["west"], y=0.02), taken]

    res = post(api_client, place["user"], again)
    assert res.status_code == 400
    message = zh(
        MSG_ALREADY_IN_UNIT, household=f"{taken.address} ({taken.head_name})", unit="第一十户"
    )
    assert res.json()["errors"]["members"] == [message]
    assert taken.address in message
    # Nothing half-written.
    assert not Household.objects.filter(pk__in=[h.id for h in again[:-1]]).exclude(
        ten_household_unit=None
    )
    assert TenHouseholdUnit.objects.filter(head_household=again[0]).count() == 0


def test_a_household_outside_the_jurisdiction_is_refused(api_client, place):
    west, east = place["west"], place["east"]
    grid_worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[west.code]).user
    foreign = HouseholdFactory(location=Point(100.07, 0.01, srid=4326), grid=east)
    members = [*row(9, grid=west), foreign]

    res = post(api_client, grid_worker, members)
    assert res.status_code == 400
    assert res.json()["errors"]["members"] == [zh(MSG_UNKNOWN_HOUSEHOLDS, ids=str(foreign.id))]
    assert not TenHouseholdUnit.objects.filter(head_household=members[0]).exists()
    assert not Notification.objects.filter(worker=place["leader"]).exists()


def test_an_unknown_head_household_is_refused(api_client, place):
    members = row(3, grid=place["west"])
    res = post(api_client, place["user"], members, head_household=10**12)
    assert res.status_code == 400 and "head_household" in res.json()["errors"]


def test_an_empty_member_list_is_refused(api_client, place):
    head = row(1, grid=place["west"])[0]
    res = post(api_client, place["user"], [], head=head.id)
    assert res.status_code == 400
    assert res.json()["errors"]["members"] == [zh(MSG_MEMBERS_REQUIRED)]


def test_the_head_household_is_a_member_even_when_not_listed(api_client, place):
    head, *others = row(10, grid=place["west"])
    res = post(api_client, place["user"], others, head_household=head.id)
    assert res.status_code == 201
    assert res.json()["households"] == 10 and res.json()["warnings"] == []
    assert Household.objects.get(pk=head.id).ten_household_unit_id == res.json()["id"]


def test_a_central_household_near_the_members_is_fine_a_far_one_is_flagged(api_client, place):
    near = central_household_at(row(1, grid=place["west"], y=0.0105)[0])  # ~55 m away
    far = central_household_at(row(1, grid=place["west"], y=0.02)[0])  # ~1.1 km away

    res = post(api_client, place["user"], row(10, grid=place["west"]), central_household=near.id)
    assert res.status_code == 201 and res.json()["warnings"] == []
    assert TenHouseholdUnit.objects.get(pk=res.json()["id"]).central_household == near

    res = post(
        api_client,
        place["user"],
        row(10, grid=place["west"], y=0.03),
        central_household=far.id,
    )
    assert res.status_code == 201
    [warning] = TenHouseholdUnit.objects.get(pk=res.json()["id"]).warnings
    assert warning["msgid"] == WARN_CENTRAL_HOUSEHOLD_FAR
    assert 1000 < warning["params"]["distance"] < 1200


def test_an_unknown_central_household_is_refused(api_client, place):
    res = post(api_client, place["user"], row(10, grid=place["west"]), central_household=10**12)
    assert res.status_code == 400 and "central_household" in res.json()["errors"]


def test_the_service_refuses_without_the_api(place):
    members = row(3, grid=place["west"])
    outsider = AccountFactory(role=AccountRole.GRID_WORKER, codes=[place["east"].code]).user
    with pytest.raises(ValidationError) as exc:
        ten_household_unit_create(
            actor=outsider,
            name="越界",
            head_household=members[0],
            member_ids=[m.id for m in members],
        )
    assert set(exc.value.message_dict) == {"head_household", "members"}


@pytest.mark.parametrize("size", [3, 10])
def test_the_set_based_warnings_are_the_applications(api_client, place, size):
    """``ten_household_units_warn`` (the import's, for many units at once) stores the warnings
    ``ten_household_unit_create`` gives: size, two grids, a far central household."""
    west, east = place["west"], place["east"]
    far = central_household_at(row(1, grid=west, y=0.02)[0])
    half = size // 2
    members = row(size - half, grid=west, x0=100.0491) + row(half, grid=east, x0=100.0501)
    res = post(api_client, place["user"], members, central_household=far.id)
    assert res.status_code == 201
    unit = TenHouseholdUnit.objects.get(pk=res.json()["id"])
    expected = unit.warnings
    assert [w["msgid"] for w in expected][-2:] == [WARN_UNIT_GRIDS, WARN_CENTRAL_HOUSEHOLD_FAR]
    TenHouseholdUnit.objects.filter(pk=unit.pk).update(warnings=[])
    assert ten_household_units_warn(ids=[unit.pk]) == 1
    unit.refresh_from_db()
    assert unit.warnings == expected


# --- the units layer ------------------------------------------------------------------------
def test_units_layer_is_a_feature_collection_for_a_bbox_in_the_jurisdiction(
    api_client, place, django_assert_num_queries
):
    near = central_household_at(row(1, grid=place["west"], y=0.0105)[0])
    ok = post(api_client, place["user"], row(10, grid=place["west"]), central_household=near.id)
    small = post(api_client, place["user"], row(5, grid=place["west"], y=0.05))
    other_user = AccountFactory(role=AccountRole.GRID_WORKER, codes=[place["east"].code]).user

    api_client.force_authenticate(place["user"])
    with django_assert_num_queries(2):  # ids in the bbox + the collection
        body = api_client.get(URL, {"bbox": "100.0,0.0,100.05,0.02"}).json()
    assert body["type"] == "FeatureCollection" and body["truncated"] is False
    assert [f["id"] for f in body["features"]] == [ok.json()["id"]]
    props = body["features"][0]["properties"]
    assert props == {
        "id": ok.json()["id"],
        "name": "第一十户",
        "grid_code": place["west"].code,
        "households": 10,
        "has_central_household": True,
        "warnings": [],
    }
    assert body["features"][0]["geometry"]["type"] == "Polygon"

    everything = api_client.get(URL).json()
    by_id = {f["id"]: f["properties"] for f in everything["features"]}
    assert by_id[small.json()["id"]]["warnings"] == [zh(WARN_UNIT_SIZE, count=5)]
    assert by_id[small.json()["id"]]["has_central_household"] is False

    api_client.force_authenticate(other_user)
    assert api_client.get(URL).json()["features"] == []


# --- households for picking on the map ------------------------------------------------------
def test_households_can_be_filtered_by_bbox_and_show_unit_and_central_household(api_client, place):
    inside = row(3, grid=place["west"], y=0.04)
    outside = row(2, grid=place["west"], y=0.08)
    central = central_household_at(inside[1])
    unit = post(api_client, place["user"], inside[:1]).json()["id"]

    api_client.force_authenticate(place["user"])
    res = api_client.get(HOUSEHOLDS, {"bbox": "100.0,0.035,100.1,0.045", "page_size": 5000})
    features = {f["id"]: f["properties"] for f in res.json()["features"]}
    assert set(features) == {h.id for h in inside}
    assert not set(features) & {h.id for h in outside}
    assert features[inside[0].id]["ten_household_unit"] == unit
    assert features[inside[1].id]["ten_household_unit"] is None
    assert features[inside[1].id]["is_central_household"] is True
    assert features[inside[1].id]["central_household"] == central.id
    assert features[inside[2].id]["is_central_household"] is False

    bad = api_client.get(HOUSEHOLDS, {"bbox": "east,of,here"})
    assert bad.status_code == 400 and "bbox" in bad.json()["errors"]


def test_creating_a_unit_takes_the_same_queries_for_any_number_of_members(api_client, place):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for y, size in ((0.01, 8), (0.03, 15)):
        members = row(size, grid=place["west"], y=y)
        # A fresh user object, as every real request has (accounts.selectors caches the
        # identity on it).
        user = type(place["user"]).objects.get(pk=place["user"].pk)
        with CaptureQueriesContext(connection) as ctx:
            assert post(api_client, user, members).status_code == 201
        counts.append(len(ctx.captured_queries))
    # (18 before the delivery records: the workers' addresses and one insert)
    assert counts[0] == counts[1] <= 20


def test_deleting_a_unit_deletes_its_entries(api_client, place):
    first = post(api_client, place["user"], row(10, grid=place["west"])).json()
    second = post(api_client, place["user"], row(10, grid=place["west"], y=0.03), name="第二十户")
    second = second.json()
    assert Notification.objects.filter(subject_id=first["id"]).exists()

    TenHouseholdUnit.objects.get(pk=first["id"]).delete()
    assert set(Notification.objects.values_list("subject_type", "subject_id")) == {
        ("ten_household_unit", second["id"])
    }
