"""factory_boy factories with tiny literal polygons far from the demo (lon 100, lat 0).

Codes live under district ``9901xx`` so they never collide with the Qinzhou demo.
"""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from psycopg.types.range import Range

from accounts.models import Account, AccountRole
from grids.models import (
    Building,
    CatchmentAssignment,
    District,
    Generation,
    Grid,
    Role,
    RoleAssignment,
    Station,
    Town,
    Village,
    Worker,
)
from households.models import Household


def square(x0: float, y0: float, size: float) -> MultiPolygon:
    """A square MultiPolygon with its lower-left corner at (x0, y0), in degrees."""
    ring = ((x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0))
    return MultiPolygon(Polygon(ring), srid=4326)


def rect(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    ring = ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))
    return MultiPolygon(Polygon(ring), srid=4326)


def since(days_ago: int = 365) -> Range:
    """An open period that started ``days_ago`` days ago."""
    return Range(dt.date.today() - dt.timedelta(days=days_ago), None, "[)")


class GenerationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Generation

    description = "test generation"


def current_generation() -> Generation:
    return Generation.current() or GenerationFactory()


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    code = factory.Sequence(lambda n: f"9901{n % 99 + 1:02d}")
    name = factory.Sequence(lambda n: f"Test district {n}")
    geom = factory.LazyFunction(lambda: rect(100.0, 0.0, 100.1, 0.1))
    generation_low = factory.LazyFunction(current_generation)


class TownFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Town

    district = factory.SubFactory(DistrictFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.district.code}{n % 999 + 1:03d}")
    name = factory.Sequence(lambda n: f"Test town {n}")
    geom = factory.LazyAttribute(lambda o: o.district.geom)
    generation_low = factory.LazyFunction(current_generation)


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    town = factory.SubFactory(TownFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.town.code}{n % 999 + 1:03d}")
    name = factory.Sequence(lambda n: f"Test village {n}")
    geom = factory.LazyAttribute(lambda o: o.town.geom)
    generation_low = factory.LazyFunction(current_generation)


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grid

    village = factory.SubFactory(VillageFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.village.code}{n % 999 + 1:03d}")
    name = factory.Sequence(lambda n: f"Test grid {n}")
    geom = factory.LazyAttribute(lambda o: o.village.geom)
    generation_low = factory.LazyFunction(current_generation)


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    name = factory.Sequence(lambda n: f"Building {n}")
    footprint = factory.LazyFunction(
        lambda: Polygon(
            (
                (100.01, 0.01),
                (100.0101, 0.01),
                (100.0101, 0.0101),
                (100.01, 0.0101),
                (100.01, 0.01),
            ),
            srid=4326,
        )
    )


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    address = factory.Sequence(lambda n: f"Test road {n}")
    location = factory.LazyFunction(lambda: Point(100.01, 0.01, srid=4326))
    size = 3
    head_name = factory.Sequence(lambda n: f"Head {n}")
    id_number = "450702199001011234"
    phone = "13800000000"


class WorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Worker

    name = factory.Sequence(lambda n: f"Worker {n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    worker = factory.SubFactory(WorkerFactory)
    role = Role.GRID_LEADER
    period = factory.LazyFunction(since)


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    town = factory.SubFactory(TownFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.town.code}S{n % 99 + 1:02d}")
    name = factory.Sequence(lambda n: f"Station {n}")
    location = factory.LazyFunction(lambda: Point(100.05, 0.05, srid=4326))


class CatchmentAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatchmentAssignment

    period = factory.LazyFunction(since)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pass")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    user = factory.SubFactory(UserFactory)
    role = AccountRole.GRID_WORKER
    codes = factory.List([])
