"""The dashboard page /dashboard/: the KPIs as cards and charts, the same as the API."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client

from accounts.models import AccountRole
from reports.kpi_views import figure_cells
from reports.kpis import Figures
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_routing import build_world, world_generation
from tests.reports.test_kpis import DAY, case, local

pytestmark = pytest.mark.django_db

PERIOD = {"from": DAY.isoformat(), "to": (DAY + dt.timedelta(days=7)).isoformat()}


@pytest.fixture
def world(db):
    return build_world(world_generation())


@pytest.fixture
def town_staff(world):
    user = AccountFactory(user=UserFactory(), role=AccountRole.TOWN_STAFF, codes=[world.t1.code])
    client = Client()
    client.force_login(user.user)
    return client


def cards(html: str) -> dict[str, str]:
    return dict(
        re.findall(
            r'data-figure="(\w+)">\s*<div class="db-card-label">[^<]*</div>\s*'
            r'<div class="db-card-value">([^<]*)</div>',
            html,
        )
    )


def test_the_dashboard_needs_a_login(world):
    res = Client().get("/dashboard/")
    assert res.status_code == 302 and "/accounts/login/" in res["Location"]


def test_cards_show_the_same_figures_as_the_api(world, town_staff, settings):
    settings.GRIDMAP_KPI_MIN_CASES = 2
    t0 = local(DAY, 9)
    hour = dt.timedelta(hours=1)
    for n in range(3):
        case(
            world,
            world.west.code,
            t0,
            acknowledged_at=t0 + (n + 1) * hour,
            closed_at=t0 + 9 * hour if n else None,
            closed_on_time=n == 1,
            satisfaction=4 + n % 2,
        )
    case(world, world.v2.code, t0)  # V2: one case, too few to rank
    params = {"level": "town", "code": world.t1.code, **PERIOD}
    api = town_staff.get("/api/kpis/", params).json()
    res = town_staff.get("/dashboard/", params)
    assert res.status_code == 200
    html = res.content.decode()
    figures = Figures(
        **{k: v for k, v in api["figures"].items() if k in Figures.__dataclass_fields__}
    )
    expected = figure_cells(figures)
    shown = cards(html)
    assert shown["received"] == "4"
    assert shown["closure_rate"] == expected["closure_rate"] == "50.0%"
    assert shown["on_time_closure_rate"] == expected["on_time_closure_rate"] == "50.0%"
    assert shown["mean_hours_to_acknowledge"] == expected["mean_hours_to_acknowledge"] == "2.0"
    assert shown["mean_satisfaction"] == expected["mean_satisfaction"] == "4.33"
    # V1 is ranked (3 cases); V2 is listed apart as too few to judge.
    ranked = html.split('data-table="ranked"', 1)[1].split("</table>", 1)[0]
    assert f'data-code="{world.v1.code}"' in ranked and world.v2.code not in ranked
    too_few = html.split('data-table="too-few"', 1)[1]
    assert f'data-code="{world.v2.code}"' in too_few
    # The chart data is the ranked children only.
    assert '"children": [{"name": "' + world.v1.name in html


def test_the_dashboard_opens_on_the_users_jurisdiction(world, town_staff):
    html = town_staff.get("/dashboard/").content.decode()
    assert world.t1.code in html and world.t1.name in html


def test_bad_input_is_shown_with_its_message(world, town_staff):
    res = town_staff.get("/dashboard/", {"level": "town", "code": world.t1.code, "from": "x"},
                         HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert res.status_code == 400
    assert "x is not a date; write it as YYYY-MM-DD." in res.content.decode()
    res = town_staff.get("/dashboard/", {"level": "district", "code": world.district.code})
    assert res.status_code == 404


def test_charts_use_the_vendored_chart_js_served_locally(world, town_staff):
    html = town_staff.get("/dashboard/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert static("vendor/chartjs/chart.umd.min.js") in scripts
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))]
    found = finders.find("vendor/chartjs/chart.umd.min.js")
    assert found and "Chart.js v4" in Path(found).read_text()[:200]
    assert finders.find("vendor/chartjs/LICENSE.md")


def test_the_page_speaks_chinese_by_default(world, town_staff):
    html = town_staff.get("/dashboard/").content.decode()
    assert '<html lang="zh-hans">' in html


def test_a_grid_workers_dashboard_opens_on_their_grid(world):
    """A grid has no child units: the dashboard opens without a breakdown (it answered 400,
    "a grid has no lower units", to every grid worker)."""
    account = AccountFactory(
        user=UserFactory(), role=AccountRole.GRID_WORKER, codes=[world.west.code]
    )
    client = Client()
    client.force_login(account.user)

    answer = client.get("/dashboard/")

    assert answer.status_code == 200
    assert world.west.code in answer.content.decode()
