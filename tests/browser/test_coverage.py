"""/coverage/ in headless Chromium for a town of the small demo (acceptance 3 of issue 5).

The page is logged into through the login form, the map waits for every layer
(``#coverage-map[data-loaded="true"]``, set by coverage.js), and the summary table must show
the figures of ``GET /api/coverage/?area=`` fetched in the same browser session.
Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from coverage.export import display, sections
from tests.browser.conftest import DESKTOP
from tests.browser.screens import SCREENSHOTS
from tests.browser.test_map import assert_stayed_on_this_machine

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

LOADED = '#coverage-map[data-loaded="true"]'


def _town() -> str:
    from grids.models import Town

    return Town.objects.current().filter(code__startswith="4507").order_by("code").first().code


def log_in(page: Any, user: dict[str, str], url: str) -> None:
    page.goto(url)
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/coverage/**")


def test_coverage_page_for_a_town_shows_the_api_figures_on_a_map(new_page, browser_user):
    town = _town()
    page, log = new_page(DESKTOP)
    log_in(page, browser_user, f"/coverage/?area={town}")
    page.wait_for_selector(LOADED, state="attached")
    assert page.get_attribute("#coverage-map", "data-errors") == "0", page.inner_text(".cv-notices")
    page.wait_for_timeout(300)

    # The map drew the town's villages and grids, and a layer per check.
    assert int(page.get_attribute("#coverage-map", "data-count-villages")) > 0
    assert int(page.get_attribute("#coverage-map", "data-count-grids")) > 0
    assert page.locator(".leaflet-control-layers-overlays input").count() == 10
    # Check 7: the centres' service areas along the demo roads are drawn.
    assert int(page.get_attribute("#coverage-map", "data-count-service-areas")) > 0

    # Every figure in the table is the API's figure.
    answer = page.request.get(f"/api/coverage/?area={town}")
    assert answer.status == 200
    api = answer.json()
    shown = 0
    for section in sections(api):
        for figure in section.figures:
            cell = page.locator(f'tr[data-figure="{figure.key}"] td').inner_text().strip()
            if section.key == "service_circle" and figure.name == "message":
                continue
            assert cell == display(figure.value), figure.key
            shown += 1
    assert shown > 20
    # A figure's link opens the items behind it.
    link = page.locator('a[href^="#items-"]').first
    target = link.get_attribute("href")
    link.click()
    page.locator(f"{target} summary").click()
    assert page.locator(f"{target} tbody tr").count() > 0
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / "coverage.png"))

    # The exports answer (same session).
    pdf = page.request.get(f"/coverage/export.pdf?area={town}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    csv = page.request.get(f"/coverage/export.csv?area={town}")
    assert csv.status == 200
    if shutil.which("pdftoppm"):
        pdf_path = SCREENSHOTS / "coverage.pdf.tmp"
        pdf_path.write_bytes(pdf.body())
        try:
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                 str(pdf_path), str(SCREENSHOTS / "coverage-pdf")],
                check=True,
            )  # fmt: skip
        finally:
            pdf_path.unlink()

    assert_stayed_on_this_machine(log)
    assert log.failed == []
    assert log.errors == []
