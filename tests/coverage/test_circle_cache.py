"""The cached 15-minute service circle (coverage.service_circle.refresh / service_circle):
only villages whose inputs changed are recomputed, and the figures always equal a
recomputation from scratch (``service_circle_uncached``)."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from procrastinate.contrib.django.models import ProcrastinateJob

from coverage.models import CircleCheck, InputChange, RoadSegment, ServiceCircleVillage
from coverage.report import coverage_report
from coverage.service_circle import (
    ServiceCircleComputing,
    refresh,
    service_circle,
    service_circle_uncached,
)
from demo.roads import load_demo_roads
from grids.models import ServiceCentre
from households.models import Household
from tests.coverage.test_service_circle import river  # noqa: F401  (fixture)


def figures(result) -> tuple:
    return (
        [(v.code, v.method, v.households, v.covered) for v in result.villages],
        sorted(result.uncovered_household_ids),
        result.households,
        result.covered,
        result.estimated_households,
        result.estimated_covered,
    )


def assert_same_as_from_scratch(area: str) -> None:
    assert figures(service_circle(area)) == figures(service_circle_uncached(area))


def test_the_demo_from_the_cache_equals_the_computation_from_scratch(demo, db):
    load_demo_roads(seed=7)
    first = refresh("450700")
    assert first.recomputed and len(first.stale_villages) == first.villages
    cached = service_circle("450700")
    scratch = service_circle_uncached("450700")
    assert figures(cached) == figures(scratch)
    assert 0 < len(cached.uncovered_household_ids) < cached.households
    # The service areas of the centres inside the city are the same polygons.
    ours = {a.centre_id: a.nodes for a in cached.service_areas}
    theirs = {a.centre_id: a.nodes for a in scratch.service_areas}
    assert ours and all(theirs[c] == n for c, n in ours.items())
    # A district and a town read the same cached villages.
    town = cached.villages[0].code[:9]
    assert_same_as_from_scratch(town)
    assert_same_as_from_scratch(town[:6])
    # Nothing changed: nothing is recomputed.
    again = refresh("450700")
    assert again.stale_villages == [] and not again.recomputed


def test_a_moved_household_recomputes_only_its_village(river):  # noqa: F811
    town, west, bare, households = river
    service_circle(town.code)
    before = dict(ServiceCircleVillage.objects.values_list("village_id", "computed_at"))
    # Bulk SQL, as an import writes: no signal, no save().
    far = households["bare far"]
    Household.objects.filter(pk=far.pk).update(location=Point(100.25, 0.0505, srid=4326))
    state = refresh(town.code)
    assert state.stale_villages == [bare.pk]
    after = dict(ServiceCircleVillage.objects.values_list("village_id", "computed_at"))
    assert after[west.pk] == before[west.pk] and after[bare.pk] > before[bare.pk]
    result = service_circle(town.code)
    assert far.pk not in result.uncovered_household_ids  # now 55 m from the centre
    assert_same_as_from_scratch(town.code)


def test_a_changed_road_recomputes_only_the_villages_near_it(river):  # noqa: F811
    town, west, bare, households = river
    assert households["across"].pk in service_circle(town.code).uncovered_household_ids
    # The bridge gets shorter (a new footbridge): the walk across is within the circle now.
    bridge = RoadSegment.objects.get(name="bridge")
    RoadSegment.objects.filter(pk=bridge.pk).update(length_m=10)
    state = refresh(town.code)
    assert state.stale_villages == [west.pk]
    result = service_circle(town.code)
    assert households["across"].pk not in result.uncovered_household_ids
    assert_same_as_from_scratch(town.code)


def test_a_new_centre_recomputes_only_the_villages_near_it(river):  # noqa: F811
    town, west, bare, households = river
    service_circle(town.code)
    ServiceCentre.objects.create(
        name="second", location=Point(100.25 + 2000 / 111_320.0, 0.05, srid=4326), village=bare
    )
    assert refresh(town.code).stale_villages == [bare.pk]
    assert households["bare far"].pk not in service_circle(town.code).uncovered_household_ids
    assert_same_as_from_scratch(town.code)


def test_too_many_stale_households_are_left_to_the_background(river):  # noqa: F811
    town, *_ = river
    with pytest.raises(ServiceCircleComputing) as raised:
        service_circle(town.code, max_households=1)
    assert raised.value.state.stale_households == 4
    # Nothing half-written for this town (the committed demo may hold other villages' rows,
    # written when a browser test drew a coverage page).
    assert not ServiceCircleVillage.objects.filter(village__town=town).exists()
    service_circle(town.code)
    # Fresh now: the limit no longer matters.
    assert service_circle(town.code, max_households=0).households == 4


def test_the_report_says_computing_and_queues_the_refresh(river, settings):  # noqa: F811
    town, *_ = river
    report = coverage_report(town.code, max_households=1)
    assert report["checks"]["service_circle"]["status"] == "computing"
    job = ProcrastinateJob.objects.get(task_name="coverage.refresh_area")
    assert job.args == {"area_code": town.code}
    coverage_report(town.code, max_households=1)  # a second visit does not queue it again
    assert ProcrastinateJob.objects.filter(task_name="coverage.refresh_area").count() == 1


def _in_own_connection(fn) -> None:
    """Run ``fn`` in a thread of its own: its own connection, committed at once (what the
    parallel recomputation's workers see and write)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def run() -> None:
        try:
            fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()


def _forget_committed_cache() -> None:
    ServiceCircleVillage.objects.all().delete()
    CircleCheck.objects.all().delete()
    InputChange.objects.all().delete()


def test_a_large_recomputation_runs_on_two_connections_and_equals_the_scratch(
    demo, db, settings, monkeypatch
):
    """The demo's committed households and roads, recomputed by two workers at once (each on
    its own connection, committing its own villages) for a caller outside any transaction,
    as a request or the worker's task calls it: the same figures as from scratch."""
    from coverage import service_circle as module

    monkeypatch.setattr(module, "PARALLEL_HOUSEHOLDS", 0)
    settings.GRIDMAP_COVERAGE_WORKERS = 2
    _in_own_connection(_forget_committed_cache)
    try:
        states: list = []
        _in_own_connection(lambda: states.append(refresh("450700")))
        (state,) = states
        assert state.recomputed and len(state.stale_villages) == state.villages
        # Both workers wrote and committed: this test's connection sees every village.
        assert ServiceCircleVillage.objects.count() == state.villages
        # The session's lock was given back: a try-lock recomputation may run again.
        _in_own_connection(_forget_committed_cache)
        again: list = []
        _in_own_connection(lambda: again.append(refresh("450700", max_households=10**9)))
        assert again[0].recomputed and again[0].stale_villages == state.stale_villages
        # Inside a transaction (this test's) refresh stays on its caller's connection (and
        # holds the lock until that transaction ends).
        assert refresh("450700").stale_villages == []
        assert_same_as_from_scratch("450700")
        assert_same_as_from_scratch(service_circle("450700").villages[0].code[:9])
    finally:
        _in_own_connection(_forget_committed_cache)


def test_the_split_keeps_neighbours_together_and_balances_households():
    from coverage.service_circle import _split

    rows = [(i, f"fp{i}", h) for i, h in enumerate([10, 10, 10, 10, 40, 20])]
    groups = _split(rows, 2)
    assert [[r[0] for r in g] for g in groups] == [[0, 1, 2, 3], [4, 5]]  # 40 and 60
    assert [r for g in groups for r in g] == rows  # in order, nothing lost
    assert _split(rows, 3) == [rows[:3], rows[3:5], rows[5:]]  # 30, 50 and 20
    assert _split(rows[:1], 2) == [rows[:1]]
    assert _split([], 2) == []


# --- the check: no fingerprint while no input changed ---------------------------------------
def _fingerprinted(fn) -> bool:
    """Whether ``fn`` computed the fingerprints (read every household of the area)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as seen:
        fn()
    return any("_sc_fp" in query["sql"] for query in seen.captured_queries)


def test_with_no_input_changed_a_refresh_reads_no_fingerprint(river):  # noqa: F811
    town, west, bare, households = river
    assert _fingerprinted(lambda: refresh(town.code))
    assert not _fingerprinted(lambda: refresh(town.code))
    state = refresh(town.code)
    assert state.fresh and state.stale_villages == [] and state.villages == 2
    # A town inside a checked area has its own check.
    assert _fingerprinted(lambda: refresh(west.code))
    assert not _fingerprinted(lambda: service_circle(town.code))
    assert_same_as_from_scratch(town.code)


def test_only_a_change_of_what_the_circle_reads_makes_the_area_check_again(river):  # noqa: F811
    town, west, bare, households = river
    refresh(town.code)
    # A household's phone is not an input of the circle.
    Household.objects.filter(pk=households["bare far"].pk).update(phone="13800000000")
    assert not _fingerprinted(lambda: refresh(town.code))
    # Its position is (bulk SQL, as an import writes).
    Household.objects.filter(pk=households["bare far"].pk).update(
        location=Point(100.25, 0.0505, srid=4326)
    )
    assert _fingerprinted(lambda: refresh(town.code))
    assert not _fingerprinted(lambda: refresh(town.code))


@pytest.mark.parametrize(
    "change",
    [
        "DELETE FROM coverage_roadsegment WHERE name = 'bridge'",
        "UPDATE coverage_roadnode SET geom = ST_Translate(geom, 0.0001, 0)"
        " WHERE id = (SELECT min(id) FROM coverage_roadnode)",
        "UPDATE grids_servicecentre SET location = ST_Translate(location, 0.001, 0)",
        "INSERT INTO coverage_roadnode (geom) VALUES (ST_SetSRID(ST_MakePoint(100.2, 0.05), 4326))",
        "UPDATE grids_village SET geom = ST_Translate(geom, 0.0001, 0)",
        "UPDATE grids_grid SET village_id = (SELECT max(id) FROM grids_village)"
        " WHERE id = (SELECT min(id) FROM grids_grid)",
        # Someone else's removal of cached rows (the fingerprints then find them missing).
        "DELETE FROM coverage_servicecirclevillage",
    ],
)
def test_any_statement_on_an_input_makes_the_area_check_again(
    river,  # noqa: F811
    change,
):
    from django.db import connection

    town, west, bare, households = river
    refresh(town.code)
    with connection.cursor() as cursor:
        cursor.execute(change)
    assert _fingerprinted(lambda: refresh(town.code))
    assert_same_as_from_scratch(town.code)


@pytest.mark.parametrize(
    "nothing",
    [
        "UPDATE grids_grid SET village_id = village_id",
        "UPDATE households_household SET location = location, phone = '13800000000'",
        "DELETE FROM coverage_roadnode WHERE false",
        # (An insert notes itself without reading its rows: the importer inserts only when it
        # has new rows, tests/imports/test_pipeline.py.)
    ],
)
def test_a_statement_that_changes_no_input_notes_nothing(river, nothing):  # noqa: F811
    """An import that finds nothing new writes statements that touch no row, or rewrite a
    row as it was: the next visit does not fingerprint for them."""
    from django.db import connection

    town, west, bare, households = river
    refresh(town.code)
    changes = InputChange.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(nothing)
    assert InputChange.objects.count() == changes
    assert not _fingerprinted(lambda: refresh(town.code))


def test_cache_rows_someone_removed_are_computed_again(river):  # noqa: F811
    town, west, bare, households = river
    before = figures(service_circle(town.code))
    ServiceCircleVillage.objects.all().delete()
    assert figures(service_circle(town.code)) == before


def test_another_walking_speed_checks_again(river, settings):  # noqa: F811
    town, west, bare, households = river
    refresh(town.code)
    settings.GRIDMAP_WALKING_KMH = 5.0
    assert _fingerprinted(lambda: refresh(town.code))


def test_a_change_committed_after_the_checks_snapshot_is_seen_though_its_id_is_older(db):
    """The race the snapshot is kept for: a transaction that wrote an input (its change has
    the lower id) and commits after another change and after the check was taken. Driven on
    connections of their own, committed, as concurrent requests and imports write."""
    import psycopg
    from django.db import connection

    from coverage.service_circle import _SEEN, _unchanged

    dsn = {
        "dbname": connection.settings_dict["NAME"],
        "user": connection.settings_dict["USER"],
        "password": connection.settings_dict["PASSWORD"],
        "host": connection.settings_dict["HOST"],
        "port": connection.settings_dict["PORT"],
    }
    note = (
        "INSERT INTO coverage_inputchange (xact) VALUES (pg_current_xact_id()::text::bigint)"
        " RETURNING id"
    )
    area = {"prefix": "race%", "version": "v"}
    made: list[int] = []
    with psycopg.connect(**dsn) as slow, psycopg.connect(**dsn, autocommit=True) as other:
        try:
            # Written, not committed: its change has the lower id.
            made.append(slow.execute(note).fetchone()[0])
            made.append(other.execute(note).fetchone()[0])  # another, committed
            assert made[0] < made[1]
            with psycopg.connect(**dsn) as checker:
                snapshot, last_change, own = checker.execute(_SEEN).fetchone()
            assert last_change >= made[1]
            other.execute(
                "INSERT INTO coverage_circlecheck (area, version, snapshot, last_change, own_xact,"
                " villages, checked_at) VALUES (%s, %s, %s, %s, %s, 1, now())",
                ["race%", "v", snapshot, last_change, own],
            )
            assert _unchanged(area) == 1  # the slow transaction has not committed
            slow.commit()
            assert _unchanged(area) is None  # committed after the check: seen as a change
        finally:
            slow.rollback()
            other.execute("DELETE FROM coverage_circlecheck WHERE area = 'race%'")
            other.execute("DELETE FROM coverage_inputchange WHERE id = ANY(%s)", [made])
