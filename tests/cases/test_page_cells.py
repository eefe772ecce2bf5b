"""A list page's cells are written in Python (cases.lists.PageCells): the markup is what the
template wrote, and every value is escaped, attributes included."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.lists import Cell, PageCells

PAYLOAD = "\"><script>alert(1)</script>'&"


def _html(*cells: Cell) -> str:
    return str(PageCells(list(cells), "case").html)


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
    from types import SimpleNamespace

    from cases.lists import rows_html

    cells = PageCells([Cell("x", "text", PAYLOAD)], "case")
    html = str(rows_html([(SimpleNamespace(pk=42), cells)], "data-case-id"))
    assert html.startswith('<tr data-case-id="42"><td class="cs-cell-text" data-column="x">')
    assert html.endswith("</td></tr>") and "<script>" not in html
    # A key that is not a number is escaped too.
    odd = str(rows_html([(SimpleNamespace(pk='"><b>'), cells)], "data-case-id"))
    assert '<tr data-case-id="&quot;&gt;&lt;b&gt;">' in odd
