"""The weekly reports in the admin: read-only and jurisdiction-limited."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from weekly import services
from weekly.models import VillageWeeklyReport

from .conftest import WeeklyWorld

pytestmark = pytest.mark.django_db


def test_admin_is_read_only_and_limited_to_the_jurisdiction(ww: WeeklyWorld):
    w = ww.world
    services.village_report_submit(actor=ww.users["v1"], village_code=w.v1.code, week=ww.week,
                                   text="")  # fmt: skip
    model_admin = site._registry[VillageWeeklyReport]
    request = RequestFactory().get("/")
    request.user = ww.users["root"]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert model_admin.get_queryset(request).count() == 1
    request.user = ww.users["v2"]
    assert model_admin.get_queryset(request).count() == 0
    request.user = ww.users["v1"]
    assert model_admin.get_queryset(request).count() == 1


def test_changelists_render(ww: WeeklyWorld, client):
    client.force_login(ww.users["root"])
    for name in ("weeklytasklist", "villageweeklyreport", "stationweeklysummary"):
        assert client.get(f"/admin/weekly/{name}/").status_code == 200
