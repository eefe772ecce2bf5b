"""The planning pages (/plans/, the editor, the comparison), the nav link and the admin.

Uses the board with a planner of its town (``town`` in tests/planning/conftest.py).
"""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AccountRole
from planning import services
from planning.models import AllowedLink, Plan
from planning.views import editor_strings
from tests.factories import AccountFactory, UserFactory
from tests.planning.conftest import FULL

pytestmark = pytest.mark.django_db


def page(client, path: str, **params: str) -> str:
    answer = client.get(path, params)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.content.decode()


def json_script(html: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert match, element_id
    return json.loads(match.group(1))


# --- /plans/ ----------------------------------------------------------------------------------
def test_the_list_shows_the_plans_and_a_form_for_the_planners_town(town, client):
    plan = town.town_plan(**FULL)
    client.force_login(town.planner)
    with translation.override("en"):
        html = page(client, "/plans/")
    assert plan.name in html and reverse("plan-editor", args=[plan.pk]) in html
    assert f'<option value="{town.town.code}"' in html
    assert f'<option value="{town.district.code}"' not in html  # the district is not theirs
    assert f'<option value="{town.other_town.code}"' not in html
    assert 'name="base_date"' in html and timezone.localdate().isoformat() in html
    assert f'href="{reverse("plans")}" aria-current="page"' in html  # the nav link


def test_the_list_creates_a_plan_and_opens_it(town, client):
    town.publish(**FULL)
    client.force_login(town.planner)
    answer = client.post(
        "/plans/",
        {"name": "Catchments 2026", "area_code": town.town.code, "base_date": "2026-01-01"},
    )
    plan = Plan.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/plans/{plan.pk}/"
    assert (plan.name, plan.area_code, plan.author) == (
        "Catchments 2026",
        town.town.code,
        town.planner,
    )
    assert plan.base_date.isoformat() == "2026-01-01"
    answer = client.post("/plans/", {"name": "", "area_code": town.town.code, "base_date": ""})
    assert answer.status_code == 400
    assert answer.context["form"].errors.keys() == {"name", "base_date"}
    answer = client.post(
        "/plans/", {"name": "x", "area_code": town.other_town.code, "base_date": "2026-01-01"}
    )
    assert answer.status_code == 400 and "area_code" in answer.context["form"].errors
    assert Plan.objects.count() == 1


def test_a_district_administrator_may_plan_the_whole_district(town, client):
    admin = AccountFactory(role=AccountRole.DISTRICT_ADMIN, codes=[town.district.code]).user
    client.force_login(admin)
    html = page(client, "/plans/")
    for code in (town.district.code, town.town.code, town.other_town.code):
        assert f'<option value="{code}"' in html, code


def test_who_sees_the_nav_link_and_the_form(town, client):
    worker = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[town.town.code]).user
    client.force_login(worker)
    html = page(client, "/plans/")
    assert f'href="{reverse("plans")}"' not in html.split("<main")[0]
    assert 'name="area_code"' not in html  # viewers have no form
    client.force_login(town.planner)
    assert f'href="{reverse("plans")}"' in page(client, "/map/").split("<main")[0]
    client.logout()
    answer = client.get("/plans/")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


# --- the editor -------------------------------------------------------------------------------
def test_the_editor_page(town, client):
    plan = town.town_plan(**FULL)
    client.force_login(town.planner)
    html = page(client, f"/plans/{plan.pk}/")
    assert 'id="plan-editor"' in html and 'data-editable="true"' in html
    assert plan.name in html and town.town.code in html
    config = json_script(html, "plan-config")
    assert config["detailUrl"] == f"/api/plans/{plan.pk}/"
    assert config["stationMoveUrl"] == f"/api/plans/{plan.pk}/stations/CODE/move/"
    assert config["today"] == timezone.localdate().isoformat()
    strings = json_script(html, "plan-strings")
    with translation.override("zh-hans"):
        assert strings == editor_strings()
    assert "planning/editor.js" in html and "leaflet" in html
    # Everything is served from here: no CDN.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for label in ("撤销", "重做", "刷选", "迁移工作站", "新增工作站", "生成方案", "修复"):
        assert label in html, label
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = page(client, f"/plans/{plan.pk}/")
    for label in ("Undo", "Redo", "Brush", "Move station", "Add station", "Propose", "Repair"):
        assert label in english, label


def test_the_editor_is_read_only_for_viewers_and_404_outside(town, client):
    plan = town.town_plan(**FULL)
    viewer = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[town.town.code]).user
    client.force_login(viewer)
    assert 'data-editable="false"' in page(client, f"/plans/{plan.pk}/")
    outsider = AccountFactory(role=AccountRole.PLANNER, codes=[town.other_town.code]).user
    client.force_login(outsider)
    assert client.get(f"/plans/{plan.pk}/").status_code == 404
    assert client.get(f"/plans/{plan.pk}/compare/").status_code == 404
    assert client.get("/plans/999999/").status_code == 404


def test_a_published_plan_opens_read_only(town, client):
    plan = town.town_plan(**FULL)
    services.plan_publish(actor=town.planner, plan=plan)
    client.force_login(town.planner)
    html = page(client, f"/plans/{plan.pk}/")
    assert 'data-editable="false"' in html and 'data-status="published"' in html


# --- the comparison ---------------------------------------------------------------------------
def test_compare_lists_the_villages_that_change_station(town, client):
    plan = town.town_plan(a=[0, 5, 10, 1, 6], b=[2, 3, 4], d=[11, 12, 13, 14])
    other = services.plan_create(actor=town.planner, name="other", area_code=town.town.code)
    services.plan_assign(
        actor=town.planner, plan=plan, village_code=town.code(1), station=town.b.code
    )
    client.force_login(town.planner)
    html = page(client, f"/plans/{plan.pk}/compare/")
    assert f'data-village="{town.code(1)}"' in html
    assert html.count("<tr data-village=") == 1
    assert f'<option value="{other.pk}"' in html
    config = json_script(html, "compare-config")
    assert config["diff"][town.code(1)]["from"] == town.a.code
    assert config["diff"][town.code(1)]["to"] == town.b.code
    assert config["villagesUrl"] == f"/api/plans/{plan.pk}/villages/"
    html = page(client, f"/plans/{other.pk}/compare/", **{"with": str(plan.pk)})
    assert f'<option value="{plan.pk}" selected' in re.sub(r"\s+", " ", html)
    assert f'data-village="{town.code(1)}"' in html
    assert client.get(f"/plans/{plan.pk}/compare/", {"with": "x"}).status_code == 404


# --- admin ------------------------------------------------------------------------------------
def test_admin_shows_plans_read_only_and_edits_allowed_links(town, client):
    plan = town.town_plan(**FULL)
    services.plan_assign(
        actor=town.planner,
        plan=plan,
        village_code=town.code(1),
        station=town.b.code,
        override_reason="a reason",
    )
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    for name in ("plan", "planchange", "allowedlink", "traveltime"):
        assert client.get(reverse(f"admin:planning_{name}_changelist")).status_code == 200, name
    html = page(client, reverse("admin:planning_plan_change", args=[plan.pk]))
    assert town.a.code in html and "a reason" in html
    assert client.get(reverse("admin:planning_plan_add")).status_code == 403
    answer = client.post(
        reverse("admin:planning_allowedlink_add"),
        {"village_a": town.code(9), "village_b": town.code(0), "note": "bridge"},
    )
    assert answer.status_code == 302
    link = AllowedLink.objects.get()
    assert (link.village_a, link.village_b) == (town.code(0), town.code(9))
    answer = client.post(
        reverse("admin:planning_allowedlink_add"),
        {"village_a": town.code(2), "village_b": "990199999999", "note": ""},
    )
    assert answer.status_code == 200 and "990199999999" in answer.content.decode()
    assert AllowedLink.objects.count() == 1


def test_admin_lists_only_the_jurisdiction(town, client):
    plan = town.town_plan(**FULL)
    other = services.plan_create(actor=town.actor, name="far", area_code=town.other_town.code)
    staff = AccountFactory(role=AccountRole.PLANNER, codes=[town.town.code]).user
    staff.is_staff = True
    staff.save()
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="planning"))
    client.force_login(staff)
    html = page(client, reverse("admin:planning_plan_changelist"))
    assert f"/plans/{plan.pk}/" in html and f"/plans/{other.pk}/" not in html
