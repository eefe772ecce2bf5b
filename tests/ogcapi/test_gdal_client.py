"""Acceptance 3 of issue 16: a real OGC API – Features client, GDAL's OAPIF driver (Debian's
``gdal-bin``, installed by ``make system``), against a live server on the small demo.

Two roles (a district administrator, who sees residents' numbers masked, and a grid worker,
who visits households and sees them) and two layers (grids and households): ``ogrinfo``
counts the features, ``ogr2ogr`` copies both layers into a GeoPackage, and both are compared
with the database: the same features, and the same attributes, masked as the role's.
GDAL authenticates with the API token (``GDAL_HTTP_HEADERS``, GDAL >= 3.6).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db.models import Count

from accounts.models import AccountRole
from accounts.services import account_upsert
from gridmap.personal_data import mask_id_number, mask_phone
from grids.models import District, Grid
from households.models import Household

GDAL_TIMEOUT = 300
LAYERS = ("grids", "households")


@dataclass(frozen=True)
class Viewer:
    role: str
    token: str
    prefix: str  # the area's code: what the role sees starts with it
    unmasked: bool


@pytest.fixture(scope="module")
def viewers(demo, django_db_blocker) -> dict[str, Viewer]:
    """A district admin of the demo's first district and a grid worker of its grid with the
    most households, committed (the server is another process), with their API tokens."""
    from rest_framework.authtoken.models import Token

    with django_db_blocker.unblock():
        district = District.objects.at_generation(None).order_by("code").first()
        grid = (
            Grid.objects.at_generation(None)
            .filter(code__startswith=district.code)
            .annotate(n=Count("households"))
            .order_by("-n", "code")
            .first()
        )
        out = {}
        for role, code, unmasked in (
            (AccountRole.DISTRICT_ADMIN, district.code, False),
            (AccountRole.GRID_WORKER, grid.code, True),
        ):
            account = account_upsert(
                username=f"gdal-{role}", password="gdal-pass-4507", role=role, codes=[code]
            )
            Token.objects.filter(user=account.user).delete()
            token = Token.objects.create(user=account.user)
            out[role] = Viewer(role, token.key, code, unmasked)
    return out


def gdal(*args: str, viewer: Viewer) -> str:
    tool = args[0]
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: install Debian's gdal-bin ('make system').")
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    command = [*args, "--config", "GDAL_HTTP_HEADERS", f"Authorization: Token {viewer.token}"]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=GDAL_TIMEOUT, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def expected(viewer: Viewer, django_db_blocker) -> dict[str, dict]:
    """What the database says the viewer sees: grids by code, households by id with the
    attributes as the role sees them."""
    with django_db_blocker.unblock():
        grids = {
            g.code: g.name
            for g in Grid.objects.at_generation(None).filter(code__startswith=viewer.prefix)
        }
        households = {}
        for h in Household.objects.filter(grid__code__startswith=viewer.prefix).select_related(
            "grid"
        ):
            id_number, phone = h.id_number or "", h.phone or ""
            if not viewer.unmasked:
                id_number, phone = mask_id_number(id_number), mask_phone(phone)
            households[h.pk] = {
                "address": h.address,
                "grid": h.grid.code,
                "head_name": h.head_name,
                "id_number": id_number,
                "phone": phone,
                "size": h.size,
            }
    return {"grids": grids, "households": households}


ROLES = [AccountRole.DISTRICT_ADMIN, AccountRole.GRID_WORKER]


@pytest.mark.parametrize("role", ROLES)
def test_ogrinfo_counts_what_the_database_holds(server_url, viewers, django_db_blocker, role):
    viewer = viewers[role]
    want = expected(viewer, django_db_blocker)
    assert want["households"], "the demo area has households"
    source = f"OAPIF:{server_url}/ogc/"
    listing = gdal("ogrinfo", "-ro", "-q", source, viewer=viewer)
    for layer in ("districts", "towns", "villages", *LAYERS, "stations", "incidents"):
        assert re.search(rf"^\d+: {layer}\b", listing, re.M), listing
    for layer in LAYERS:
        # GDAL 3.6 asks for 10 features a page unless told: 250 still pages many times.
        out = gdal("ogrinfo", "-ro", "-so", "-oo", "PAGE_SIZE=250", source, layer, viewer=viewer)
        count = int(re.search(r"Feature Count: (\d+)", out).group(1))
        assert count == len(want[layer]), out


@pytest.mark.parametrize("role", ROLES)
def test_ogr2ogr_to_geopackage_matches_the_database(
    server_url, viewers, django_db_blocker, tmp_path: Path, role
):
    viewer = viewers[role]
    want = expected(viewer, django_db_blocker)
    out = tmp_path / "out.gpkg"
    gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        "-preserve_fid",
        "-oo",
        "PAGE_SIZE=1000",
        str(out),
        f"OAPIF:{server_url}/ogc/",
        *LAYERS,
        viewer=viewer,
    )
    with sqlite3.connect(out) as db:
        db.row_factory = sqlite3.Row
        grids = {r["code"]: r["name"] for r in db.execute("SELECT code, name FROM grids")}
        rows = db.execute(
            "SELECT fid, address, grid, head_name, id_number, phone, size FROM households"
        ).fetchall()
        geometry_types = {
            r[0] for r in db.execute("SELECT geometry_type_name FROM gpkg_geometry_columns")
        }
    assert grids == want["grids"]
    got = {r["fid"]: {k: r[k] for k in r.keys() if k != "fid"} for r in rows}  # noqa: SIM118
    assert got.keys() == want["households"].keys()
    assert got == want["households"]
    assert geometry_types <= {"POINT", "MULTIPOLYGON"}
    if not viewer.unmasked:
        assert all("****" in h["phone"] for h in got.values() if h["phone"])
