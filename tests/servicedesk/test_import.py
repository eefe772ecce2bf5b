"""The service catalogue from a spreadsheet: ``import_records service_items`` (issue 15)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import load_workbook

from grids.models import District
from imports.exports import export
from imports.handlers import service_items as handler
from imports.handlers.common import MSG_OUTSIDE_JURISDICTION
from imports.kinds import KINDS
from imports.normalise import MSG_INTEGER_TOO_LARGE, MSG_REQUIRED
from imports.pipeline import run_import
from presence.admin_duty import MSG_DISTRICT_REQUIRED
from servicedesk.models import ServiceItem
from tests.factories import DistrictFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = [c.header for c in KINDS["service_items"].columns]


def write_csv(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(code: str, district: str = "", **changes: str) -> list[str]:
    values = {
        "code": code, "name": "高龄津贴申领", "kind": "医疗社保", "approving_level": "县级",
        "office": "区民政局", "conditions": "年满80周岁", "materials": "居民身份证\n 户口簿 ",
        "steps": "1. 受理\n\n2. 审核", "fees": "免费",
        "legal_basis": "《中华人民共和国老年人权益保障法》",
        "promised_days": "15", "at_village": "是", "district_code": district,
    }  # fmt: skip
    values.update(changes)
    return [values[c.key] for c in KINDS["service_items"].columns]


def test_the_import_writes_refuses_in_chinese_and_is_idempotent(tmp_path):
    district = DistrictFactory()
    rows = [
        row("T-YB004"),
        row("T-YB004", district.code, name="高龄津贴申领（本区）", promised_days="10"),
        row("T-DJ001", district.code, name="党员组织关系转接", kind="party building",
            approving_level="乡镇", at_village=""),
        # Refused: an unknown kind, a level nobody has, too many days, no name.
        row("X1", kind="体育"),
        row("X2", approving_level="省级"),
        row("X3", promised_days="400"),
        row("X4", name=""),
        # Refused: an unknown district.
        row("X5", "999999"),
    ]  # fmt: skip
    path = write_csv(tmp_path / "items.csv", rows)
    result = run_import("service_items", path, commit=True)
    assert (result.new, result.refused) == (3, 5), result.refusals
    reasons = {r.row: r.reason["msgid"] for r in result.refusals}
    assert reasons == {
        5: handler.MSG_UNKNOWN_KIND,
        6: handler.MSG_UNKNOWN_LEVEL,
        7: MSG_INTEGER_TOO_LARGE,
        8: MSG_REQUIRED,
        9: handler.MSG_UNKNOWN_DISTRICT,
    }
    # The reasons in Chinese (the default language), naming the column by its header.
    chinese = {r.row: r for r in result.refusals}
    assert chinese[5].column == "事项类别" and "体育" in chinese[5].message
    assert "党建服务" in chinese[5].message
    global_item = ServiceItem.objects.get(code="T-YB004", district=None)
    local = ServiceItem.objects.get(code="T-YB004", district=district)
    assert (global_item.promised_days, local.promised_days) == (15, 10)
    assert global_item.kind == "health" and global_item.approving_level == "county"
    assert global_item.materials == "居民身份证\n户口簿" and global_item.steps == "1. 受理\n2. 审核"
    party = ServiceItem.objects.get(code="T-DJ001")
    assert (party.kind, party.approving_level, party.at_village) == ("party", "town", True)
    # The same file again: nothing changes.
    again = run_import("service_items", path, commit=True)
    assert (again.new, again.updated, again.unchanged, again.refused) == (0, 0, 3, 5)
    # A change updates that item only; a column the file lacks keeps the stored values.
    short = [h for h in HEADER if h not in ("办理条件", "所需材料")]
    keep = [[v for h, v in zip(HEADER, r, strict=True) if h in short] for r in rows[:2]]
    keep[0][short.index("承诺办结时限（工作日）")] = "12"
    changed = run_import("service_items", write_csv(tmp_path / "i2.csv", keep, short), commit=True)
    assert (changed.updated, changed.unchanged) == (1, 1)
    global_item.refresh_from_db()
    assert global_item.promised_days == 12 and global_item.conditions == "年满80周岁"


def test_the_same_item_twice_in_a_file_is_refused_with_both_rows(tmp_path):
    path = write_csv(tmp_path / "twice.csv", [row("A1"), row("A1", fees="10元")])
    with translation.override("en"):
        result = run_import("service_items", path)
    assert [(r.row, r.reason["msgid"]) for r in result.refusals] == [
        (2, handler.MSG_DUPLICATE_ITEM),
        (3, handler.MSG_DUPLICATE_ITEM),
    ]
    assert "rows 2, 3" in result.refusals[0].message
    assert not ServiceItem.objects.filter(code="A1").exists()


def test_a_district_administrator_imports_only_their_own_districts_items(tmp_path):
    mine, other = DistrictFactory(), DistrictFactory()
    path = write_csv(
        tmp_path / "scope.csv", [row("M1", mine.code), row("M2", other.code), row("M3")]
    )
    result = run_import("service_items", path, commit=True, prefixes=[mine.code])
    assert result.new == 1
    assert {r.row: r.reason["msgid"] for r in result.refusals} == {
        3: MSG_OUTSIDE_JURISDICTION,
        4: MSG_DISTRICT_REQUIRED,
    }
    assert list(
        ServiceItem.objects.filter(code__startswith="M").values_list("code", flat=True)
    ) == ["M1"]


def test_the_command_writes_the_template_with_chinese_headers_and_imports_it(tmp_path):
    template = tmp_path / "template.xlsx"
    call_command("import_records", "service_items", "--template", str(template), verbosity=0)
    sheet = load_workbook(template).worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["事项编码", "事项名称", "事项类别", "审批层级"]
    assert "承诺办结时限（工作日）" in headers and "可在村办理" in headers and "区县编码" in headers
    # The template's example row imports as it is (a dry run, then --commit): a district's item.
    example = [c.value for c in sheet[2]]
    code, district_code = example[0], example[headers.index("区县编码")]
    if not District.objects.current().filter(code=district_code).exists():
        DistrictFactory(code=district_code)
    example_item = ServiceItem.objects.filter(code=code, district__code=district_code)
    assert not example_item.exists()
    call_command("import_records", "service_items", str(template), verbosity=0)
    assert not example_item.exists()
    call_command("import_records", "service_items", str(template), "--commit", verbosity=0)
    assert example_item.count() == 1


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_re_imports_unchanged(tmp_path, fmt):
    district = DistrictFactory()
    path = write_csv(tmp_path / "in.csv", [
        row("R1", district.code),
        row("R2", district.code, kind="党建服务", approving_level="村级", at_village="否",
            steps="1. 受理\n2. 谈话", fees=""),
    ])  # fmt: skip
    assert run_import("service_items", path, commit=True).new == 2
    out = tmp_path / f"items.{fmt}"
    written = export("service_items", out, area=district.code, unmasked=True)
    result = run_import("service_items", out, prefixes=[district.code])
    assert result.refusals == []
    assert (written, result.unchanged, result.new, result.updated) == (2, 2, 0, 0)
    # The headers are the template's (Chinese), the kind and level by their Chinese names.
    with out.open(encoding="utf-8-sig") as f:
        lines = list(csv.reader(f)) if fmt == "csv" else None
    if lines:
        assert lines[0] == HEADER and lines[2][2:4] == ["党建服务", "村级"]


def test_the_import_page_offers_the_kind_and_its_template(client):
    client.force_login(UserFactory(username="importer", is_superuser=True, is_staff=True))
    page = client.get("/imports/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'value="service_items"' in page and "服务事项" in page
    template = client.get("/imports/templates/service_items/")
    assert template.status_code == 200
    assert template["Content-Disposition"].startswith("attachment")


def test_both_spellings_of_the_county_level_are_read():
    """The interface says 区县; spreadsheets written with 县区 still import."""
    lookup = handler.level_lookup()
    assert lookup["区县"] == lookup["县区"] == lookup["县级"]
