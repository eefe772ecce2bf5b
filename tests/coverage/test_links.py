"""Coverage is actionable (issue 12, item 9): every figure leads to its items.

On a town of the small demo: the household figures lead to paginated lists whose rows are
the ones the SQL of the check finds; the households beyond the service circle are listed per
village with their distance, names masked for roles that do not visit households; grids
missing a role lead to the map and offer "assign" only to those who may add assignments.
On the river of test_service_circle: the distance by road of a household across the river.
"""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import AccountRole
from accounts.services import account_upsert
from coverage import lists
from coverage.report import coverage_report
from coverage.service_circle import beyond_page, reach_m, service_circle
from gridmap.personal_data import mask_name
from grids.models import Grid, Role, RoleAssignment, Town
from households.models import Household
from privacy.models import AccessLogEntry
from tests.coverage.test_service_circle import river  # noqa: F401 (a fixture)
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

HOUSEHOLDS = reverse("coverage-households")
COVERAGE = reverse("coverage")


@pytest.fixture
def town(demo) -> str:
    return Town.objects.current().filter(code__startswith="4507").order_by("code").first().code


@pytest.fixture
def other_town(demo, town) -> str:
    return (
        Town.objects.current()
        .filter(code__startswith="4507")
        .exclude(code=town)
        .order_by("code")
        .first()
        .code
    )


@pytest.fixture
def staff(town):
    """Town staff: may see the town's coverage, does not visit households (names masked)."""
    return AccountFactory(
        user=UserFactory(username="cov-town"), role=AccountRole.TOWN_STAFF, codes=[town]
    ).user


@pytest.fixture
def root(db):
    return UserFactory(username="cov-root", is_superuser=True, is_staff=True)


def _links(html: str) -> dict[str, str]:
    """The figure keys of the summary table and where their values lead."""
    found = dict(
        re.findall(
            r'data-figure="([^"]+)">\s*<th scope="row">(?:(?!</tr>).)*?'
            r'<td class="cv-num" data-value><a href="([^"]+)"',
            html,
            re.S,
        )
    )
    return {key: unescape(href) for key, href in found.items()}


def _rows(html: str) -> list[tuple[str, str]]:
    """(household id, head as shown) of a list page."""
    return re.findall(r'data-household="(\d+)">\s*<td[^>]*>\d+</td>\s*<td data-head>([^<]*)<', html)


def _count(html: str) -> int:
    return int(re.search(r'data-count="(\d+)"', html).group(1))


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _village_with_beyond(town: str) -> dict:
    villages = coverage_report(town)["checks"]["service_circle"]["villages"]
    return max(villages, key=lambda v: (v["beyond"], v["code"]))


def test_every_figure_with_items_links_to_them(client, staff, town):
    client.force_login(staff)
    html = client.get(COVERAGE, {"area": town}).content.decode()
    links = _links(html)
    # No household of the demo is in no grid: nothing to lead to.
    assert coverage_report(town)["checks"]["tiling"]["households_in_no_grid"]["count"] == 0
    assert "tiling-households-in-no-grid" not in links
    no_unit = urlsplit(links["units-households-in-no-unit"])
    assert no_unit.path == HOUSEHOLDS
    assert parse_qs(no_unit.query) == {"area": [town], "list": ["no_unit"]}
    # The households beyond the circle: their villages, each with its own list.
    assert links["service-circle-uncovered-households"] == "#items-service-circle-villages"
    village = _village_with_beyond(town)
    assert village["beyond"] > 0
    href = f'href="{HOUSEHOLDS}?area={town}&amp;list=beyond&amp;village={village["code"]}"'
    assert href in html
    # Every other figure with items leads to its table, which is on the page.
    for key, target in links.items():
        if target.startswith("#"):
            assert f'id="{target[1:]}"' in html, key


def test_the_no_unit_list_pages_through_exactly_the_checks_households(client, staff, town):
    client.force_login(staff)
    expected = set(
        Household.objects.filter(
            grid__code__startswith=town, ten_household_unit__isnull=True
        ).values_list("id", flat=True)
    )
    assert len(expected) > lists.PAGE_SIZE  # the demo town needs more than one page
    seen: list[int] = []
    page = 1
    while True:
        response = client.get(HOUSEHOLDS, {"area": town, "list": "no_unit", "page": page})
        assert response.status_code == 200
        html = response.content.decode()
        assert _count(html) == len(expected)
        rows = _rows(html)
        assert len(rows) <= lists.PAGE_SIZE
        seen += [int(i) for i, _ in rows]
        if 'rel="next"' not in html:
            break
        page += 1
    assert page > 1
    assert seen == sorted(expected)


def test_the_beyond_list_of_a_village_is_the_circles_uncovered_households(client, staff, town):
    client.force_login(staff)
    village = _village_with_beyond(town)
    uncovered = set(service_circle(village["code"]).uncovered_household_ids)
    assert len(uncovered) == village["beyond"]
    response = client.get(
        HOUSEHOLDS, {"area": town, "list": "beyond", "village": village["code"], "format": "csv"}
    )
    assert response.status_code == 200
    rows = _csv(response)
    assert {int(r[1]) for r in rows[1:]} == uncovered
    html = client.get(
        HOUSEHOLDS, {"area": town, "list": "beyond", "village": village["code"]}
    ).content.decode()
    assert _count(html) == len(uncovered)
    assert {int(i) for i, _ in _rows(html)} <= uncovered


def test_names_are_masked_for_a_role_that_does_not_visit_and_shown_and_logged_for_root(
    client, staff, root, town
):
    village = _village_with_beyond(town)
    query = {"area": town, "list": "beyond", "village": village["code"]}
    names = dict(
        Household.objects.values_list("id", "head_name").filter(grid__code__startswith=town)
    )
    client.force_login(staff)
    response = client.get(HOUSEHOLDS, query)
    assert response["Cache-Control"] == "no-store"
    rows = _rows(response.content.decode())
    assert rows
    for hid, shown in rows:
        assert shown == mask_name(names[int(hid)]) != names[int(hid)]
    assert not AccessLogEntry.objects.filter(username="cov-town").exists()
    csv_rows = _csv(client.get(HOUSEHOLDS, {**query, "format": "csv"}))
    assert all(r[2] == mask_name(names[int(r[1])]) for r in csv_rows[1:])

    client.force_login(root)
    rows = _rows(client.get(HOUSEHOLDS, query).content.decode())
    assert all(shown == names[int(hid)] for hid, shown in rows)
    entry = AccessLogEntry.objects.get(username="cov-root")
    assert entry.fields == ["head_name"]
    assert {f"household:{hid}" for hid, _ in rows} == set(entry.records)


def test_the_csv_columns_and_the_formula_guard(client, staff, town):
    village = _village_with_beyond(town)
    hid = service_circle(village["code"]).uncovered_household_ids[0]
    Household.objects.filter(pk=hid).update(address='=HYPERLINK("http://x","y")')
    client.force_login(staff)
    response = client.get(
        HOUSEHOLDS,
        {"area": town, "list": "beyond", "village": village["code"], "format": "csv"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == [
        "Area",
        "Household",
        "Head of household",
        "Address",
        "Grid",
        "Distance (m)",
        "Method",
        "How far",
    ]
    (row,) = [r for r in rows[1:] if r[1] == str(hid)]
    assert row[3] == '\'=HYPERLINK("http://x","y")'
    assert row[6] in {"along the road network", "estimate: straight-line distance (no road data)"}
    for r in rows[1:]:
        if r[5]:
            # Beyond the reach, or it would be covered.
            assert float(r[5]) > reach_m() or r[6].startswith("estimate")


def test_outside_the_jurisdiction_nothing_is_listed(client, staff, town, other_town):
    client.force_login(staff)
    for query in (
        {"area": other_town, "list": "no_unit"},
        {"area": other_town, "list": "no_unit", "format": "csv"},
        {"area": town, "list": "beyond", "village": other_town + "001"},
        {"area": town, "list": "beyond"},  # per village only
        {"area": town, "list": "everything"},
    ):
        assert client.get(HOUSEHOLDS, query).status_code == 404, query
    # A village login has no coverage area at all.
    village = AccountFactory(
        user=UserFactory(username="cov-village"),
        role=AccountRole.VILLAGE_STAFF,
        codes=[_village_with_beyond(town)["code"]],
    ).user
    client.force_login(village)
    assert client.get(HOUSEHOLDS, {"area": town, "list": "no_unit"}).status_code == 404
    client.logout()
    response = client.get(HOUSEHOLDS, {"area": town, "list": "no_unit"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.fixture
def leaderless(town) -> Grid:
    """A grid of the town whose grid leader's assignment ended yesterday."""
    grid = Grid.objects.current().filter(code__startswith=town).order_by("code").first()
    for assignment in RoleAssignment.objects.filter(grid=grid, role=Role.GRID_LEADER):
        assignment.delete()
    return grid


def test_a_grid_missing_a_role_links_to_the_map_and_assign_only_for_who_may(
    client, staff, town, leaderless
):
    admin = account_upsert(
        username="cov-district",
        password="x-Long-password-1",
        role=AccountRole.DISTRICT_ADMIN,
        codes=[town[:6]],
    ).user
    map_link = f'href="{reverse("map")}?grid={leaderless.code}"'
    assign = (
        f"{reverse('admin:grids_roleassignment_add')}?grid={leaderless.pk}&amp;role=grid_leader"
    )
    client.force_login(staff)
    html = client.get(COVERAGE, {"area": town}).content.decode()
    assert map_link in html
    assert "data-assign" not in html

    client.force_login(admin)
    html = client.get(COVERAGE, {"area": town}).content.decode()
    table = html[html.index('id="items-roles-grids-missing-grid-leader"') :]
    table = table[: table.index("</details>")]
    assert map_link in table and f'href="{assign}"' in table
    # The admin's form opens with the grid and the role filled in.
    form = client.get(assign.replace("&amp;", "&"))
    assert form.status_code == 200
    body = form.content.decode()
    assert f'<option value="{leaderless.pk}" selected>' in body
    assert '<option value="grid_leader" selected>' in body


def test_the_distance_by_road_across_the_river(river):  # noqa: F811
    town, west, bare, households = river
    page = beyond_page(west.code)
    (row,) = page.rows
    assert row.id == households["across"].pk and row.method == "network"
    # C north 412.5 m, over the bridge 375 m, south 412.5 m: 1,200 m, beyond 1,125 m.
    assert row.distance_m == pytest.approx(1200, abs=2)
    page = beyond_page(bare.code)
    (row,) = page.rows
    assert row.id == households["bare far"].pk and row.method == "estimate"
    assert row.distance_m == pytest.approx(2000, abs=5)
    assert "2,000" in lists.distance_text(row, page.horizon_m)
