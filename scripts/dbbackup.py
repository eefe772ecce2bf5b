#!/usr/bin/env python3
"""Back up gridmap's database, and restore a backup into a new database.

    scripts/dbbackup.py backup [--output-dir DIR] [--keep N]
    scripts/dbbackup.py restore FILE [--target-db NAME] [--force]

`make backup` and `make restore FILE=... [TARGET_DB=...] [FORCE=1]` call this; a server's
timer calls it too (docs/deployment.md, "Backups"). The database is ``DATABASE_URL``
(``postgis://user:password@host:port/name``) or, when it is unset, the project-local cluster
(scripts/localdb.sh). The password reaches pg_dump through the environment, never the
command line.

backup: ``pg_dump -Fc`` (the custom format: compressed, restorable table by table) into
``var/backups/gridmap-YYYYmmdd-HHMMSS.dump``, written under a temporary name and renamed
once pg_restore can read its table of contents, readable by its owner only (it holds
residents' personal data). ``--keep N`` then deletes all but the N newest backups there.

restore: into ``--target-db`` (default: the configured database), created when missing.
A database that already holds tables is refused unless ``--force``, which drops and
re-creates it (refused by PostgreSQL while anything is connected to it: stop the web server
and the worker first). pg_restore runs in one transaction (a failed restore leaves no half
database) and creates the extensions (PostGIS, pgRouting, btree_gist) the dump names.

Standard library only: it runs with any Python 3, without the project's environment.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "backups"
PREFIX = "gridmap-"
SUFFIX = ".dump"
SCHEMES = ("postgis", "postgres", "postgresql", "pgsql")
# Database names this script creates or drops: a plain identifier (no quoting games).
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Tables of the database itself, not of an extension (spatial_ref_sys belongs to PostGIS).
USER_TABLES_SQL = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""


class Refused(Exception):
    """What the operator asked for would lose data or cannot work; the message says why."""


@dataclass(frozen=True)
class Database:
    host: str
    port: str
    user: str
    password: str
    name: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise Refused(f"DATABASE_URL must start with postgis:// (got {parts.scheme}://).")
        return cls(
            # A socket directory is %2F-quoted in the host (postgis://user@%2Fvar%2Frun/db).
            host=unquote(parts.hostname or ""),
            port=str(parts.port or ""),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            name=unquote(parts.path.lstrip("/")),
        )

    def env(self, name: str | None = None) -> dict[str, str]:
        """The environment libpq's tools connect with (to ``name``, default this database)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        values = {
            "PGHOST": self.host,
            "PGPORT": self.port,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": name or self.name,
            "PGOPTIONS": "-c client_min_messages=warning",
        }
        env.update({k: v for k, v in values.items() if v})
        return env


def configured_database() -> Database:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        script = ROOT / "scripts" / "localdb.sh"
        if not (ROOT / "var" / "pg" / "password").exists():
            raise Refused("No database: set DATABASE_URL=postgis://... or run 'make run' once.")
        url = subprocess.run(
            ["bash", str(script), "url"], capture_output=True, text=True, check=True
        ).stdout.strip()
    return Database.from_url(url)


def run(command: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, env=env, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise Refused(f"{command[0]} failed ({result.returncode}):\n{result.stderr.strip()}")
    return result


def psql(db: Database, sql: str, name: str | None = None) -> str:
    """One statement's result as text (unaligned, no headers)."""
    command = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-tAc", sql]
    return run(command, db.env(name)).stdout.strip()


def backup(db: Database, output_dir: Path, keep: int = 0) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(output_dir, 0o700)
    path = output_dir / f"{PREFIX}{time.strftime('%Y%m%d-%H%M%S')}{SUFFIX}"
    fd, partial = tempfile.mkstemp(prefix=".partial-", suffix=SUFFIX, dir=output_dir)
    os.close(fd)  # mkstemp made it 0600; pg_dump writes into it
    try:
        run(["pg_dump", "--format=custom", "--file", partial], db.env())
        # A dump pg_restore cannot read is no backup.
        run(["pg_restore", "--list", partial], db.env())
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    if keep > 0:
        for old in sorted(output_dir.glob(f"{PREFIX}*{SUFFIX}"))[:-keep]:
            old.unlink()
    return path


def restore(db: Database, file: Path, target: str | None = None, force: bool = False) -> str:
    target = target or db.name
    if not NAME.match(target):
        raise Refused(f"{target!r}: a database name is letters, digits and _ (not first).")
    if not file.is_file():
        raise Refused(f"{file}: no such file.")
    exists = psql(db, f"SELECT 1 FROM pg_database WHERE datname = '{target}'", "postgres")
    if exists:
        tables = int(psql(db, USER_TABLES_SQL, target))
        if tables and not force:
            raise Refused(
                f"Database {target} already holds {tables} tables: restore into a new one "
                f"(--target-db / TARGET_DB=name), or replace it with --force (FORCE=1) once "
                f"the web server and the worker are stopped."
            )
        if tables:
            psql(db, f'DROP DATABASE "{target}"', "postgres")
            exists = ""
    if not exists:
        psql(db, f'CREATE DATABASE "{target}"', "postgres")
    # Every entry of the dump but the comments on extensions (only an extension's owner, a
    # superuser, may set those; they are PostGIS's own text, not data).
    listing = run(["pg_restore", "--list", str(file)], db.env()).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".list") as entries:
        entries.writelines(
            line + "\n" for line in listing.splitlines() if "COMMENT - EXTENSION" not in line
        )
        entries.flush()
        run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                "--use-list",
                entries.name,
                "--dbname",
                target,
                str(file),
            ],
            db.env(target),
        )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("backup", help="pg_dump the database into a new file")
    b.add_argument("--output-dir", type=Path, default=DEFAULT_DIR)
    b.add_argument("--keep", type=int, default=0, help="then keep only the N newest backups")
    r = commands.add_parser("restore", help="pg_restore a backup into a new database")
    r.add_argument("file", type=Path)
    r.add_argument("--target-db", help="default: the configured database")
    r.add_argument("--force", action="store_true", help="replace a database holding tables")
    args = parser.parse_args(argv)
    try:
        db = configured_database()
        if args.command == "backup":
            path = backup(db, args.output_dir, keep=args.keep)
            print(f"Backup written: {path} ({path.stat().st_size:,} bytes)")
        else:
            target = restore(db, args.file, target=args.target_db, force=args.force)
            print(f"Restored {args.file} into database {target}")
    except Refused as refused:
        print(f"dbbackup: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
