"""Patrol tracks (issue 14, acceptance 3): a track passing within 50 m of half a grid marks
that half; a 2 km jump in 10 s (a GPS glitch) is dropped as documented (presence.patrols).
Against PostGIS, through the service and ``/api/patrols/``."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from grids import coords
from grids.models import Role
from presence.models import Patrol, PatrolCoverage
from presence.patrols import (
    Fix,
    PatrolRefused,
    clean_fixes,
    covered_areas,
    record_patrol,
    refresh_patrol_coverage,
)
from tests.presence.field_places import area, moved, square_grid, worker_with_login

pytestmark = pytest.mark.django_db

LON, LAT = 115.2, 30.2
URL = "/api/patrols/"


@pytest.fixture
def place():
    """A 200 m square grid with a neighbour 200 m east of it, and the grid's leader."""
    places = area(LON, LAT)
    x0, y0 = moved(LON, LAT, east=1000, north=1000)
    grid = square_grid(x0, y0, 200, village=places["village"], name="巡查网格")
    east_x, _ = moved(x0, y0, east=200)
    neighbour = square_grid(east_x, y0, 200, village=places["village"])
    leader = worker_with_login(Role.GRID_LEADER, grid=grid)
    return {**places, "grid": grid, "neighbour": neighbour, "leader": leader, "origin": (x0, y0)}


def start_time() -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))


def walk(origin, *, east: float, south: float = 100, north: float = 300, step: float = 14,
         every: float = 10, accuracy: float | None = 8.0):  # fmt: skip
    """Fixes walking north at ``east`` metres from the origin, from ``south`` metres below it
    to ``north`` metres above, ``step`` metres every ``every`` seconds."""
    t0 = start_time()
    points = []
    y, i = -south, 0
    while y <= north:
        lon, lat = moved(*origin, east=east, north=y)
        points.append((lon, lat, t0 + dt.timedelta(seconds=i * every), accuracy))
        y += step
        i += 1
    return points


def test_a_track_within_50_m_of_half_a_grid_marks_that_half(place):
    """Walking north 50 m inside the west edge: the 50 m buffer covers the west 100 m of the
    200 m grid, so half of it; the neighbour (200 m east) is not reached."""
    patrol, created = record_patrol(place["leader"], points=walk(place["origin"], east=50))
    assert created
    assert patrol.grid == place["grid"] and patrol.place_code == place["grid"].code
    assert patrol.length_m == pytest.approx(400, abs=20)
    rows = {c.grid_id: c for c in PatrolCoverage.objects.filter(patrol=patrol)}
    assert set(rows) == {place["grid"].pk}
    assert rows[place["grid"].pk].share == pytest.approx(0.5, abs=0.02)
    # The covered half is the west half: it holds a point 20 m in, not one 150 m in.
    covered = rows[place["grid"].pk].geom
    west = moved(*moved(*place["origin"], east=20), north=100)
    east = moved(*moved(*place["origin"], east=150), north=100)
    assert covered.covers(Point(*west, srid=4326))
    assert not covered.covers(Point(*east, srid=4326))


def test_a_straight_walk_is_simplified_with_its_times(place):
    points = walk(place["origin"], east=50)
    patrol, _ = record_patrol(place["leader"], points=points)
    assert patrol.points_received == len(points)
    assert len(patrol.track.coords) == len(patrol.offsets) < len(points)
    assert patrol.offsets[0] == 0
    assert patrol.offsets[-1] == (points[-1][2] - points[0][2]).total_seconds()
    assert patrol.started_at == points[0][2] and patrol.ended_at == points[-1][2]
    assert patrol.day == points[0][2].date()


def test_a_phone_clock_running_ahead_ends_the_walk_now(place):
    """Times in the future are a clock running ahead: the walk keeps its shape in time and
    ends now (as a sign-in made "later" is now), so it never counts on a day to come."""
    points = walk(place["origin"], east=50)
    ahead = timezone.now() + dt.timedelta(days=3) - points[-1][2]
    points = [(lon, lat, t + ahead, acc) for lon, lat, t, acc in points]
    before = timezone.now()
    patrol, _ = record_patrol(place["leader"], points=points)
    assert before <= patrol.ended_at <= timezone.now()
    took = (points[-1][2] - points[0][2]).total_seconds()
    assert (patrol.ended_at - patrol.started_at).total_seconds() == pytest.approx(took)
    assert patrol.day <= timezone.localdate()


def test_a_2_km_jump_in_10_s_is_dropped(place):
    """A glitch 2 km east, 10 s after a good fix (200 m/s): dropped; the track goes on from
    the fix before it, and its length is the walk's."""
    points = walk(place["origin"], east=50)
    lon, lat, t, _ = points[10]
    glitch_lon, glitch_lat = moved(lon, lat, east=2000)
    bad = (glitch_lon, glitch_lat, t + dt.timedelta(seconds=5), 10.0)
    imprecise = (lon, lat, t + dt.timedelta(seconds=7), 150.0)  # worse than 100 m: dropped
    patrol, _ = record_patrol(place["leader"], points=[*points[:11], bad, imprecise, *points[11:]])
    assert patrol.points_dropped == 2
    assert patrol.length_m == pytest.approx(400, abs=20)
    x0, _, x1, _ = patrol.track.extent
    assert x1 - x0 < 0.0002  # no spike east
    assert set(PatrolCoverage.objects.filter(patrol=patrol).values_list("grid", flat=True)) == {
        place["grid"].pk
    }


def test_cleaning_rules_one_by_one():
    t0 = start_time()
    a = Fix(LON, LAT, t0, 5)
    near = Fix(*moved(LON, LAT, east=10), t0 + dt.timedelta(seconds=10), 5)
    far = Fix(*moved(LON, LAT, east=2000), t0 + dt.timedelta(seconds=20), 5)
    later = Fix(*moved(LON, LAT, east=20), t0 + dt.timedelta(seconds=30), None)
    same_time = Fix(*moved(LON, LAT, east=12), t0 + dt.timedelta(seconds=10), 5)
    assert clean_fixes([later, far, a, near, same_time]) == [a, near, later]


def test_too_few_fixes_are_refused(place):
    t0 = start_time()
    with pytest.raises(PatrolRefused):
        record_patrol(place["leader"], points=[(LON, LAT, t0, 500.0), (LON, LAT, t0, 5.0)])
    assert not Patrol.objects.exists()


def test_coverage_refresh_is_idempotent_and_unions_per_day(place):
    first, _ = record_patrol(place["leader"], points=walk(place["origin"], east=50))
    second, _ = record_patrol(place["leader"], points=walk(place["origin"], east=150))
    assert refresh_patrol_coverage([first.pk, second.pk]) == 3  # grid, grid, neighbour
    assert PatrolCoverage.objects.count() == 3
    rows = covered_areas(Patrol.objects.all())
    by_grid = {r["grid"]["code"]: r for r in rows}
    assert by_grid[place["grid"].code]["share"] == pytest.approx(1.0, abs=0.02)
    assert by_grid[place["neighbour"].code]["share"] == pytest.approx(0.0, abs=0.02)


# --- the API ----------------------------------------------------------------------------------
def as_json(points, crs="wgs84"):
    lonlat = np.array([[p[0], p[1]] for p in points])
    if crs == "gcj02":
        lonlat = coords.wgs84_to_gcj02_coords(lonlat)
    return [
        {"lon": xy[0], "lat": xy[1], "t": p[2].isoformat(), "accuracy": p[3]}
        for xy, p in zip(lonlat, points, strict=True)
    ]


def test_api_records_a_gcj02_track_and_lists_it(place, api_client):
    api_client.force_authenticate(place["leader"].user)
    key = str(uuid.uuid4())
    body = {
        "client_uuid": key,
        "crs": "gcj02",
        "points": as_json(walk(place["origin"], east=50), "gcj02"),
    }
    first = api_client.post(URL, body, format="json")
    assert first.status_code == 201, first.json()
    props = first.json()["properties"]
    assert props["grid_code"] == place["grid"].code
    assert props["coverage"] == [
        {"grid_code": place["grid"].code, "share": pytest.approx(0.5, abs=0.02)}
    ]
    assert api_client.post(URL, body, format="json").status_code == 200
    assert Patrol.objects.count() == 1
    day = start_time().date().isoformat()
    listed = api_client.get(URL, {"day": day})
    assert listed.status_code == 200
    assert [f["id"] for f in listed.json()["features"]] == [props["id"]]
    assert listed.json()["features"][0]["properties"]["length_m"] == pytest.approx(400, abs=20)
    coverage = api_client.get(URL + "coverage/", {"day": day, "area": place["grid"].code})
    assert coverage.status_code == 200
    (feature,) = coverage.json()["features"]
    assert feature["properties"]["share"] == pytest.approx(0.5, abs=0.02)
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_api_bad_tracks_are_400(place, api_client):
    api_client.force_authenticate(place["leader"].user)
    assert api_client.post(URL, {"points": "x"}, format="json").status_code == 400
    response = api_client.post(URL, {"points": [{"lon": 1}]}, format="json")
    assert response.status_code == 400 and "1" in response.json()["detail"]
    one = as_json(walk(place["origin"], east=50)[:1])
    response = api_client.post(URL, {"points": one}, format="json")
    assert response.status_code == 400 and response.json()["detail"]
    assert api_client.post(URL, {"points": [], "crs": "utm"}, format="json").status_code == 400


def test_an_outside_workers_patrol_is_404_and_not_listed(place, api_client):
    patrol, _ = record_patrol(place["leader"], points=walk(place["origin"], east=50))
    far = area(LON + 1, LAT + 1)
    far_grid = square_grid(LON + 1.01, LAT + 1.01, 500, village=far["village"])
    stranger = worker_with_login(Role.GRID_LEADER, grid=far_grid)
    api_client.force_authenticate(stranger.user)
    day = start_time().date().isoformat()
    assert api_client.get(f"{URL}{patrol.pk}/").status_code == 404
    assert api_client.get(URL, {"day": day}).json()["features"] == []
    assert api_client.get(URL + "coverage/", {"day": day}).json()["features"] == []
    assert api_client.get(URL, {"day": day, "worker": place["leader"].pk}).status_code == 404
    # The leader's own and the village secretary's view.
    secretary = worker_with_login(Role.VILLAGE_SECRETARY, village=place["village"])
    for user in (place["leader"].user, secretary.user):
        api_client.force_authenticate(user)
        assert api_client.get(f"{URL}{patrol.pk}/").status_code == 200
        assert len(api_client.get(URL, {"day": day}).json()["features"]) == 1


def test_the_list_is_a_fixed_number_of_queries(place, api_client, django_assert_max_num_queries):
    for east in (30, 60, 90, 120):
        record_patrol(place["leader"], points=walk(place["origin"], east=east))
    api_client.force_authenticate(place["leader"].user)
    day = start_time().date().isoformat()
    api_client.get(URL, {"day": day})  # the user's jurisdiction is cached per request only
    with django_assert_max_num_queries(8):
        response = api_client.get(URL, {"day": day})
    assert len(response.json()["features"]) == 4
    with django_assert_max_num_queries(8):
        response = api_client.get(URL + "coverage/", {"day": day})
    assert len(response.json()["features"]) == 1  # one worker, one grid: the union
