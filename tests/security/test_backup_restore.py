"""Threat: losing the county's records (a failed disk, a bad upgrade, ransomware, a mistaken
delete) while the backups were never tried, or losing them in the restore itself, written
over a live database. Before this there was no backup at all.

``make backup`` / ``make restore`` (scripts/dbbackup.py) dump with ``pg_dump -Fc`` and restore
into a new database. Here the test database, with the demo committed in it, is backed up and
restored into a fresh database; every table must come back with the same number of rows,
every sequence at the same value (new rows do not collide with restored ones), the
extensions (PostGIS, pgRouting) present and working. A restore into a database that holds
tables is refused and leaves it as it was; a backup is readable by its owner only.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.browser.conftest import database_url

SCRIPT = settings.BASE_DIR / "scripts" / "dbbackup.py"
TABLES_SQL = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
 ORDER BY 1, 2
"""


def dbbackup(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def connect(settings_dict: dict, name: str) -> psycopg.Connection:
    return psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        dbname=name,
        autocommit=True,
    )


def inventory(settings_dict: dict, name: str) -> dict[str, object]:
    """Rows per table, sequence values and extensions of database ``name``."""
    with connect(settings_dict, name) as conn:
        tables = conn.execute(TABLES_SQL).fetchall()
        rows = {
            f"{schema}.{table}": conn.execute(
                f'SELECT count(*) FROM "{schema}"."{table}"'  # names from the catalogue
            ).fetchone()[0]
            for schema, table in tables
        }
        sequences = dict(
            conn.execute(
                "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences"
            ).fetchall()
        )
        extensions = {name for (name,) in conn.execute("SELECT extname FROM pg_extension")}
    return {"rows": rows, "sequences": sequences, "extensions": extensions}


@pytest.fixture
def test_database(demo, django_db_blocker) -> tuple[dict, str]:
    """The test database's connection settings and its URL (the demo is committed in it)."""
    from django.db import connection

    with django_db_blocker.unblock():
        settings_dict = dict(connection.settings_dict)
    return settings_dict, database_url(settings_dict)


@pytest.fixture
def restored_name(test_database) -> str:
    """A name for the restored database, dropped after the test."""
    settings_dict, _ = test_database
    name = f"{settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    yield name
    with connect(settings_dict, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_a_backup_restores_into_a_fresh_database_with_every_row(
    test_database, restored_name, tmp_path: Path
):
    settings_dict, url = test_database
    before = inventory(settings_dict, settings_dict["NAME"])
    assert before["rows"]["public.grids_grid"] > 0, "the demo should be in the test database"

    made = dbbackup("backup", "--output-dir", str(tmp_path), url=url)
    assert made.returncode == 0, made.stderr
    (dump,) = tmp_path.glob("gridmap-*.dump")
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700

    done = dbbackup("restore", str(dump), "--target-db", restored_name, url=url)
    assert done.returncode == 0, done.stderr

    after = inventory(settings_dict, restored_name)
    assert after["rows"] == before["rows"]
    assert after["sequences"] == before["sequences"]
    assert {"postgis", "pgrouting", "btree_gist"} <= after["extensions"]
    assert after["extensions"] == before["extensions"]
    with connect(settings_dict, restored_name) as conn:
        # The geometry and the road network work in the restored database.
        covered = conn.execute(
            "SELECT count(*) FROM grids_grid WHERE ST_Covers(geom, ST_PointOnSurface(geom))"
        ).fetchone()[0]
        assert covered == before["rows"]["public.grids_grid"]
        assert conn.execute("SELECT pgr_version()").fetchone()[0]


def test_a_restore_never_writes_over_a_database_that_holds_tables(test_database, tmp_path):
    settings_dict, url = test_database
    made = dbbackup("backup", "--output-dir", str(tmp_path), url=url)
    assert made.returncode == 0, made.stderr
    (dump,) = tmp_path.glob("gridmap-*.dump")
    before = inventory(settings_dict, settings_dict["NAME"])

    # The target defaults to the configured database: the test database itself.
    refused = dbbackup("restore", str(dump), url=url)
    assert refused.returncode == 1
    assert f"Database {settings_dict['NAME']} already holds" in refused.stderr
    assert inventory(settings_dict, settings_dict["NAME"]) == before


def test_old_backups_beyond_keep_are_deleted(test_database, tmp_path):
    _, url = test_database
    old = [tmp_path / f"gridmap-2020010{i}-000000.dump" for i in (1, 2, 3)]
    for path in old:
        path.write_bytes(b"old")
    made = dbbackup("backup", "--output-dir", str(tmp_path), "--keep", "2", url=url)
    assert made.returncode == 0, made.stderr
    kept = sorted(p.name for p in tmp_path.glob("gridmap-*.dump"))
    assert len(kept) == 2
    assert kept[0] == old[2].name and kept[1].startswith("gridmap-20") and kept[1] > old[2].name
