"""Threat: spreadsheet formula injection (CSV / formula injection, OWASP).

Whoever may write free text that lands in an export (a case description, a category or place
name, the name of the worker who signed a case off) can make a spreadsheet program run a
formula when someone in another office opens the export: ``=HYPERLINK(...)`` sends that
reader's data to another site, ``@SUM(...)``/``+``/``-`` start formulas too, and a leading tab
or carriage return can hide one. Every CSV and XLSX the project writes therefore starts such a
text cell with a single quote (``gridmap.exports.safe_cell``), which spreadsheet programs show
as text. Numbers and dates stay numbers and dates: a negative number is a number, not a
formula. The planning CSV is also read back, so its round trip must survive the quoting.
"""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import AccountRole
from cases import lists as case_lists
from cases.lists import CASE, Column
from coverage import export as coverage_export
from gridmap.personal_data import mask_name
from households.models import Household
from incidents.lists import COLUMNS, ListKind
from incidents.models import Incident
from planning import services as planning_services
from tests.coverage.test_service_circle import river  # noqa: F401 (a fixture)
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_lists import V2, WEST, close_out, login, make_case
from tests.incidents.test_routing import World, build_world, world_generation
from tests.planning.test_plans import Board

pytestmark = pytest.mark.django_db

LISTS = reverse("lists")
# What a spreadsheet program would run (or, for the tab and the carriage return, what can
# hide a formula behind white space).
PAYLOADS = [
    '=HYPERLINK("http://x","y")',
    "+1+2",
    "-1+2",
    "@SUM(1)",
    "\t=1+2",
    "\r=1+2",
]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture
def injected(world) -> dict[str, list[Incident]]:
    """For each payload, an open case (problem and responsibility lists) and a case closed out
    by a worker whose recorded name is a formula (problem and close-out lists)."""
    reporter = UserFactory(username="reporter")
    out: dict[str, list[Incident]] = {}
    for payload in PAYLOADS:
        open_case = make_case(reporter, WEST, days_ago=0.01)
        closed = make_case(reporter, V2, days_ago=2)
        close_out(closed, by="@SUM(1)", days_ago=1)
        # Stored as written (the admin or an edit can store what the intake would strip).
        Incident.objects.filter(pk__in=[open_case.pk, closed.pk]).update(description=payload)
        out[payload] = [open_case, closed]
    return out


def _csv(client: Any, kind: str) -> list[list[str]]:
    response = client.get(LISTS, {"list": kind, "format": "csv"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def _xlsx(client: Any, kind: str) -> list[list[Any]]:
    response = client.get(LISTS, {"list": kind, "format": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == [], "a cell of the export is a formula"
    return [list(row) for row in sheet.values]


def _descriptions(rows: list[list[Any]]) -> set[Any]:
    column = rows[0].index("description")
    return {row[column] for row in rows[1:]}


def _unsafe_text(rows: list[list[Any]]) -> list[Any]:
    return [v for row in rows for v in row if isinstance(v, str) and v.startswith(DANGEROUS)]


@pytest.mark.parametrize("kind", list(ListKind.values))
def test_list_csv_neutralises_formulas(client, world, injected, kind):
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    rows = _csv(client, kind)
    assert _descriptions(rows) == {"'" + p for p in PAYLOADS}
    assert _unsafe_text(rows) == []
    if kind == ListKind.CLOSEOUT:
        signed = rows[0].index("signed off by")
        assert {row[signed] for row in rows[1:]} == {"'@SUM(1)"}


@pytest.mark.parametrize("kind", list(ListKind.values))
def test_list_xlsx_neutralises_formulas(client, world, injected, kind):
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    rows = _xlsx(client, kind)
    # XML reads a carriage return back as a line feed; the quote is what matters.
    assert _descriptions(rows) == {"'" + p.replace("\r", "\n") for p in PAYLOADS}
    assert _unsafe_text(rows) == []
    # Case numbers and dates are still numbers and dates.
    assert all(isinstance(row[0], int) for row in rows[1:])


def test_a_negative_number_stays_a_number(world, injected):
    """A number column (``kind="number"``) holding -3 is written as the number -3, in the CSV
    as in the XLSX: only text is quoted."""
    delta = Column("delta", "delta", lambda case, now: -3, "number")
    columns = [CASE, delta, COLUMNS[ListKind.PROBLEMS][-1]]
    qs = Incident.objects.order_by("pk")
    now = timezone.now()
    text = "".join(case_lists.csv_lines(qs, columns, now)).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert {row[1] for row in rows[1:]} == {"-3"}
    assert {row[2] for row in rows[1:]} == {"'" + p for p in PAYLOADS}
    sheet = load_workbook(io.BytesIO(case_lists.xlsx_bytes(qs, columns, now, "t"))).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert {(c.value, c.data_type) for c in cells} == {(-3, "n")}


def test_coverage_csv_neutralises_formulas():
    """The coverage report's CSV: a text cell that would be a formula is quoted, a negative
    figure stays a number."""
    report = {"checks": {'=HYPERLINK("http://x","y")': {"change": -2, "names": ["@SUM(1)"]}}}
    text = coverage_export.report_csv(report, SimpleNamespace(code="450000"))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    # Every text column (the value column holds the figures: numbers, -2 among them).
    assert _unsafe_text([row[:4] + row[5:] for row in rows]) == []
    assert {row[1] for row in rows[1:]} == {
        "'" + coverage_export.label(next(iter(report["checks"])))
    }
    assert [row[4] for row in rows if row[2] == coverage_export.label("change")] == ["-2"]


def test_coverage_households_csv_neutralises_formulas_masks_and_is_not_stored(client, river):  # noqa: F811
    """The households beyond the service circle (issue 12, item 9): a head of household's
    name or an address that would be a formula is quoted, masked or not; the name is masked
    for a role that does not visit households; the answer is not stored."""
    town, west, bare, households = river
    far = households["bare far"]
    Household.objects.filter(pk=far.pk).update(head_name=PAYLOADS[0], address=PAYLOADS[3])
    user = AccountFactory(
        user=UserFactory(username="cov-csv"), role=AccountRole.TOWN_STAFF, codes=[town.code]
    ).user
    client.force_login(user)
    query = {"area": town.code, "list": "beyond", "village": bare.code, "format": "csv"}
    response = client.get(reverse("coverage-households"), query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff"))))
    assert _unsafe_text(rows) == []
    (row,) = rows[1:]
    assert row[1] == str(far.pk)
    assert row[2] == "'" + mask_name(PAYLOADS[0])
    assert row[3] == "'" + PAYLOADS[3]
    # Outside the jurisdiction: nothing.
    query["area"] = "450702001"
    assert client.get(reverse("coverage-households"), query).status_code == 404


def test_the_planning_csv_round_trip_survives_the_quoting(db):
    """What the planning export writes, its import reads back unchanged."""
    board = Board()
    plan = board.plan(a=[0, 5, 10, 1], b=[2, 3, 4])
    text = planning_services.plan_export_csv(plan)
    assert _unsafe_text(list(csv.reader(io.StringIO(text)))) == []
    other = planning_services.plan_create(actor=board.actor, name="copy", area_code=plan.area_code)
    planning_services.plan_import_csv(actor=board.actor, plan=other, text=text)
    assert planning_services.plan_export_csv(other) == text


def test_safe_cell_quotes_text_only_and_reads_back():
    from gridmap.exports import read_cell, safe_cell

    for payload in PAYLOADS:
        assert safe_cell(payload) == "'" + payload
        assert read_cell(safe_cell(payload)) == payload
    for value in (-3, -2.5, 0, None, timezone.now(), "plain", "'quoted", "中文"):
        assert safe_cell(value) == value
    assert read_cell("'quoted") == "'quoted"  # a quote the writer did not add stays
