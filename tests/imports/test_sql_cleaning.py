"""A CSV cleaned in the database (imports.pipeline._load_sql): the SQL conditions of
imports.normalise accept only cells the Python cleaners keep as they are; Fernet tokens and
keyed hashes made in SQL (gridmap.crypto's *_sql, pgcrypto) decrypt and equal Python's; and a
file of messy rows gives the same answer through SQL, through the Python cleaners alone and as
an XLSX workbook."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from functools import partial

import pytest
from django.db import connection
from openpyxl import Workbook

from gridmap.crypto import (
    decrypt,
    fernet_body_sql,
    fernet_token_sql,
    keyed_hash,
    keyed_hash_sql,
    sql_keys,
)
from households.models import Household
from imports import normalise
from imports.pipeline import run_import

from .test_pipeline import (
    HEADER_EN,
    id_number,
    points,  # noqa: F401 (a fixture)
    reasons,
    row,
    write_csv,
)

pytestmark = pytest.mark.django_db


def keys_table(cur) -> None:
    """The key material in a temporary table, as the pipeline holds it."""
    cur.execute("DROP TABLE IF EXISTS k")
    cur.execute("CREATE TEMPORARY TABLE k (ts bytea, sign bytea, enc bytea, hash bytea)")
    material = sql_keys()
    with cur.cursor.copy("COPY k (ts, sign, enc, hash) FROM STDIN") as copy:
        copy.write_row([material[n] for n in ("ts", "sign", "enc", "hash")])


VALUES = ["45070219900101123X", "13800000000", "0777-2822222", "王小明", "沙埠镇 一村1号", "x"]


@pytest.mark.parametrize("rotated", [False, True])
def test_tokens_made_in_sql_decrypt_in_python_and_hashes_equal(settings, rotated):
    if rotated:  # a new key first: SQL encrypts with it, Python decrypts with either
        from cryptography.fernet import Fernet

        settings.GRIDMAP_FIELD_KEYS = [Fernet.generate_key().decode(), *settings.GRIDMAP_FIELD_KEYS]
    body = fernet_body_sql("v.value", "v.iv", "k")
    with connection.cursor() as cur:
        keys_table(cur)
        cur.execute(
            f"""SELECT value, {fernet_token_sql("body", "k")}, {keyed_hash_sql("value", "k")}
                  FROM (SELECT v.value, {body} AS body
                          FROM (SELECT value, gen_random_bytes(16) AS iv
                                  FROM unnest(%s::text[]) value OFFSET 0) v
                         CROSS JOIN k OFFSET 0) s CROSS JOIN k""",
            [VALUES + VALUES],
        )
        rows = cur.fetchall()
    assert len(rows) == 2 * len(VALUES)
    for value, token, _ in rows:
        assert token.startswith("gAAAAA") and "\n" not in token
        assert decrypt(token) == value
    # Each value encrypted with its own IV: the same text twice gives two tokens.
    tokens = [t for _, t, _ in rows]
    assert len(set(tokens)) == len(tokens)
    # The hash of a value already normalised (as the import hands it over) is Python's; other
    # text (Chinese, spaces) is hashed as its UTF-8 bytes, as Python's HMAC is.
    key = sql_keys()["hash"]
    for value, _, hashed in rows:
        if value.isascii() and value.isalnum() and value == value.upper():
            assert hashed == keyed_hash(value)
        assert hashed == hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# A valid number whose check character is X.
X_NUMBER = next(n for n in map(id_number, range(1000)) if n.endswith("X"))
# Cells for each SQL condition: clean ones (which must be recognised) and every kind of mess.
CLEAN_CELLS = {
    "code": ["T001", "H000000001", "abc123", ""],
    "text": ["张三", "沙埠镇 一村1号", "A b"],
    "id": [X_NUMBER, id_number(5), id_number(17), ""],
    "phone": ["13800000000", "19912345678", ""],
    "size": ["1", "3", "30", "07", ""],
    "lon_lat": [("108.3", "21.9"), ("108.3456789", "21.9876543"), ("", ""), ("-0.5", "0")],
}
MESSY_CELLS = {
    "code": ["T 001", "Ｔ001", "4E10", "12e3", "T-001", " T001", "450702001001.0", "x" * 41],
    "text": [" 张三", "张三 ", "张  三", "张\t三", "张\u3000三", "", " ", "张" * 51, "a\nb"],
    "id": [
        X_NUMBER[:-1] + "x",
        "４５０７０２１９９００１０１１２３Ｘ",
        "450702 19900101 123X",
        "450702900101123",
        "4.50702E+17",
        "450702199001011000",
        "45070219900101123",
        "450702199002301239",
        "450702299001011236",
        "450702187001011234",
        "45070219900101123X\n",
        "abcdefghijklmnopqr",
        "45070219900101*23X",
        X_NUMBER + "1",
        "X" + X_NUMBER[1:],
        "XX",
    ],
    "phone": [
        "+86 138 0000 0000",
        "138 0000 0000",
        "8613800000000",
        "0777-2822222",
        "2822222",
        "1234567",
        "13800000000/13900000000",
        "１３８００００００００",
        "12800000000",
        " 13800000000",
        "138000000001",
        "1380000000",
    ],
    "size": ["３", "3人", "3.0", "0", "31", "abc", "-1", "+3", " 3", "1234567890"],
    "lon_lat": [
        ("108.3", ""),
        ("", "21.9"),
        ("21.9", "108.3"),
        ("181", "21.9"),
        ("108.3", "91"),
        ("108.3°", "21.9"),
        ("１０８.３", "21.9"),
        (" 108.3", "21.9"),
        ("1e2", "21.9"),
        ("108.", "21.9"),
        ("nan", "21.9"),
        ("0108.3", "21.9"),
        ("-0108.3", "21.9"),
        ("108.123456789012345678", "21.9"),
        ("108.3", "21.-9"),
        ("--108.3", "21.9"),
    ],
}


def sql_verdicts(condition, values: list, params: list | None = None) -> list[bool]:
    """The SQL condition (a function of a cell's SQL) on each value, in order."""
    with connection.cursor() as cur:
        if isinstance(values[0], tuple):
            cur.execute(
                f"""SELECT {condition("lon", "lat")} FROM unnest(%s::text[], %s::text[])
                     WITH ORDINALITY AS v (lon, lat, i) ORDER BY i""",
                [*(params or []), [v[0] for v in values], [v[1] for v in values]],
            )
        else:
            cur.execute(
                f"""SELECT {condition("v")} FROM unnest(%s::text[]) WITH ORDINALITY AS t (v, i)
                     ORDER BY i""",
                [*(params or []), values],
            )
        return [r[0] for r in cur.fetchall()]


CONDITIONS = {
    "code": (partial(normalise.code_sql, max_length=40, required=False), None),
    "text": (partial(normalise.text_sql, max_length=50), None),
    "id": (normalise.id_number_sql, [date.today()]),
    "phone": (normalise.phone_sql, None),
    "size": (partial(normalise.integer_sql, minimum=1, maximum=30), None),
    "lon_lat": (normalise.lon_lat_sql, None),
}
CLEANERS = {
    "code": partial(normalise.clean_code, max_length=40),
    "text": partial(normalise.clean_text, max_length=50),
    "id": normalise.clean_id_number,
    "phone": normalise.clean_phone,
    "size": partial(normalise.clean_integer, minimum=1, maximum=30),
    "lon_lat": lambda cell: normalise.clean_lon_lat(*cell, convert=False),
}


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_the_sql_conditions_accept_clean_cells_and_only_what_the_cleaners_keep(name):
    condition, params = CONDITIONS[name]
    clean, messy = CLEAN_CELLS[name], MESSY_CELLS[name]
    verdicts = sql_verdicts(condition, clean + messy, params)
    assert verdicts[: len(clean)] == [True] * len(clean), "a clean cell is not recognised"
    for cell, accepted in zip(clean + messy, verdicts, strict=True):
        if not accepted:
            continue  # cleaned in Python: the same answer by construction
        cleaned = CLEANERS[name](cell)
        assert not cleaned.normalised, cell
        expected = cell
        if name == "size":
            expected = int(cell) if cell else None
        elif name == "lon_lat":
            expected = (float(cell[0]), float(cell[1])) if cell[0] else None
        assert cleaned.value == expected, cell
    # Every messy cell goes the Python way (where it is normalised or refused).
    assert verdicts[len(clean) :] == [False] * len(messy), [
        c for c, v in zip(messy, verdicts[len(clean) :], strict=True) if v
    ]


# --- The same file three ways ---------------------------------------------------------------


def messy_rows(p: dict) -> list[list]:
    wrong = id_number(13)[:-1] + ("1" if id_number(13)[-1] != "1" else "2")
    rows = [row(f"T{i:03d}", p) for i in range(1, 6)]
    rows += [
        row("T010", p, id_number=X_NUMBER[:-1] + "x"),
        row("T011", p, id_number=id_number(11).translate(str.maketrans("0123", "０１２３"))),
        row("T012", p, id_number="4.50702E+17"),
        row("T013", p, id_number=wrong),
        row("T014", p, id_number="450702900101123"),
        row("T015", p, phone="+86 138 0000 0000"),
        row("T016", p, phone="1234567"),
        row("T017", p, phone="0777-2822222"),
        row("T018", p, size="3人"),
        row("T019", p, size="31"),
        row("T020", p, tags="留守老人、低保户"),
        row("T021", p, tags="不存在"),
        row("T022", p, head_name=" 李四 "),
        row("T023", p, lon=p["lat"], lat=p["lon"]),
        row("T024", p, lon="", lat=""),
        ["T 025", *row("T025", p)[1:]],
        row("T026", p, tags="", phone="", id_number=""),
        row("T027", p, address="沙埠镇\t一村"),
        row("T003", p),
    ]
    return rows


def outcome(result) -> tuple:
    return (
        result.rows,
        result.new,
        result.refused,
        result.normalised,
        result.normalised_columns,
        sorted(reasons(result)),
    )


def stored(codes: list[str]) -> list[tuple]:
    return [
        (
            h.code,
            h.head_name,
            h.id_number,
            h.id_number_hash,
            h.phone,
            h.phone_hash,
            h.address,
            h.size,
            sorted(h.tags),
            round(h.location.x, 9),
            round(h.location.y, 9),
            h.grid_id,
        )
        for h in Household.objects.filter(code__in=codes).order_by("code")
    ]


def test_a_messy_csv_gives_the_same_answer_in_sql_in_python_and_as_xlsx(
    tmp_path,
    points,  # noqa: F811
    settings,
):
    p = points[0]
    rows = messy_rows(p)
    text_rows = [["" if v is None else str(v) for v in r] for r in rows]
    path = write_csv(tmp_path / "h.csv", HEADER_EN, text_rows)
    codes = [r[0] for r in text_rows] + ["T025"]

    def imported(statements: list[str]):
        def record(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            return run_import("households", path, commit=True)

    sql_statements: list[str] = []
    in_sql = imported(sql_statements)
    assert in_sql.new > 5 and in_sql.refused > 5
    assert any("FROM import_raw" in sql for sql in sql_statements)
    sql_stored = stored(codes)
    Household.objects.filter(code__in=codes).delete()

    settings.GRIDMAP_IMPORT_CLEAN_IN_DB = False  # every row through the Python cleaners
    python_statements: list[str] = []
    in_python = imported(python_statements)
    assert not any("import_raw" in sql for sql in python_statements)
    python_stored = stored(codes)
    Household.objects.filter(code__in=codes).delete()
    settings.GRIDMAP_IMPORT_CLEAN_IN_DB = True

    book = Workbook()
    sheet = book.active
    for r in [HEADER_EN, *text_rows]:
        sheet.append(r)
    book.save(tmp_path / "h.xlsx")
    as_xlsx = run_import("households", tmp_path / "h.xlsx")

    assert outcome(in_sql) == outcome(in_python) == outcome(as_xlsx)
    assert sql_stored == python_stored
    assert len(sql_stored) == in_sql.new


def test_grids_of_points_in_one_join_are_the_applications(demo):
    """The spatial join of a large file gives every point the grid ``grid_of`` (the
    application's rule) gives it: inside, on the edge two grids share (the first by code), on
    a vertex, and outside every grid."""
    from imports.handlers.common import grid_of, grids_of_points_sql

    with connection.cursor() as cur:
        cur.execute(
            """CREATE TEMPORARY TABLE pts AS
               SELECT row_number() OVER () AS n, pt FROM (
                 SELECT ST_PointOnSurface(geom) AS pt FROM grids_grid
                  WHERE generation_high_id IS NULL
                 UNION ALL
                 SELECT (ST_DumpPoints(geom)).geom FROM (
                   SELECT geom FROM grids_grid WHERE generation_high_id IS NULL
                    ORDER BY code LIMIT 20) g
                 UNION ALL
                 SELECT ST_LineInterpolatePoint(ST_GeometryN(ST_LineMerge(
                          ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))), 1), 0.5)
                   FROM grids_grid a JOIN grids_grid b ON a.code < b.code
                    AND ST_Touches(a.geom, b.geom)
                  WHERE a.generation_high_id IS NULL AND b.generation_high_id IS NULL
                    AND ST_Dimension(ST_Intersection(a.geom, b.geom)) = 1
                 UNION ALL SELECT ST_SetSRID(ST_MakePoint(110.29, 25.27), 4326)) s
               WHERE pt IS NOT NULL AND NOT ST_IsEmpty(pt)"""
        )
        for sql in grids_of_points_sql("pts", "pts_grids"):
            cur.execute(sql)
        cur.execute(
            f"""SELECT count(*),
                       count(*) FILTER (WHERE g.grid_id IS DISTINCT FROM {grid_of("p.pt")}),
                       count(*) FILTER (WHERE ST_GeometryType(p.pt) = 'ST_Point'
                                          AND (SELECT count(*) FROM grids_grid c
                                                WHERE c.generation_high_id IS NULL
                                                  AND ST_Covers(c.geom, p.pt)) > 1)
                  FROM pts p LEFT JOIN pts_grids g ON g.n = p.n"""
        )
        total, different, shared = cur.fetchone()
    assert total > 100 and shared > 10
    assert different == 0
