"""Places for the field tests (sign-ins, patrols): inside China's GCJ-02 box (lon 115,
lat 30), far from the demo (lon 108) and the factories (lon 100, lat 0, where GCJ-02 does not
move points). Distances in metres through pyproj's geodesic on WGS84."""

from __future__ import annotations

from pyproj import Geod

from grids.models import Grid, Role, Worker
from tests.factories import (
    DistrictFactory,
    GridFactory,
    RoleAssignmentFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    WorkerFactory,
    rect,
)

GEOD = Geod(ellps="WGS84")


def moved(lon: float, lat: float, *, east: float = 0.0, north: float = 0.0) -> tuple[float, float]:
    """The point ``east`` and ``north`` metres from (lon, lat)."""
    if east:
        lon, lat, _ = GEOD.fwd(lon, lat, 90 if east > 0 else 270, abs(east))
    if north:
        lon, lat, _ = GEOD.fwd(lon, lat, 0 if north > 0 else 180, abs(north))
    return lon, lat


def square_grid(lon: float, lat: float, size_m: float, **kwargs) -> Grid:
    """A grid ``size_m`` metres square with its south-west corner at (lon, lat)."""
    x1, _ = moved(lon, lat, east=size_m)
    _, y1 = moved(lon, lat, north=size_m)
    return GridFactory(geom=rect(lon, lat, x1, y1), **kwargs)


def area(lon: float, lat: float, size_m: float = 5000) -> dict:
    """A district, town and village covering a square of ``size_m`` from (lon, lat)."""
    x1, _ = moved(lon, lat, east=size_m)
    _, y1 = moved(lon, lat, north=size_m)
    geom = rect(lon, lat, x1, y1)
    district = DistrictFactory(geom=geom)
    town = TownFactory(district=district, geom=geom)
    village = VillageFactory(town=town, geom=geom)
    return {"district": district, "town": town, "village": village}


def worker_with_login(role: Role = Role.GRID_LEADER, **place) -> Worker:
    """A worker holding ``role`` on ``place`` since a year, with a login."""
    worker = WorkerFactory(user=UserFactory())
    RoleAssignmentFactory(worker=worker, role=role, **place)
    return worker
