"""/coverage/ and its CSV and PDF exports, on a town of the small demo."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from accounts.models import AccountRole
from coverage.report import coverage_report
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

OFF_SITE = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")


@pytest.fixture
def town(demo) -> str:
    from grids.models import Town

    return Town.objects.current().filter(code__startswith="4507").order_by("code").first().code


@pytest.fixture
def user(town):
    return AccountFactory(
        user=UserFactory(username="coverage-town"), role=AccountRole.TOWN_STAFF, codes=[town]
    ).user


def test_pages_need_a_login(client, town):
    for name in ("coverage", "coverage-export-csv", "coverage-export-pdf"):
        response = client.get(reverse(name), {"area": town})
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_the_page_shows_every_figure_of_the_town(client, user, town):
    client.force_login(user)
    response = client.get(reverse("coverage"), {"area": town})
    assert response.status_code == 200
    html = response.content.decode()
    report = coverage_report(town)
    tiling = report["checks"]["tiling"]
    assert 'data-figure="tiling-villages"' in html
    row = re.search(r'data-figure="tiling-villages">.*?<td[^>]*>([^<]*)</td>', html, re.S)
    assert row and row.group(1) == f"{tiling['villages']:,}"
    grids = report["checks"]["roles"]["grids"]
    row = re.search(r'data-figure="roles-grids">.*?<td[^>]*>([^<]*)</td>', html, re.S)
    assert row and row.group(1) == f"{grids:,}"
    for check in report["checks"]:
        assert f'data-figure="{check.replace("_", "-")}-' in html, check
    # The town is offered, and a figure with items links to them.
    assert f'<option value="{town}" selected>' in html
    assert 'href="#items-' in html


def test_the_page_loads_nothing_from_off_site(client, user, town):
    client.force_login(user)
    html = client.get(reverse("coverage"), {"area": town}).content.decode()
    assert OFF_SITE.findall(html) == []


def test_an_area_outside_the_jurisdiction_is_not_found(client, user):
    client.force_login(user)
    assert client.get(reverse("coverage"), {"area": "450703001"}).status_code == 404
    assert client.get(reverse("coverage-export-csv"), {"area": "990101"}).status_code == 404


def test_the_csv_has_every_figure_and_its_items(client, user, town):
    client.force_login(user)
    response = client.get(reverse("coverage-export-csv"), {"area": town})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    figures = {row[3]: row[4] for row in rows[1:] if row[5] == ""}
    report = coverage_report(town)
    assert figures["tiling-villages"] == str(report["checks"]["tiling"]["villages"])
    assert figures["units-households"] == str(report["checks"]["units"]["households"])
    assert figures["roles-grids-missing-any-role"] == str(
        len(report["checks"]["roles"]["grids_missing_any_role"])
    )
    items = [row for row in rows[1:] if row[3] == "units-central-households-per-grid" and row[5]]
    assert len(items) == len(report["checks"]["units"]["central_households_per_grid"])


def test_the_pdf_is_a_pdf_with_pages(client, user, town):
    client.force_login(user)
    response = client.get(reverse("coverage-export-pdf"), {"area": town})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = response.content
    assert body.startswith(b"%PDF")
    assert b"/Type /Page" in body
    assert b"/Subtype /Image" in body  # the static map
