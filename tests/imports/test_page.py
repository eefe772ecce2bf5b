"""The import page (imports.views): who may use it, uploads refused with a clerk's message
and nothing kept, jobs visible only to their uploader, confirm and cancel, the template and
the error workbook as downloads."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook, load_workbook

from accounts.models import AccountRole
from accounts.services import account_upsert
from imports import files
from imports.models import ImportJob, JobState
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def import_root(settings, tmp_path: Path) -> Path:
    settings.GRIDMAP_IMPORT_ROOT = tmp_path / "imports"
    return settings.GRIDMAP_IMPORT_ROOT


def login(role: AccountRole, codes: list[str], username: str) -> Client:
    account = account_upsert(username=username, password="pass-word-1", role=role, codes=codes)
    client = Client()
    client.force_login(account.user)
    return client


@pytest.fixture
def admin_client() -> Client:
    return login(AccountRole.DISTRICT_ADMIN, ["990101"], "import-district-admin")


@pytest.fixture
def admin_user(admin_client: Client) -> Any:
    return ImportJob._meta.get_field("user").related_model.objects.get(
        username="import-district-admin"
    )


def households_xlsx(rows: list[list[Any]] | None = None) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(["户编号", "户主姓名", "地址", "经度", "纬度"])
    for row in rows or [["H1", "张三", "某村1号", 100.01, 0.01]]:
        ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def upload(client: Client, name: str, content: bytes, **fields: str) -> Any:
    data = {"kind": "households", "sheet": "", "crs": "", **fields}
    data["file"] = SimpleUploadedFile(name, content)
    return client.post("/imports/", data)


def queued_jobs() -> list[dict[str, Any]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args FROM procrastinate_jobs WHERE task_name = 'imports.run_job' "
            "AND status = 'todo' ORDER BY id"
        )
        return [json.loads(a) if isinstance(a, str) else a for (a,) in cursor.fetchall()]


# --- access ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "role, codes",
    [
        (AccountRole.GRID_WORKER, ["990101001001001"]),
        (AccountRole.TOWN_STAFF, ["990101001"]),
        (AccountRole.PLANNER, ["990101001"]),
    ],
)
def test_only_administrators_open_the_page(role, codes) -> None:
    client = login(role, codes, f"import-{role}")
    assert client.get("/imports/").status_code == 403
    response = upload(client, "h.xlsx", households_xlsx())
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_anonymous_is_sent_to_log_in() -> None:
    response = Client().get("/imports/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "role, code", [(AccountRole.DISTRICT_ADMIN, "990101"), (AccountRole.CITY_ADMIN, "990100")]
)
def test_district_and_city_administrators_see_the_form_and_templates(role, code) -> None:
    client = login(role, [code], f"import-{role}")
    response = client.get("/imports/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'name="kind"' in text and 'type="file"' in text
    assert 'data-template="households"' in text
    assert "住户" in text  # the kinds in Chinese (the default language)
    assert 'value="gcj02"' in text and 'value="bd09"' in text


def test_superuser_opens_the_page() -> None:
    client = Client()
    client.force_login(UserFactory(username="import-root", is_superuser=True, is_staff=True))
    assert client.get("/imports/").status_code == 200


# --- uploads --------------------------------------------------------------------------------
def test_a_good_upload_keeps_the_file_and_queues_the_dry_run(admin_client, import_root) -> None:
    # One workbook: two written a second apart differ in their zip entries' times.
    workbook = households_xlsx()
    response = upload(admin_client, "村里的住户.xlsx", workbook, crs="gcj02")
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"
    assert (job.kind, job.crs, job.state, job.original_name) == (
        "households",
        "gcj02",
        JobState.QUEUED,
        "村里的住户.xlsx",
    )
    # Stored under a generated name, never the uploader's.
    assert job.stored_name.endswith(".xlsx") and "住户" not in job.stored_name
    assert (import_root / job.stored_name).read_bytes() == workbook
    assert queued_jobs() == [{"job_id": job.pk, "commit": False}]
    assert [h["state"] for h in job.history] == ["queued"]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("户籍.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "另存为"),
        ("notes.txt", b"hello", ".xlsx"),
        ("run.exe", b"MZ\x90\x00", ".xlsx"),
        ("fake.xlsx", b"just text, not a workbook", "Excel"),
        ("fake.gpkg", b"not sqlite", "GeoPackage"),
        ("fake.geojson", b"<html><script>alert(1)</script>", "GeoJSON"),
        ("binary.csv", b"a,b\x00\x00c", "CSV"),
        ("empty.zip", b"PK\x05\x06" + b"\x00" * 18, "Shapefile"),
    ],
)
def test_a_bad_upload_is_refused_with_a_clerks_message_and_nothing_kept(
    admin_client, import_root, name, content, expected
) -> None:
    response = upload(admin_client, name, content)
    assert response.status_code == 400
    text = response.content.decode()
    assert 'data-error="file"' in text
    assert expected in text
    assert not ImportJob.objects.exists()
    assert queued_jobs() == []
    assert not import_root.exists() or list(import_root.iterdir()) == []


def test_a_workbook_with_macros_is_refused(admin_client) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"'
            "/></Types>",
        )
        archive.writestr("xl/vbaProject.bin", b"macro")
    response = upload(admin_client, "宏.xlsx", buf.getvalue())
    assert response.status_code == 400
    assert "宏" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_too_large_file_is_refused(admin_client, settings) -> None:
    settings.GRIDMAP_IMPORT_MAX_MB = 0
    response = upload(admin_client, "h.xlsx", households_xlsx())
    assert response.status_code == 400
    assert "MB" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_unknown_kind_or_crs_is_refused(admin_client) -> None:
    assert upload(admin_client, "h.xlsx", households_xlsx(), kind="martians").status_code == 400
    assert upload(admin_client, "h.xlsx", households_xlsx(), crs="epsg:3857").status_code == 400
    assert not ImportJob.objects.exists()


def test_a_zipped_shapefile_and_csv_pass(admin_client) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for part in ("h.shp", "h.shx", "h.dbf", "h.prj"):
            archive.writestr(part, b"x")
    assert upload(admin_client, "h.zip", buf.getvalue()).status_code == 302
    csv = "户编号,户主姓名,地址\nH1,张三,某村\n".encode("gb18030")
    assert upload(admin_client, "h.csv", csv).status_code == 302
    assert ImportJob.objects.count() == 2


# --- one job: only its uploader -------------------------------------------------------------
def make_job(user: Any, **fields: Any) -> ImportJob:
    defaults = {
        "kind": "households",
        "original_name": "h.xlsx",
        "size": 10,
        "state": JobState.CHECKED,
        "result": {
            "kind": "households", "rows": 5, "new": 2, "updated": 1, "unchanged": 0,
            "refused": 2, "normalised": 1, "committed": False, "unknown_columns": ["备注"],
            "refusals": [
                {"sheet": "Sheet", "row": 3, "column": "身份证号", "message": "校验码错误",
                 "reason": {"msgid": "Choose the kind of record the file holds.", "params": {}}},
                {"sheet": "Sheet", "row": 4, "column": "联系电话",
                 "message": '<img src=x onerror="alert(1)">'},
            ],
            "points": [[100.01, 0.01, "new"], [100.02, 0.02, "updated"]],
        },
    }  # fmt: skip
    defaults.update(fields)
    return ImportJob.objects.create(user=user, **defaults)


def test_the_job_page_shows_the_summary_refusals_and_points(admin_client, admin_user) -> None:
    job = make_job(admin_user)
    response = admin_client.get(f"/imports/{job.pk}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-figure="new"' in text and 'data-figure="refused"' in text
    assert text.count("data-refusal>") == 2
    # A stored reason is rendered in the reader's language; a message as text, never markup.
    assert "请选择文件中数据的类型。" in text and "校验码错误" not in text
    assert '<img src=x onerror="alert(1)">' not in text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text
    assert "data-confirm" in text and "data-cancel" in text
    assert "备注" in text
    config = response.context["page_config"]
    assert config["points"] == [[100.01, 0.01, "new"], [100.02, 0.02, "updated"]]


def test_another_administrators_job_is_not_found(admin_user) -> None:
    job = make_job(admin_user)
    other = login(AccountRole.DISTRICT_ADMIN, ["990101"], "import-other-admin")
    for suffix in ("", "status/", "report/"):
        assert other.get(f"/imports/{job.pk}/{suffix}").status_code == 404
    for action in ("confirm", "cancel"):
        assert other.post(f"/imports/{job.pk}/{action}/").status_code == 404
    job.refresh_from_db()
    assert job.state == JobState.CHECKED and not job.cancel_requested
    # The list shows only one's own.
    assert f'data-job="{job.pk}"' not in other.get("/imports/").content.decode()


def test_a_superuser_sees_any_job(admin_user) -> None:
    job = make_job(admin_user)
    root = Client()
    root.force_login(UserFactory(username="import-root-2", is_superuser=True, is_staff=True))
    assert root.get(f"/imports/{job.pk}/").status_code == 200


def test_status_is_json_for_the_progress_bar(admin_client, admin_user) -> None:
    job = make_job(admin_user, state=JobState.RUNNING, rows_read=2500, rows_total=10000)
    response = admin_client.get(f"/imports/{job.pk}/status/")
    assert response.status_code == 200
    assert response.json() == {
        "state": "running",
        "stateLabel": "正在检查",
        "active": True,
        "rowsRead": 2500,
        "rowsTotal": 10000,
        "percent": 25,
        "cancelRequested": False,
    }
    assert response["Cache-Control"] == "no-store"


def test_confirm_queues_the_commit(admin_client, admin_user) -> None:
    job = make_job(admin_user)
    response = admin_client.post(f"/imports/{job.pk}/confirm/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.COMMITTING
    assert queued_jobs() == [{"job_id": job.pk, "commit": True}]
    # Twice (another tab): refused with why, nothing queued again.
    again = admin_client.post(f"/imports/{job.pk}/confirm/")
    assert again.status_code == 409
    assert "data-problem" in again.content.decode()
    assert len(queued_jobs()) == 1


def test_confirm_needs_post_and_csrf(admin_user) -> None:
    job = make_job(admin_user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get(f"/imports/{job.pk}/confirm/").status_code == 405
    assert client.post(f"/imports/{job.pk}/confirm/").status_code == 403
    job.refresh_from_db()
    assert job.state == JobState.CHECKED


def test_cancel_a_checked_job_ends_it_and_removes_the_file(
    admin_client, admin_user, import_root, django_capture_on_commit_callbacks
) -> None:
    import_root.mkdir(parents=True, exist_ok=True)
    name = "0" * 32 + ".xlsx"
    (import_root / name).write_bytes(b"x")
    job = make_job(admin_user, stored_name=name)
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/imports/{job.pk}/cancel/").status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.stored_name == ""
    assert not (import_root / name).exists()
    assert admin_client.post(f"/imports/{job.pk}/cancel/").status_code == 409


def test_cancel_a_running_job_asks_the_worker(admin_client, admin_user) -> None:
    job = make_job(admin_user, state=JobState.RUNNING, result=None)
    assert admin_client.post(f"/imports/{job.pk}/cancel/").status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.RUNNING and job.cancel_requested
    page = admin_client.get(f"/imports/{job.pk}/").content.decode()
    assert "data-cancelling" in page


def test_cancel_a_job_whose_worker_is_gone_ends_it(admin_client, admin_user) -> None:
    import datetime as dt

    from django.utils import timezone

    job = make_job(admin_user, state=JobState.COMMITTING)
    # Pressing Cancel does not count as progress: pressed again after the worker's silence...
    assert admin_client.post(f"/imports/{job.pk}/cancel/").status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.COMMITTING and job.cancel_requested  # the worker will see it
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=16))
    assert admin_client.post(f"/imports/{job.pk}/cancel/").status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED  # ...it ends at once


def test_the_template_downloads_as_a_workbook(admin_client) -> None:
    response = admin_client.get("/imports/templates/households/")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.worksheets[0]["A1"].value == "户编号"
    assert admin_client.get("/imports/templates/martians/").status_code == 404


def test_the_error_workbook_downloads_as_an_attachment(
    admin_client, admin_user, import_root
) -> None:
    import_root.mkdir(parents=True, exist_ok=True)
    report = files.new_report_name()
    workbook = households_xlsx()
    (import_root / report).write_bytes(workbook)
    job = make_job(admin_user, report_name=report)
    response = admin_client.get(f"/imports/{job.pk}/report/")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == workbook
    # No workbook written: 404.
    bare = make_job(admin_user)
    assert admin_client.get(f"/imports/{bare.pk}/report/").status_code == 404


def test_the_state_is_a_database_invariant(admin_user) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        make_job(admin_user, state="exploded")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_job(admin_user, state=JobState.DONE)  # done without committed_at
    with pytest.raises(IntegrityError), transaction.atomic():
        make_job(admin_user, stored_name="../../etc/passwd")


# --- the export form ------------------------------------------------------------------------
@pytest.fixture
def two_districts() -> dict[str, Any]:
    from tests.factories import (
        DistrictFactory,
        GridFactory,
        HouseholdFactory,
        TownFactory,
        VillageFactory,
        rect,
    )

    mine = DistrictFactory(code="990101", geom=rect(100.0, 0.0, 100.1, 0.1))
    other = DistrictFactory(code="990102", geom=rect(100.1, 0.0, 100.2, 0.1))
    grids = {}
    for district in (mine, other):
        town = TownFactory(district=district, code=district.code + "001", geom=district.geom)
        village = VillageFactory(town=town, code=town.code + "001", geom=district.geom)
        grids[district.code] = GridFactory(
            village=village, code=village.code + "001", geom=district.geom
        )
    HouseholdFactory(code="EXP-MINE", grid=grids["990101"], phone="13912345678")
    HouseholdFactory(code="EXP-OTHER", grid=grids["990102"])
    return grids


def test_the_export_downloads_my_jurisdiction_masked(admin_client, two_districts) -> None:
    page = admin_client.get("/imports/").content.decode()
    assert 'id="im-export"' in page and 'value="990101001"' in page
    assert 'value="990102' not in page  # the other district's areas are not offered
    response = admin_client.get("/imports/export/", {"kind": "households", "format": "csv"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("户编号,")
    assert "EXP-MINE" in text and "EXP-OTHER" not in text
    assert "13912345678" not in text  # a district administrator sees residents' phones masked


def test_the_export_of_an_area_and_as_a_zipped_shapefile(admin_client, two_districts) -> None:
    response = admin_client.get(
        "/imports/export/", {"kind": "households", "format": "shp", "area": "990101001"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        suffixes = {Path(n).suffix for n in archive.namelist()}
    assert {".shp", ".shx", ".dbf"} <= suffixes


def test_the_export_refuses_an_area_outside_and_a_map_format_without_geometry(
    admin_client, two_districts
) -> None:
    outside = admin_client.get(
        "/imports/export/", {"kind": "households", "format": "csv", "area": "990102"}
    )
    assert outside.status_code == 400
    assert 'data-export-error="area"' in outside.content.decode()
    workers = admin_client.get("/imports/export/", {"kind": "workers", "format": "gpkg"})
    assert workers.status_code == 400
    assert "data-export-error" in workers.content.decode()


def test_the_export_is_for_administrators_only(two_districts) -> None:
    client = login(AccountRole.TOWN_STAFF, ["990101001"], "export-town-staff")
    assert (
        client.get("/imports/export/", {"kind": "households", "format": "csv"}).status_code == 403
    )
