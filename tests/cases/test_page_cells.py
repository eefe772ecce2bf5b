"""A list page's cells are written in Python (cases.lists.rows_html, cell_html): the markup is
what the template wrote, and every value is escaped, attributes included."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.lists import Cell, Column, cell_html, rows_html

PAYLOAD = "\"><script>alert(1)</script>'&"


def _html(cell: Cell) -> str:
    return str(cell_html(cell, "case"))


def test_the_markup_of_each_kind():
    link = reverse("case", args=[7])
    assert _html(Cell("id", "case", 7)) == (
        f'<td class="cs-cell-case" data-column="id"><a href="{link}">#7</a></td>'
    )
    assert _html(Cell("x", "text", None)) == (
        '<td class="cs-cell-text" data-column="x"><span class="gm-muted">–</span></td>'
    )
    assert _html(Cell("on", "on_time", True)).count("cs-ontime") == 1
    assert _html(Cell("on", "on_time", False)).count("cs-late") == 1
    light = _html(Cell("traffic_light", "light", "red"))
    assert 'class="cs-chip cs-light-red" data-traffic-light="red"' in light
    long = _html(Cell("description", "long", "长" * 80))
    assert long.count("长") < 80 + 60  # the title has the whole text, the cell 60 characters


@pytest.mark.parametrize("kind", ["text", "long", "number", "severity"])
def test_every_value_is_escaped(kind):
    html = _html(
        Cell(PAYLOAD, kind, PAYLOAD, labels={PAYLOAD: PAYLOAD} if kind == "severity" else None)
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    # The key, in an attribute, cannot close it.
    assert 'data-column="&quot;&gt;&lt;script&gt;' in html


def test_the_area_options_are_escaped_and_mark_the_choice():
    from cases.lists import area_options

    areas = [("town", [("450702001", f"450702001 {PAYLOAD}"), ("450702002", "450702002 二")])]
    html = str(area_options(areas, "450702002"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<optgroup label="Town">' in html
    assert '<option value="450702002" selected>450702002 二</option>' in html
    assert '<option value="450702001">' in html
    # Another choice is another answer, not the one cached first.
    assert '<option value="450702001" selected>' in str(area_options(areas, "450702001"))
    assert str(area_options(areas, "")).count(" selected") == 0


def test_the_rows_carry_their_key_and_escaped_cells():
    import datetime as dt
    from types import SimpleNamespace

    columns = [Column("x", "x", lambda case, now: case.text)]
    now = dt.datetime.now(dt.UTC)

    def html(pk):
        return str(
            rows_html([SimpleNamespace(pk=pk, text=PAYLOAD)], columns, now, "case", "data-case-id")
        )

    assert html(42).startswith('<tr data-case-id="42"><td class="cs-cell-text" data-column="x">')
    assert html(42).endswith("</td></tr>") and "<script>" not in html(42)
    # A key that is not a number is escaped too.
    assert '<tr data-case-id="&quot;&gt;&lt;b&gt;">' in html('"><b>')


def test_a_choice_is_written_once_per_value_and_language():
    """The writers are kept per language: a page in English after one in Chinese says
    English."""
    import datetime as dt
    from types import SimpleNamespace

    from django.utils import translation

    from cases.lists import STATUS

    rows = [SimpleNamespace(pk=1, status="reported")]
    now = dt.datetime.now(dt.UTC)
    with translation.override("zh-hans"):
        chinese = str(rows_html(rows, [STATUS], now, "case", "data-case-id"))
    with translation.override("en"):
        english = str(rows_html(rows, [STATUS], now, "case", "data-case-id"))
    assert "Reported" in english and "Reported" not in chinese


def test_the_time_is_local_to_the_active_zone():
    import datetime as dt
    from types import SimpleNamespace

    from django.utils import timezone

    from cases.lists import REPORTED

    at = dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)
    rows = [SimpleNamespace(pk=1, reported_at=at)]
    with timezone.override("Asia/Shanghai"):
        shanghai = str(rows_html(rows, [REPORTED], at, "case", "data-case-id"))
    with timezone.override("UTC"):
        utc = str(rows_html(rows, [REPORTED], at, "case", "data-case-id"))
    assert "2026-01-01 08:30" in shanghai and "2026-01-01 00:30" in utc
