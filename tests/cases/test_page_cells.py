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
