"""Sign-ins (issue 14, acceptance 1): inside accepted; 300 m outside refused with the reason;
a GCJ-02 position converted and judged on an edge; one per half-day; an offline sign-in sent
later keeps its time. Against PostGIS: ``presence.signins`` and ``/api/presence/sign-ins/``."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from grids import coords
from grids.models import Role
from presence.models import Activity, Half, PlaceLevel, ScheduleDay, SignIn
from presence.signins import SignInRefused, sign_in
from tests.factories import (
    CatchmentAssignmentFactory,
    StationFactory,
    UserFactory,
    VillageFactory,
    rect,
)
from tests.presence.field_places import area, moved, square_grid, worker_with_login

pytestmark = pytest.mark.django_db

LON, LAT = 115.0, 30.0
URL = "/api/presence/sign-ins/"


@pytest.fixture
def place():
    """A 1 km grid inside a 5 km village, and its grid leader with a login."""
    places = area(LON, LAT)
    grid = square_grid(LON + 0.01, LAT + 0.01, 1000, village=places["village"], name="和平网格")
    leader = worker_with_login(Role.GRID_LEADER, grid=grid)
    return {**places, "grid": grid, "leader": leader}


def yesterday_at(hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def centre(grid) -> Point:
    return grid.geom.point_on_surface


def east_edge(grid) -> tuple[float, float]:
    x0, y0, x1, y1 = grid.geom.extent
    return x1, (y0 + y1) / 2


# --- the service ------------------------------------------------------------------------------
def test_inside_the_grid_is_accepted(place):
    record, created = sign_in(
        place["leader"], at=yesterday_at(9), point=centre(place["grid"]), accuracy_m=15
    )
    assert created
    assert record.verdict == SignIn.Verdict.INSIDE
    assert (record.place_level, record.place_code) == (PlaceLevel.GRID, place["grid"].code)
    assert record.role == Role.GRID_LEADER
    assert record.distance_m == 0
    assert (record.day, record.half) == (yesterday_at(9).date(), Half.MORNING)


def test_300_m_outside_is_refused_with_the_reason(place):
    lon, lat = moved(*east_edge(place["grid"]), east=300)
    with pytest.raises(SignInRefused) as refused:
        sign_in(place["leader"], at=yesterday_at(9), point=Point(lon, lat, srid=4326),
                accuracy_m=10)  # fmt: skip
    error = refused.value
    assert error.reason == "outside"
    assert error.distance_m == pytest.approx(300, abs=3)
    assert error.place == {"level": "grid", "code": place["grid"].code, "name": "和平网格"}
    assert "和平网格" in error.message and "300" in error.message
    assert not SignIn.objects.exists()


def test_outside_with_a_reason_is_accepted_as_outside(place):
    lon, lat = moved(*east_edge(place["grid"]), east=300)
    record, _ = sign_in(place["leader"], at=yesterday_at(9), point=Point(lon, lat, srid=4326),
                        accuracy_m=10, note="在镇上开会")  # fmt: skip
    assert record.verdict == SignIn.Verdict.OUTSIDE
    assert record.note == "在镇上开会"
    assert record.distance_m == pytest.approx(300, abs=3)


def test_within_200_m_is_near(place):
    lon, lat = moved(*east_edge(place["grid"]), east=120)
    record, _ = sign_in(place["leader"], at=yesterday_at(9), point=Point(lon, lat, srid=4326),
                        accuracy_m=10)  # fmt: skip
    assert record.verdict == SignIn.Verdict.NEAR
    assert record.distance_m == pytest.approx(120, abs=2)


def test_an_imprecise_fix_is_refused(place):
    with pytest.raises(SignInRefused) as refused:
        sign_in(place["leader"], at=yesterday_at(9), point=centre(place["grid"]), accuracy_m=800)
    assert refused.value.reason == "inaccurate"
    assert "800" in refused.value.message


def test_one_per_half_day(place):
    leader, point = place["leader"], centre(place["grid"])
    first, _ = sign_in(leader, at=yesterday_at(9, 5), point=point, accuracy_m=10)
    with pytest.raises(SignInRefused) as refused:
        sign_in(leader, at=yesterday_at(11, 30), point=point, accuracy_m=10)
    assert refused.value.reason == "already"
    assert "09:05" in refused.value.message
    afternoon, created = sign_in(leader, at=yesterday_at(14), point=point, accuracy_m=10)
    assert created and afternoon.half == Half.AFTERNOON
    # A resend of the first (same client_uuid) returns it.
    again, created = sign_in(leader, at=yesterday_at(9, 5), point=point, accuracy_m=10,
                             client_uuid=first.client_uuid)  # fmt: skip
    assert (again.pk, created) == (first.pk, False)
    assert SignIn.objects.count() == 2


def test_an_offline_sign_in_sent_later_keeps_its_time(place):
    made = yesterday_at(8, 40) - dt.timedelta(days=2)
    record, _ = sign_in(place["leader"], at=made, point=centre(place["grid"]), accuracy_m=10)
    record.refresh_from_db()
    assert record.at == made
    assert record.day == timezone.localtime(made).date()
    assert record.received_at > made + dt.timedelta(days=2)


def test_too_old_is_refused_and_the_future_is_now(place):
    with pytest.raises(SignInRefused) as refused:
        sign_in(place["leader"], at=timezone.now() - dt.timedelta(days=8),
                point=centre(place["grid"]), accuracy_m=10)  # fmt: skip
    assert refused.value.reason == "too_late"
    before = timezone.now()
    record, _ = sign_in(place["leader"], at=timezone.now() + dt.timedelta(hours=3),
                        point=centre(place["grid"]), accuracy_m=10)  # fmt: skip
    assert before <= record.at <= timezone.now()


def test_a_worker_with_no_place_is_refused(place):
    nobody = worker_with_login(
        Role.GRID_MEMBER, grid=place["grid"], period=(dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    )
    with pytest.raises(SignInRefused) as refused:
        sign_in(nobody, at=yesterday_at(9), point=centre(place["grid"]), accuracy_m=10)
    assert refused.value.reason == "no_place"


def test_station_staff_sign_in_in_any_village_of_the_catchment(place):
    station = StationFactory(town=place["town"])
    x1, _ = moved(LON + 0.1, LAT, east=2000)
    _, y1 = moved(LON + 0.1, LAT, north=2000)
    other = VillageFactory(town=place["town"], geom=rect(LON + 0.1, LAT, x1, y1))
    CatchmentAssignmentFactory(station=station, village=place["village"])
    CatchmentAssignmentFactory(station=station, village=other)
    staff = worker_with_login(Role.STATION_WORKER, station=station)
    inside_other = Point(LON + 0.1 + 0.005, LAT + 0.005, srid=4326)
    record, _ = sign_in(staff, at=yesterday_at(9), point=inside_other, accuracy_m=10)
    assert (record.place_level, record.place_code) == ("station", station.code)
    assert record.verdict == SignIn.Verdict.INSIDE


# --- GCJ-02 on an edge, through the API -------------------------------------------------------
def test_a_gcj02_position_is_converted_and_judged_on_the_edge(place, api_client):
    """A point 5 m inside the grid's east edge in WGS84, sent as the phone's map gives it
    (GCJ-02, some hundreds of metres off): inside. The same numbers taken as WGS84 are not."""
    lon, lat = moved(*east_edge(place["grid"]), east=-5)
    gcj = coords.wgs84_to_gcj02_coords(np.array([[lon, lat]]))[0]
    assert abs(gcj[0] - lon) + abs(gcj[1] - lat) > 0.001  # GCJ-02 does move it
    api_client.force_authenticate(place["leader"].user)
    raw = {"lon": gcj[0], "lat": gcj[1], "accuracy": 8, "at": yesterday_at(9).isoformat()}
    wrong = api_client.post(URL, raw, format="json")
    assert wrong.status_code == 400 and wrong.json()["reason"] == "outside"
    response = api_client.post(URL, {**raw, "crs": "gcj02"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["verdict"] == "inside"
    assert body["place"]["code"] == place["grid"].code
    assert body["lon"] == pytest.approx(lon, abs=1e-6) and body["lat"] == pytest.approx(
        lat, abs=1e-6
    )


# --- the API ----------------------------------------------------------------------------------
def test_api_status_codes_and_messages(place, api_client):
    api_client.force_authenticate(place["leader"].user)
    key = str(uuid.uuid4())
    c = centre(place["grid"])
    body = {"lon": c.x, "lat": c.y, "accuracy": 12, "at": yesterday_at(15).isoformat(),
            "client_uuid": key}  # fmt: skip
    first = api_client.post(URL, body, format="json")
    assert first.status_code == 201
    assert first.json()["place"]["name"] == "和平网格"
    assert first.json()["half"] == Half.AFTERNOON
    again = api_client.post(URL, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    second = api_client.post(URL, {**body, "client_uuid": str(uuid.uuid4())}, format="json")
    assert second.status_code == 400 and second.json()["reason"] == "already"
    far = moved(*east_edge(place["grid"]), east=300)
    outside = api_client.post(URL, {"lon": far[0], "lat": far[1], "accuracy": 5}, format="json")
    assert outside.status_code == 400
    assert outside.json()["reason"] == "outside"
    assert outside.json()["distance_m"] == pytest.approx(300, abs=3)
    assert "和平网格" in outside.json()["detail"]
    bad = api_client.post(URL, {"lon": "x", "lat": 30, "accuracy": 5}, format="json")
    assert bad.status_code == 400 and bad.json()["detail"]
    listed = api_client.get(URL)
    assert [r["id"] for r in listed.json()["results"]] == [first.json()["id"]]


def test_a_login_without_a_worker_is_refused(api_client, place):
    api_client.force_authenticate(UserFactory())
    c = centre(place["grid"])
    response = api_client.post(URL, {"lon": c.x, "lat": c.y, "accuracy": 5}, format="json")
    assert response.status_code == 403 and response.json()["detail"]


def test_another_workers_sign_ins_only_within_the_jurisdiction(place, api_client):
    c = centre(place["grid"])
    sign_in(place["leader"], at=yesterday_at(9), point=c, accuracy_m=5)
    far = area(LON + 1, LAT + 1)
    far_grid = square_grid(LON + 1.01, LAT + 1.01, 1000, village=far["village"])
    stranger = worker_with_login(Role.GRID_LEADER, grid=far_grid)
    api_client.force_authenticate(stranger.user)
    response = api_client.get(URL, {"worker": place["leader"].pk})
    assert response.status_code == 404
    # The village secretary of the leader's village sees it.
    secretary = worker_with_login(Role.VILLAGE_SECRETARY, village=place["village"])
    api_client.force_authenticate(secretary.user)
    response = api_client.get(URL, {"worker": place["leader"].pk})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


# --- the pages --------------------------------------------------------------------------------
def test_the_phone_page_and_the_tracks_page(place, client):
    client.force_login(place["leader"].user)
    page = client.get("/field/today/")
    assert page.status_code == 200
    assert b'data-sample-seconds="10"' in page.content
    sign_in(place["leader"], at=None, point=centre(place["grid"]), accuracy_m=5)
    page = client.get("/field/today/")
    assert b'data-sign-in="done"' in page.content
    assert client.get("/patrols/").status_code == 200
    # The field service worker keeps the page and its files for offline use.
    sw = client.get("/field/sw.js").content.decode()
    assert '"/field/today/"' in sw and '"/field/visit/"' in sw
    assert "presence/today.js" in sw
    client.logout()
    assert client.get("/field/today/").status_code == 302


def test_the_phone_page_suggests_the_days_work_from_the_schedule(place, client):
    today = timezone.localdate()
    ScheduleDay.objects.create(role=Role.GRID_LEADER, weekday=today.weekday(),
                               activity=Activity.VISITS)  # fmt: skip
    ScheduleDay.objects.create(role=Role.GRID_LEADER, weekday=(today.weekday() + 1) % 7,
                               activity=Activity.STUDY)  # fmt: skip
    client.force_login(place["leader"].user)
    page = client.get("/field/today/")
    assert b"td-activity-visits" in page.content
    assert b"td-activity-study" not in page.content
