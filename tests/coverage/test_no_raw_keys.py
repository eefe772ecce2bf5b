"""No raw key on the coverage page, its CSV and its PDF, in Chinese or in English.

The report is a dict of field names (``grids_missing.grid_leader``, ``estimated_covered``)
whose values can be keys too (a role ``grid_leader``, a method ``network``, a status
``not_available_yet``). Every one must reach people as words of their language: in English no
snake_case word shows; in Chinese no English word shows at all (codes, numbers, units and the
names of the export formats aside).
"""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from django.urls import reverse

from accounts.models import AccountRole
from coverage import export
from coverage.report import coverage_report
from grids.models import Grid, Role, Town, Worker
from tests.factories import AccountFactory, RoleAssignmentFactory, UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db

SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Latin that is not English text: export formats, the unit of areas and distances.
NOT_WORDS = {"CSV", "PDF", "JSON", "ID", "km", "m²"}
LANGUAGES = ["zh-hans", "en"]


@pytest.fixture
def town(demo) -> str:
    return Town.objects.current().filter(code__startswith="4507").order_by("code").first().code


@pytest.fixture
def user(town):
    return AccountFactory(
        user=UserFactory(username="cov-keys"), role=AccountRole.TOWN_STAFF, codes=[town]
    ).user


@pytest.fixture
def overloaded(town) -> Worker:
    """A worker holding a grid role on more grids than allowed: the report lists their
    assignments, which carry role keys."""
    worker = WorkerFactory(name="多岗位")
    grids = Grid.objects.current().filter(code__startswith=town).order_by("code")
    for grid in grids[:4]:
        RoleAssignmentFactory(worker=worker, grid=grid, role=Role.GRID_MEMBER)
    return worker


def _visible(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def _bad(text: str, language: str) -> list[str]:
    if language == "en":
        return SNAKE.findall(text)
    return [w for w in LATIN_WORD.findall(text) if w not in NOT_WORDS]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_page_shows_no_raw_key(client, user, town, overloaded, language):
    client.force_login(user)
    response = client.get(reverse("coverage"), {"area": town}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    main = response.content.decode()
    main = main[main.index('<div class="cv">') :]
    assert "多岗位" in main  # the assignments with their roles are on the page
    bad = sorted(set(_bad(_visible(main), language)))
    assert not bad, " ".join(bad)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_csv_shows_no_raw_key(client, user, town, overloaded, language):
    client.force_login(user)
    response = client.get(
        reverse("coverage-export-csv"), {"area": town}, HTTP_ACCEPT_LANGUAGE=language
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    # The "Field" column (3) is the figure's stable key, for spreadsheets that look it up.
    text = " ".join(cell for row in rows for n, cell in enumerate(row) if n != 3)
    assert "多岗位" in text
    bad = sorted(set(_bad(text, language)))
    assert not bad, " ".join(bad)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pdf_shows_no_raw_key(client, user, town, overloaded, language, monkeypatch):
    """The PDF's text, as handed to reportlab's paragraphs (its fonts are subset, so the
    bytes of the file do not show the text)."""
    from reportlab import platypus

    printed: list[str] = []

    class Recording(platypus.Paragraph):
        def __init__(self, text: str, *args, **kwargs) -> None:
            printed.append(unescape(text))
            super().__init__(text, *args, **kwargs)

    monkeypatch.setattr(platypus, "Paragraph", Recording)
    client.force_login(user)
    response = client.get(
        reverse("coverage-export-pdf"), {"area": town}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = " ".join(printed)
    assert "多岗位" in text
    bad = sorted(set(_bad(text, language)))
    assert not bad, " ".join(bad)


def test_every_field_of_the_report_has_a_label(town, overloaded):
    report = coverage_report(town)
    for section in export.sections(report):
        assert export.labelled(section.key), section.key
        for figure in section.figures:
            key = figure.key.split("-", 1)[0]
            assert export.labelled(figure.name), (key, figure.name)
            for column in figure.columns:
                assert export.labelled(column), (figure.key, column)
