"""Issue 13, acceptance 5, in headless Chromium against the small demo: a district
administrator imports households on the import page.

They open the page from the navigation, download the households template, upload a workbook
of eight households of which three are bad (an ID number whose check character is wrong, one
Excel turned into ``4.50702E+17``, a phone that is no number), wait for the dry run (run here
as the procrastinate worker would run it), read the summary (five new, three refused) and the
three refused rows with their columns and reasons, see the five new rows on the map, download
the error workbook (the three input rows with the error column added), fix nothing and
confirm; after the commit the five good households are in the database and the three bad ones
are not, and the export form on the same page gives them back as CSV. A second upload, one
household in the neighbouring district 450703 (outside the administrator's 450702), is
refused and writes nothing. Screenshot: docs/screenshots/import.png.

The households are committed (the server is another process), so they are removed afterwards,
and before (after an interrupted run), with the jobs and the login.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

DISTRICT = "450702"
NEIGHBOUR = "450703"
ADMIN = {"username": "browser-import-district-admin", "password": "browser-pass-import-1"}
CODE_PREFIX = "BRT13"
HEADER = ["户编号", "户主姓名", "身份证号", "联系电话", "地址", "人口数", "经度", "纬度"]


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker) -> Iterator[None]:
    """The server is another process: what the test writes is committed."""
    with django_db_blocker.unblock():
        purge()
        yield
        purge()


def purge() -> None:
    from django.contrib.auth import get_user_model

    from households.models import Household
    from imports.models import ImportJob

    Household.objects.filter(code__startswith=CODE_PREFIX).delete()
    ImportJob.objects.filter(user__username=ADMIN["username"]).delete()
    get_user_model().objects.filter(username=ADMIN["username"]).delete()


def id_number(n: int) -> str:
    from imports.normalise import id_check_character

    first17 = f"45070219800101{n:03d}"
    return first17 + id_check_character(first17)


def wrong_check_character(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def inner_points(count: int) -> list[tuple[float, float]]:
    """Points well inside demo grids of the district (one per grid)."""
    from grids.models import Grid

    points = []
    for grid in Grid.objects.current().filter(code__startswith=DISTRICT).order_by("code"):
        inner = grid.geom.buffer(-0.0005)
        if inner.empty:
            continue
        p = inner.point_on_surface
        points.append((round(p.x, 7), round(p.y, 7)))
        if len(points) == count:
            return points
    raise AssertionError("not enough demo grids")


def workbook(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "住户"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def first_workbook() -> tuple[bytes, list[str], dict[int, str]]:
    """Eight households: five good, three bad (Excel row number -> the bad column)."""
    points = inner_points(8)
    rows, good, bad = [], [], {}
    for i, (lon, lat) in enumerate(points):
        code = f"{CODE_PREFIX}{i:04d}"
        row = [code, f"测试户主{i}", id_number(i), f"1390777{i:04d}", f"测试村{i}号", 3, lon, lat]
        excel_row = i + 2
        if i == 1:
            row[2] = wrong_check_character(row[2])
            bad[excel_row] = "身份证号"
        elif i == 4:
            row[2] = 4.50702e17  # what Excel makes of an ID number typed into a number cell
            bad[excel_row] = "身份证号"
        elif i == 6:
            row[3] = "电话待补"
            bad[excel_row] = "联系电话"
        else:
            good.append(code)
        rows.append(row)
    return workbook(rows), good, bad


def neighbour_workbook() -> bytes:
    from grids.models import District

    district = District.objects.current().get(code=NEIGHBOUR)
    p = district.geom.point_on_surface
    return workbook(
        [[f"{CODE_PREFIX}9001", "邻区户主", id_number(901), "13907779001", "邻区某村", 2, p.x, p.y]]
    )


def sign_in(page: Any) -> None:
    page.goto("/accounts/login/?next=/imports/")
    page.fill("input[name=username]", ADMIN["username"])
    page.fill("input[name=password]", ADMIN["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/imports/")


def upload(page: Any, name: str, content: bytes) -> int:
    """Upload on /imports/; the new job's id (the page it lands on)."""
    page.goto("/imports/")
    page.select_option("select[name=kind]", "households")
    page.set_input_files(
        "input[name=file]",
        files=[
            {
                "name": name,
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": content,
            }
        ],
    )
    page.click("#im-upload button[type=submit]")
    page.wait_for_url("**/imports/*/")
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def run_worker_until(page: Any, state: str) -> None:
    """Run the queued jobs as the worker would, then wait for the page to show ``state`` (it
    polls the status and reloads when the state changes)."""
    from tests.imports.jobs import run_import_jobs

    run_import_jobs()
    page.wait_for_selector(f'#import-job[data-state="{state}"]', timeout=30_000)


def figures(page: Any) -> dict[str, int]:
    items = page.locator("[data-summary] [data-figure]")
    return {
        items.nth(i).get_attribute("data-figure"): int(
            items.nth(i).locator("[data-value]").inner_text()
        )
        for i in range(items.count())
    }


def test_a_district_administrator_imports_households(new_page) -> None:
    from openpyxl import load_workbook

    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from households.models import Household
    from imports.models import ImportJob

    account_upsert(
        username=ADMIN["username"],
        password=ADMIN["password"],
        role=AccountRole.DISTRICT_ADMIN,
        codes=[DISTRICT],
        first_name="黄志强",
    )
    content, good, bad = first_workbook()
    page, log = new_page(DESKTOP)
    page.goto("/map/")
    sign_in(page)
    # Reached from the navigation.
    assert page.locator(".gm-nav a[href='/imports/'][aria-current=page]").count() == 1
    # The header still fits a desktop with the administrator's extra links.
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]

    # The template of the kind.
    with page.expect_download() as template:
        page.click('[data-template="households"]')
    book = load_workbook(io.BytesIO(template.value.path().read_bytes()))
    assert [c.value for c in book.worksheets[0][1]][:3] == ["户编号", "户主姓名", "身份证号"]

    # Upload: the dry run is queued; the page waits for it.
    job_id = upload(page, "钦南区住户.xlsx", content)
    assert page.locator("#import-job").get_attribute("data-state") == "queued"
    assert page.locator("[data-progress]").is_visible()
    run_worker_until(page, "checked")

    shown = figures(page)
    assert {k: shown[k] for k in ("rows", "new", "updated", "unchanged", "refused")} == {
        "rows": 8,
        "new": 5,
        "updated": 0,
        "unchanged": 0,
        "refused": 3,
    }
    refused_rows = page.locator("[data-refusals] [data-refusal]")
    assert refused_rows.count() == 3
    seen = {
        int(refused_rows.nth(i).locator("[data-row]").inner_text()): refused_rows.nth(i)
        .locator("td")
        .nth(2)
        .inner_text()
        for i in range(3)
    }
    assert seen == bad
    # Nothing written yet.
    assert Household.objects.filter(code__startswith=CODE_PREFIX).count() == 0
    # The new rows on the map.
    page.wait_for_selector('#import-map[data-loaded="true"]')
    assert page.locator("#import-map").get_attribute("data-count-new") == "5"
    # The grids around them, outlined for orientation.
    page.wait_for_selector("#import-map[data-grids-loaded]")
    assert int(page.locator("#import-map").get_attribute("data-grids-loaded")) >= 1
    page.screenshot(path=str(SCREENSHOTS / "import.png"), full_page=True)

    # The error workbook: the three input rows, the error column added.
    with page.expect_download() as report:
        page.click("[data-report]")
    errors = load_workbook(io.BytesIO(report.value.path().read_bytes())).worksheets[0]
    rows = [[c.value for c in row] for row in errors.iter_rows()]
    header, body = rows[0], rows[1:]
    assert header[: len(HEADER)] == HEADER and len(header) == len(HEADER) + 3
    assert len(body) == 3
    assert sorted(r[len(HEADER) + 1] for r in body) == sorted(bad)  # the input row numbers
    assert all(r[-1] for r in body)  # the reasons

    # Fix nothing, confirm: the five good rows are written.
    page.click("[data-confirm]")
    page.wait_for_selector('#import-job[data-state="committing"]')
    run_worker_until(page, "done")
    assert page.locator("[data-done]").is_visible()
    stored = set(
        Household.objects.filter(code__startswith=CODE_PREFIX).values_list("code", flat=True)
    )
    assert stored == set(good)
    assert all(
        h.grid_id is not None and h.grid.code.startswith(DISTRICT)
        for h in Household.objects.filter(code__in=good).select_related("grid")
    )
    assert ImportJob.objects.get(pk=job_id).committed_at is not None

    # Taken out again on the same page: the households of the district as CSV.
    page.goto("/imports/")
    page.select_option("#export_kind", "households")
    page.select_option("#export_format", "csv")
    page.select_option("#export_area", DISTRICT)
    with page.expect_download() as exported:
        page.click("#im-export button[type=submit]")
    assert exported.value.suggested_filename == f"households-{DISTRICT}.csv"
    text = exported.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("户编号,户主姓名")
    assert all(code in text for code in good)

    # A household in the neighbouring district: refused, nothing written.
    upload(page, "邻区住户.xlsx", neighbour_workbook())
    run_worker_until(page, "checked")
    assert figures(page)["refused"] == 1 and figures(page)["new"] == 0
    assert page.locator("[data-refusals] [data-refusal]").count() == 1
    page.click("[data-confirm]")
    page.wait_for_selector('#import-job[data-state="committing"]')
    run_worker_until(page, "done")
    assert not Household.objects.filter(code=f"{CODE_PREFIX}9001").exists()
    assert log.errors == [] and log.failed == []
