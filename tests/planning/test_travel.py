"""Travel times village centre -> station (planning.travel): along hand-made roads, the
straight-line estimate, the cache, and same-town pairs only.

Villages are 0.01-degree squares near lon 100, lat 0; each has a service centre at its middle
unless a test says otherwise. Expected metres come from pyproj's geodesic (WGS84), as PostGIS
measures on geography.
"""

from __future__ import annotations

import pyproj
import pytest
from django.contrib.gis.geos import LineString, Point
from django.db import connection

from coverage.models import RoadNode, RoadSegment
from grids.models import ServiceCentre
from planning import travel
from planning.models import TravelTime as TravelTimeRow
from planning.travel import StationPoint, clear_travel_cache, location_key, travel_times
from tests.factories import DistrictFactory, TownFactory, VillageFactory, rect, square

GEOD = pyproj.Geod(ellps="WGS84")
KMH = 36.0  # 10 m/s: seconds are metres / 10

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def speed(settings):
    settings.GRIDMAP_STATION_TRAVEL_KMH = KMH


def metres(*points: tuple[float, float]) -> float:
    return sum(
        GEOD.inv(a[0], a[1], b[0], b[1])[2] for a, b in zip(points, points[1:], strict=False)
    )


def road(*points: tuple[float, float] | RoadNode) -> list[RoadNode]:
    """A road through ``points`` (coordinates, or nodes already made): one segment each."""
    nodes = [
        p if isinstance(p, RoadNode) else RoadNode.objects.create(geom=Point(*p, srid=4326))
        for p in points
    ]
    for a, b in zip(nodes, nodes[1:], strict=False):
        RoadSegment.objects.create(
            geom=LineString(a.geom, b.geom, srid=4326),
            source=a,
            target=b,
            length_m=metres(a.geom.coords, b.geom.coords),
        )
    return nodes


class Place:
    """One town of a district, three villages in a row, each with its service centre in the
    middle; a second town to the east with one village."""

    def __init__(self) -> None:
        district = DistrictFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
        self.town = TownFactory(district=district, geom=rect(100.0, 0.0, 100.03, 0.01))
        self.other = TownFactory(district=district, geom=rect(100.05, 0.0, 100.06, 0.01))
        self.villages = [
            VillageFactory(
                town=self.town,
                code=f"{self.town.code}{k + 1:03d}",
                geom=square(100.0 + 0.01 * k, 0.0, 0.01),
            )
            for k in range(3)
        ]
        self.far = VillageFactory(
            town=self.other, code=f"{self.other.code}001", geom=square(100.05, 0.0, 0.01)
        )
        for v in [*self.villages, self.far]:
            ServiceCentre.objects.create(name=v.name, village=v, location=v.geom.centroid)

    def centre(self, k: int) -> tuple[float, float]:
        return (100.005 + 0.01 * k, 0.005)

    def codes(self) -> list[str]:
        return [v.code for v in self.villages]

    def station(self, key: str, x: float, y: float, town=None) -> StationPoint:
        return StationPoint(key, (town or self.town).code, Point(x, y, srid=4326))


@pytest.fixture
def place() -> Place:
    return Place()


def test_a_road_route_counts_the_road_and_both_straight_legs(place):
    """Centre of village 0 on a node; road east to (100.025, 0.005); the station stands
    0.001 degree north of the road's end, so its leg is about 110.6 m."""
    road(place.centre(0), place.centre(1), place.centre(2))
    station = place.station("S", 100.025, 0.006)
    times = travel_times([place.villages[0].code], [station])
    t = times[place.villages[0].code, "S"]
    expected = metres(place.centre(0), place.centre(2)) + metres(place.centre(2), (100.025, 0.006))
    assert t.method == travel.ROAD
    assert t.metres == pytest.approx(expected, abs=0.01)
    assert t.seconds == pytest.approx(expected / 10, abs=0.001)


def test_a_detour_takes_longer_than_the_straight_line(place):
    """The only road from village 0 to village 2 goes 0.02 degree north and back (a river
    between them): about 4.4 km against 2.2 km in a straight line."""
    start, end = place.centre(0), place.centre(2)
    road(start, (100.005, 0.025), (100.025, 0.025), end)
    times = travel_times([place.villages[0].code], [place.station("S", *end)])
    t = times[place.villages[0].code, "S"]
    straight = metres(start, end)
    assert t.method == travel.ROAD
    assert t.metres == pytest.approx(metres(start, (100.005, 0.025), (100.025, 0.025), end))
    assert t.seconds > straight * travel.DETOUR_FACTOR / 10


def test_no_roads_gives_the_estimate(place):
    start, end = place.centre(0), (100.025, 0.006)
    times = travel_times([place.villages[0].code], [place.station("S", *end)])
    t = times[place.villages[0].code, "S"]
    assert t.method == travel.ESTIMATE
    assert t.metres == pytest.approx(metres(start, end) * 1.3, abs=0.01)
    assert t.seconds == pytest.approx(t.metres / 10)


def test_roads_that_do_not_connect_give_the_estimate(place):
    """A road near the centre and another near the station, not joined: no road route."""
    road(place.centre(0), (100.009, 0.005))
    road((100.021, 0.005), place.centre(2))
    times = travel_times([place.villages[0].code], [place.station("S", *place.centre(2))])
    assert times[place.villages[0].code, "S"].method == travel.ESTIMATE


def test_a_road_too_far_from_the_station_gives_the_estimate(place):
    road(place.centre(0), place.centre(1), place.centre(2))
    far = (100.025, 0.005 + 1.5 * travel.MAX_SNAP_M / 110_574)  # 1.5 x MAX_SNAP_M north
    times = travel_times([place.villages[0].code], [place.station("S", *far)])
    assert times[place.villages[0].code, "S"].method == travel.ESTIMATE


def test_a_village_without_service_centre_starts_at_a_point_on_its_surface(place):
    village = place.villages[1]
    ServiceCentre.objects.filter(village=village).delete()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
            "FROM grids_village WHERE id = %s) s",
            [village.pk],
        )
        start = cur.fetchone()
    end = (100.025, 0.008)
    t = travel_times([village.code], [place.station("S", *end)])[village.code, "S"]
    assert t.metres == pytest.approx(metres(start, end) * 1.3, abs=0.01)


def test_cached_pairs_are_not_routed_again(place, django_assert_num_queries):
    road(place.centre(0), place.centre(1), place.centre(2))
    stations = [place.station("S", 100.025, 0.006), place.station("T", 100.001, 0.001)]
    first = travel_times(place.codes(), stations)
    assert len(first) == 6
    assert TravelTimeRow.objects.count() == 6
    # A cache hit is the one lookup query: no routing, no insert.
    with django_assert_num_queries(1):
        again = travel_times(place.codes(), stations)
    assert again == first
    # The cache is what is read: a row changed by hand comes back as it is.
    TravelTimeRow.objects.filter(
        village_code=place.villages[0].code, location_key=location_key(stations[0].location)
    ).update(metres=12345.0)
    assert travel_times(place.codes(), stations)[place.villages[0].code, "S"].metres == 12345.0


def test_only_missing_pairs_are_computed(place):
    road(place.centre(0), place.centre(1), place.centre(2))
    station = place.station("S", 100.025, 0.006)
    travel_times([place.villages[0].code], [station])
    row = TravelTimeRow.objects.get()
    travel_times(place.codes(), [station])
    assert TravelTimeRow.objects.count() == 3
    assert TravelTimeRow.objects.get(pk=row.pk).computed_at == row.computed_at


def test_seconds_follow_the_current_speed(place, settings):
    travel_times([place.villages[0].code], [place.station("S", 100.025, 0.006)])
    settings.GRIDMAP_STATION_TRAVEL_KMH = 18.0  # 5 m/s
    t = travel_times([place.villages[0].code], [place.station("S", 100.025, 0.006)])
    assert t[place.villages[0].code, "S"].seconds == pytest.approx(
        t[place.villages[0].code, "S"].metres / 5
    )


def test_pairs_of_different_towns_are_not_computed(place):
    own = place.station("S", 100.025, 0.006)
    other = place.station("Z", 100.055, 0.005, town=place.other)
    times = travel_times([*place.codes(), place.far.code], [own, other])
    assert set(times) == {(c, "S") for c in place.codes()} | {(place.far.code, "Z")}
    assert not TravelTimeRow.objects.filter(
        village_code=place.far.code, location_key=location_key(own.location)
    ).exists()
    assert TravelTimeRow.objects.count() == 4


def test_two_stations_at_one_place_share_one_cached_time(place):
    a = place.station("A", 100.025, 0.006)
    b = place.station("B", 100.0250000001, 0.006)
    times = travel_times([place.villages[0].code], [a, b])
    assert times[place.villages[0].code, "A"] == times[place.villages[0].code, "B"]
    assert TravelTimeRow.objects.count() == 1


def test_location_key_rounds_and_reprojects():
    assert location_key(Point(100.12345678, 0.5, srid=4326)) == "100.123457,0.500000"
    metric = Point(100.0, 1.0, srid=4326).transform(3857, clone=True)
    assert location_key(metric) == "100.000000,1.000000"


def test_clear_travel_cache_counts_what_it_removed(place):
    travel_times(place.codes(), [place.station("S", 100.025, 0.006)])
    assert clear_travel_cache() == 3
    assert not TravelTimeRow.objects.exists()
    assert clear_travel_cache() == 0
