"""Threat: script from stored data. A place name reached Leaflet's labels and tooltips as
HTML, so a village renamed ``<img src=x onerror=...>`` ran script in the session of whoever
opened /map/ (also the plan editor, its comparison, coverage and the field page, which use
the same Leaflet calls). Names are now inserted as text (``el("span", null, name)`` from
gridmap/static/gridmap/common.js); this test fails on the code before that change.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_map import fit_to, log_in

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'


@pytest.fixture
def renamed_village(demo, django_db_blocker) -> Any:
    """A demo village (committed, so the server sees it) renamed to a script payload."""
    from grids.models import Village

    with django_db_blocker.unblock():
        village = Village.objects.current().filter(code__startswith="4507").order_by("code")[0]
        name = village.name
        Village.objects.filter(pk=village.pk).update(name=PAYLOAD)
    try:
        yield village
    finally:
        with django_db_blocker.unblock():
            Village.objects.filter(pk=village.pk).update(name=name)


def test_a_place_name_is_drawn_as_text_on_the_map(renamed_village, new_page, browser_user):
    page, log = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, browser_user)
    fit_to(page, renamed_village.geom.extent)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    # The name is there, as the characters it is made of.
    labels = page.locator(".gm-label", has_text="<img src=x")
    assert labels.count() >= 1
    assert page.locator(".gm-label img").count() == 0
    # And the page runs under its Content-Security-Policy without a violation.
    assert log.errors == [], log.errors
