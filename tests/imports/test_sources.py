"""Reading a county's files (imports.sources), the templates and the error workbook.

Each test writes its own tiny file: XLSX with openpyxl, CSV in the encoding a clerk's Excel or
WPS writes, GeoJSON by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook, load_workbook

from imports.kinds import HOUSEHOLDS, KIND_NAMES, KINDS, WORKERS
from imports.normalise import RowError, clean_phone
from imports.report import Refusal, write_error_workbook
from imports.sources import (
    MSG_DUPLICATE_COLUMN,
    MSG_MISSING_COLUMNS,
    MSG_NO_HEADER,
    MSG_NO_SHEET,
    MSG_OLD_EXCEL,
    MSG_UNKNOWN_FORMAT,
    SourceError,
    column_names,
    csv_encoding,
    ewkt,
    header_text,
    open_source,
)
from imports.templates import HELP_SHEET, TEXT_FORMAT, write_template

HEADER_ZH = ["户编号", "户主姓名", "身份证号", "联系电话", "地址"]
HEADER_EN = ["code", "head_name", "id_number", "phone", "address"]
ROW = ["H001", "张三", "450702199001011234", "13800000000", "沙埠镇一村1号"]


def xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def records(path: Path, kind=HOUSEHOLDS, **kwargs) -> list:
    return list(open_source(path, kind, **kwargs))


# --- Headers -----------------------------------------------------------------------------------


def test_chinese_headers_are_matched(tmp_path):
    path = xlsx(tmp_path / "h.xlsx", {"Sheet1": [HEADER_ZH, ROW]})
    source = open_source(path, HOUSEHOLDS)
    (record,) = list(source)
    assert record.values == dict(zip(HEADER_EN, ROW, strict=True))
    assert (record.sheet, record.number) == ("Sheet1", 2)
    assert source.header.unknown == []


def test_english_keys_are_matched_ignoring_spaces_full_width_and_case(tmp_path):
    header = [" CODE ", "\u3000Head_Name\u3000", "ｉｄ_ｎｕｍｂｅｒ", "Phone", "address"]
    path = xlsx(tmp_path / "h.xlsx", {"Sheet1": [header, ROW]})
    (record,) = records(path)
    assert record.values == dict(zip(HEADER_EN, ROW, strict=True))


def test_header_text_folds_full_width_space_and_letters():
    assert header_text("\u3000 户编号  ") == "户编号"
    assert header_text("ＣＯＤＥ") == "code"
    assert header_text(None) == ""


def test_a_merged_title_row_above_the_header_is_skipped(tmp_path):
    book = Workbook()
    ws = book.active
    ws.title = "台账"
    ws.append(["沙埠镇一村住户台账（2026年）"])
    ws.merge_cells("A1:E1")
    ws.append(["填表单位：一村", None, None, "地址：略"])
    ws.append([])
    ws.append(HEADER_ZH)
    ws.append(ROW)
    ws.append([])
    ws.append(["H002", "李四", None, None, "二号"])
    book.save(tmp_path / "t.xlsx")
    source = open_source(tmp_path / "t.xlsx", HOUSEHOLDS)
    got = list(source)
    assert source.header.number == 4
    assert [(r.sheet, r.number, r.values["code"]) for r in got] == [
        ("台账", 5, "H001"),
        ("台账", 7, "H002"),
    ]
    assert (source.rows, source.blank_rows) == (2, 1)


def test_a_source_read_in_part_is_closed(tmp_path):
    path = xlsx(tmp_path / "h.xlsx", {"S": [HEADER_ZH, ROW, ROW, ROW]})
    with open_source(path, HOUSEHOLDS) as source:
        first = next(iter(source))
    assert first.number == 2
    assert list(source) == []


def test_unknown_columns_are_reported_not_refused(tmp_path):
    path = xlsx(tmp_path / "h.xlsx", {"Sheet1": [[*HEADER_ZH, "备注", "户籍地"], [*ROW, "x", "y"]]})
    source = open_source(path, HOUSEHOLDS)
    assert source.header.unknown == ["备注", "户籍地"]
    assert len(list(source)) == 1


def test_a_second_row_of_english_keys_is_skipped(tmp_path):
    path = xlsx(tmp_path / "h.xlsx", {"Sheet1": [HEADER_ZH, HEADER_EN, ROW]})
    assert [r.number for r in records(path)] == [3]


def test_missing_required_column_refuses_the_file_in_the_users_language(tmp_path):
    path = xlsx(tmp_path / "h.xlsx", {"Sheet1": [["户编号", "联系电话"], ["H001", "13800000000"]]})
    with pytest.raises(SourceError) as caught:
        open_source(path, HOUSEHOLDS)
    assert caught.value.message["msgid"] == MSG_MISSING_COLUMNS
    assert caught.value.message["params"]["columns"] == "户主姓名 (head_name), 地址 (address)"
    with translation.override("en"):
        assert str(caught.value) == (
            "The file has no column 户主姓名 (head_name), 地址 (address), which households "
            "need. Add the column (its header is in the template) and import again."
        )
    with translation.override("zh-hans"):
        text = str(caught.value)
    assert "户主姓名 (head_name), 地址 (address)" in text
    assert "缺少" in text and "模板" in text


def test_no_header_row_and_duplicate_columns_are_file_errors(tmp_path):
    path = xlsx(tmp_path / "a.xlsx", {"S": [["甲", "乙"], [1, 2]]})
    with pytest.raises(SourceError) as caught:
        open_source(path, HOUSEHOLDS)
    assert caught.value.message["msgid"] == MSG_NO_HEADER
    path = xlsx(tmp_path / "b.xlsx", {"S": [[*HEADER_ZH, "phone"], [*ROW, "13900000000"]]})
    with pytest.raises(SourceError) as caught:
        open_source(path, HOUSEHOLDS)
    assert caught.value.message["msgid"] == MSG_DUPLICATE_COLUMN
    assert caught.value.message["params"] == {"column": "联系电话", "letters": "D, F"}


# --- XLSX -----------------------------------------------------------------------------------


def test_xlsx_sheet_is_chosen_by_name_and_values_stay_raw(tmp_path):
    path = xlsx(
        tmp_path / "h.xlsx",
        {
            "说明": [["这一页不是数据"]],
            "二组": [HEADER_ZH + ["人口数"], ["H009", "王五", 4.50702199001011e17, 138, "x", 3]],
        },
    )
    (record,) = records(path, sheet="二组")
    assert record.sheet == "二组"
    # An ID number Excel turned into a number stays a float: the validator says so.
    assert isinstance(record.values["id_number"], float)
    assert record.values["size"] == 3
    with pytest.raises(SourceError) as caught:
        open_source(path, HOUSEHOLDS, sheet="三组")
    assert caught.value.message["msgid"] == MSG_NO_SHEET
    assert caught.value.message["params"]["sheets"] == "说明, 二组"


def test_xlsx_formula_cells_give_their_values_and_guarded_text_reads_back(tmp_path):
    path = xlsx(tmp_path / "h.xlsx", {"S": [HEADER_ZH, ["'=1+1", "张三", None, None, "'@home"]]})
    (record,) = records(path)
    assert record.values["code"] == "=1+1"
    assert record.values["address"] == "@home"


# --- CSV ------------------------------------------------------------------------------------


def csv_text(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\r\n" for row in rows)


def test_gb18030_csv(tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes(csv_text([HEADER_ZH, ROW]).encode("gb18030"))
    assert csv_encoding(path) == "gb18030"
    (record,) = records(path)
    assert record.values == dict(zip(HEADER_EN, ROW, strict=True))
    assert (record.sheet, record.number) == ("h.csv", 2)


def test_utf8_csv_with_bom_and_without(tmp_path):
    for name, data in {
        "bom.csv": b"\xef\xbb\xbf" + csv_text([HEADER_ZH, ROW]).encode(),
        "plain.csv": csv_text([HEADER_ZH, ROW]).encode(),
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert csv_encoding(path) == "utf-8-sig"
        (record,) = records(path)
        # The BOM is not part of the first header.
        assert record.values["code"] == "H001", name


def test_csv_title_row_quoted_newlines_and_semicolons(tmp_path):
    path = tmp_path / "h.csv"
    text = (
        "一村住户台账;;;;\r\n"
        + ";".join(HEADER_ZH)
        + '\r\nH001;张三;;;"一村\r\n1号"\r\nH002;李四;;;二号\r\n'
    )
    path.write_bytes(text.encode("gb18030"))
    got = records(path)
    assert [r.values["address"] for r in got] == ["一村\r\n1号", "二号"]
    # Record numbers, as Excel shows the rows of the CSV (a quoted newline stays in its row).
    assert [r.number for r in got] == [3, 4]


# --- Geo files --------------------------------------------------------------------------------


def test_geojson_with_a_geometry_and_its_crs(tmp_path):
    path = tmp_path / "h.geojson"
    features = [
        {
            "type": "Feature",
            "properties": {"户编号": "H001", "户主姓名": "张三", "地址": "一号", "人口数": 3},
            "geometry": {"type": "Point", "coordinates": [108.65, 21.95]},
        },
        {
            "type": "Feature",
            "properties": {"户编号": "H002", "户主姓名": "李四", "地址": "二号", "人口数": None},
            "geometry": None,
        },
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    source = open_source(path, HOUSEHOLDS)
    got = list(source)
    assert source.crs == "EPSG:4326"
    assert source.header.unknown == []
    assert [(r.number, r.values["code"], r.values["size"]) for r in got] == [
        (2, "H001", 3),
        (3, "H002", None),
    ]
    assert shapely.from_wkb(got[0].values["geometry"]).equals(shapely.Point(108.65, 21.95))
    assert got[1].values["geometry"] is None
    assert ewkt(got[0].values["geometry"], source.srid) == "SRID=4326;POINT (108.65 21.95)"
    assert ewkt(None, 4326) is None


def test_geopackage_layer_is_chosen_by_sheet(tmp_path):
    import geopandas as gpd

    path = tmp_path / "h.gpkg"
    frame = gpd.GeoDataFrame(
        {"code": ["H001"], "head_name": ["张三"], "address": ["一号"]},
        geometry=[shapely.Point(500000, 2430000)],
        crs="EPSG:4545",
    )
    frame.to_file(path, layer="other", driver="GPKG")
    frame.to_file(path, layer="households", driver="GPKG")
    source = open_source(path, HOUSEHOLDS, sheet="households")
    (record,) = list(source)
    assert (source.crs, source.srid) == ("EPSG:4545", 4545)
    assert record.sheet == "households"
    assert shapely.from_wkb(record.values["geometry"]).x == 500000


def test_shapefile_with_its_prj(tmp_path):
    """A Shapefile's field names are at most 10 bytes: 户主姓名 (12 in UTF-8) does not fit,
    its English key does."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame(
        {"户编号": ["H001"], "head_name": ["张三"], "地址": ["一号"]},
        geometry=[shapely.Point(108.65, 21.95)],
        crs="EPSG:4490",
    )
    frame.to_file(tmp_path / "h.shp", encoding="utf-8")
    source = open_source(tmp_path / "h.shp", HOUSEHOLDS)
    (record,) = list(source)
    assert source.srid == 4490
    assert record.values["code"] == "H001" and record.values["head_name"] == "张三"


def test_unknown_file_type_old_excel_and_missing_file(tmp_path):
    (tmp_path / "h.doc").write_bytes(b"x")
    with pytest.raises(SourceError) as caught:
        open_source(tmp_path / "h.doc", HOUSEHOLDS)
    assert caught.value.message["msgid"] == MSG_UNKNOWN_FORMAT
    (tmp_path / "h.xls").write_bytes(b"x")
    with pytest.raises(SourceError) as caught:
        open_source(tmp_path / "h.xls", HOUSEHOLDS)
    assert caught.value.message["msgid"] == MSG_OLD_EXCEL
    with pytest.raises(SourceError):
        open_source(tmp_path / "none.xlsx", HOUSEHOLDS)


# --- Kinds and templates ------------------------------------------------------------------------


def test_households_and_workers_declare_the_columns_of_issue_13():
    assert [(c.key, c.header) for c in HOUSEHOLDS.columns] == [
        ("code", "户编号"),
        ("head_name", "户主姓名"),
        ("id_number", "身份证号"),
        ("phone", "联系电话"),
        ("address", "地址"),
        ("size", "人口数"),
        ("tags", "标签"),
        ("lon", "经度"),
        ("lat", "纬度"),
        ("building_code", "建筑编号"),
    ]
    assert [(c.key, c.header) for c in WORKERS.columns] == [
        ("name", "姓名"),
        ("phone", "手机号"),
        ("id_number", "身份证号"),
        ("email", "邮箱"),
        ("party_member", "是否党员"),
    ]
    assert list(KINDS) == list(KIND_NAMES)


# The keys and Chinese headers issue 13 (point 2) names, kind by kind.
ISSUE_COLUMNS = {
    "buildings": [
        ("code", "建筑编号"),
        ("address", "地址"),
        ("lon", "经度"),
        ("lat", "纬度"),
        ("floors", "层数"),
    ],
    "roles": [
        ("phone", "手机号"),
        ("role", "角色"),
        ("place_code", "地点编码"),
        ("start", "起始日期"),
        ("end", "结束日期"),
    ],
    "stations": [
        ("code", "工作站编码"),
        ("name", "名称"),
        ("town_code", "乡镇编码"),
        ("lon", "经度"),
        ("lat", "纬度"),
    ],
    "catchments": [
        ("village_code", "村编码"),
        ("station_code", "工作站编码"),
        ("start", "起始日期"),
    ],
    "party_members": [("household_code", "户编号"), ("phone", "手机号")],
    "central_households": [("household_code", "户编号")],
    "duty_shifts": [
        ("place_code", "地点编码"),
        ("date", "日期"),
        ("phone", "手机号"),
        ("span", "班次"),
        ("note", "备注"),
    ],
    "ten_household_units": [
        ("head_household_code", "联户长户编号"),
        ("central_household_code", "中心户户编号"),
        ("member_codes", "成员户编号"),
    ],
}


@pytest.mark.parametrize("name", list(ISSUE_COLUMNS))
def test_every_kind_declares_the_columns_the_issue_names(name):
    declared = {(c.key, c.header) for c in KINDS[name].columns}
    assert set(ISSUE_COLUMNS[name]) <= declared


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.name)
def test_columns_are_distinct_and_fit_a_shapefile(kind):
    """Keys, headers and Shapefile names are distinct within a kind; a Shapefile name holds
    10 bytes at most; no column's names collide with another's in the header matching."""
    keys = [c.key for c in kind.columns]
    assert len(set(keys)) == len(keys)
    assert len({c.header for c in kind.columns}) == len(keys)
    assert all(len(c.field_name.encode()) <= 10 for c in kind.columns)
    assert len({c.field_name for c in kind.columns}) == len(keys)
    names = column_names(kind)
    for col in kind.columns:
        for name in (col.header, col.key, col.field_name, col.key[:10]):
            assert names[header_text(name)] == col.key
    assert all(c.example != "" or not c.required for c in kind.columns)


def test_shapefile_names_are_matched(tmp_path):
    """A Shapefile written with the 10-byte names (or GDAL's own cut at 10) reads back."""
    kind = KINDS["ten_household_units"]
    header = ["HEAD_HH", "name", "central_ho", "members"]
    path = xlsx(tmp_path / "u.xlsx", {"S": [header, ["H1", "一联户", "H2", "H1、H3"]]})
    (record,) = records(path, kind)
    assert record.values == {
        "head_household_code": "H1",
        "name": "一联户",
        "central_household_code": "H2",
        "member_codes": "H1、H3",
    }


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.name)
def test_template_round_trip(tmp_path, kind):
    path = write_template(kind, tmp_path / f"{kind.name}.xlsx")
    book = load_workbook(path)
    data, help_sheet = book.worksheets
    assert help_sheet.title == HELP_SHEET
    assert [c.value for c in data[1]] == [c.header for c in kind.columns]
    for index, col in enumerate(kind.columns, start=1):
        letter = data.cell(row=1, column=index).column_letter
        assert data.cell(row=1, column=index).comment.text.startswith(col.key + "\n")
        if col.text:
            assert data.column_dimensions[letter].number_format == TEXT_FORMAT
            assert data.cell(row=2, column=index).number_format == TEXT_FORMAT
    help_keys = [row[1] for row in help_sheet.iter_rows(min_row=4, values_only=True)]
    assert help_keys == [c.key for c in kind.columns]

    source = open_source(path, kind)
    (record,) = list(source)
    assert source.header.number == 1 and source.header.unknown == []
    assert record.number == 2
    # An empty example (an optional column) is an empty cell.
    expected = {c.key: str(c.example) if c.text else c.example for c in kind.columns}
    assert record.values == {k: None if v == "" else v for k, v in expected.items()}


@pytest.mark.parametrize("name", KIND_NAMES)
def test_template_command_for_every_kind_and_its_template_reads_back(tmp_path, name):
    path = tmp_path / f"{name}.xlsx"
    call_command("import_records", name, "--template", str(path))
    assert load_workbook(path).sheetnames[1] == HELP_SHEET
    kind = KINDS[name]
    source = open_source(path, kind)
    assert sorted(source.header.keys.values()) == sorted(c.key for c in kind.columns)
    assert source.header.unknown == []
    assert len(list(source)) == 1


@pytest.mark.django_db
def test_dry_run_command_reads_and_counts(tmp_path, capsys):
    path = xlsx(tmp_path / "h.xlsx", {"S": [["标题"], [*HEADER_ZH, "备注"], ROW, ROW]})
    with translation.override("en"):
        call_command("import_records", "households", str(path))
        out = capsys.readouterr().out
    assert "Sheet S: header in row 2" in out
    assert "备注" in out
    assert "2 rows read" in out and "Dry run" in out


@pytest.mark.django_db
def test_dry_run_command_reads_the_sheet_given(tmp_path, capsys):
    path = xlsx(tmp_path / "h.xlsx", {"说明": [["无"]], "二组": [HEADER_EN, ROW]})
    with translation.override("zh-hans"):
        call_command("import_records", "households", str(path), "--sheet", "二组")
        out = capsys.readouterr().out
    assert "工作表 二组：表头在第 1 行" in out and "共读取 1 行" in out
    with pytest.raises(CommandError):
        call_command("import_records", "households", str(path), "--sheet", "三组")


def test_dry_run_command_refuses_a_file_without_a_required_column_and_reports_it(tmp_path):
    path = xlsx(tmp_path / "h.xlsx", {"S": [["户编号"], ["H001"]]})
    with translation.override("zh-hans"), pytest.raises(CommandError) as caught:
        call_command(
            "import_records", "households", str(path), "--report", str(tmp_path / "r.xlsx")
        )
    assert "户主姓名 (head_name)" in str(caught.value) and "缺少" in str(caught.value)
    (only,) = list(load_workbook(tmp_path / "r.xlsx").active.iter_rows(values_only=True))
    assert only[0] == str(caught.value)


# --- The error workbook --------------------------------------------------------------------------


def test_error_workbook_keeps_the_input_adds_where_and_why_and_guards_formulas(tmp_path):
    source_path = xlsx(
        tmp_path / "in.xlsx",
        {
            "一组": [
                ["台账"],
                [*HEADER_ZH, "备注"],
                ROW + ['=HYPERLINK("http://x")'],
                ["H002", "李四", 4.50702199001011e17, "-1", "二号"],
            ]
        },
    )
    # A text cell that starts like a formula (as WPS or a CSV brings one), not a formula.
    book = load_workbook(source_path)
    book.active["F3"].data_type = "s"
    book.save(source_path)
    source = open_source(source_path, HOUSEHOLDS)
    first, second = list(source)
    assert first.values["code"] == "H001" and first.cells[5] == '=HYPERLINK("http://x")'
    errors = {
        2: [Refusal("code", {"msgid": "a household code twice in one file"})],
        4: [
            Refusal("id_number", {"msgid": "ID number"}),
            Refusal("phone", {"msgid": "phone"}),
        ],
    }
    out = write_error_workbook(
        tmp_path / "errors.xlsx",
        source.header,
        [(first, errors[2]), (second, errors[4])],
    )
    ws = load_workbook(out).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert ws.title == "一组"
    assert rows[0][:6] == [*HEADER_ZH, "备注"]
    assert rows[0][6:] == ["工作表", "行号", "错误"]
    # The formula is text (quoted), not a formula; a data type "s" cell.
    assert rows[1][5] == '\'=HYPERLINK("http://x")'
    assert ws.cell(row=2, column=6).data_type == "s"
    assert rows[1][6:8] == ["一组", 3]
    assert rows[1][8].startswith("户编号：")
    assert rows[2][2] == 4.50702199001011e17
    assert rows[2][3] == "'-1"
    assert rows[2][6:8] == ["一组", 4]
    assert rows[2][8].startswith("身份证号：") and "；联系电话：" in rows[2][8]

    # Fixed or not, the workbook re-imports as the input did.
    again = open_source(out, HOUSEHOLDS)
    assert [r.values for r in again] == [first.values, second.values]
    assert again.header.unknown == ["备注", "工作表", "行号", "错误"]


def test_error_workbook_in_english_and_for_a_refused_file(tmp_path):
    source_path = xlsx(tmp_path / "in.xlsx", {"S": [HEADER_EN, ROW]})
    source = open_source(source_path, HOUSEHOLDS)
    (record,) = list(source)
    with translation.override("en"):
        out = write_error_workbook(
            tmp_path / "e.xlsx", source.header, [(record, [Refusal("phone", {"msgid": "bad"})])]
        )
        refused = write_error_workbook(
            tmp_path / "r.xlsx",
            None,
            [],
            file_errors=[
                Refusal(
                    None,
                    {
                        "msgid": MSG_NO_HEADER,
                        "params": {"rows": 10, "sheet": "S", "kind": {"msgid": "households"}},
                    },
                )
            ],
        )
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][5:] == ("sheet", "row", "errors")
    assert rows[1][5:] == ("S", 2, "phone: bad")
    (only,) = list(load_workbook(refused).active.iter_rows(values_only=True))
    assert only[0].startswith("No header row found in the first 10 rows of S")


def test_a_cleaners_refusal_goes_into_the_error_workbook(tmp_path):
    """The cleaners of ``imports.normalise`` raise ``RowError``; ``Refusal.of`` carries it into
    the workbook with its column and its reason in the reader's language."""
    source = open_source(xlsx(tmp_path / "in.xlsx", {"S": [HEADER_EN, ROW]}), HOUSEHOLDS)
    (record,) = list(source)
    with pytest.raises(RowError) as refused:
        clean_phone("12345", column="phone")
    with translation.override("zh-hans"):
        out = write_error_workbook(
            tmp_path / "e.xlsx", source.header, [(record, [Refusal.of(refused.value)])]
        )
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[1][-1].startswith("phone：") and "12345" in rows[1][-1]
