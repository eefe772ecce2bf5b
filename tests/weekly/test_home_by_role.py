"""/weekly/ opens the weekly page of a person's place from the roles they hold today (issue 12:
a login linked to a Worker has no account, and before this it was sent to the first town of
the database, outside their jurisdiction)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.cases.test_todo import build_todo_world


@pytest.mark.parametrize(
    ("who", "page", "code"),
    [
        ("grid_leader", "weekly-village", "v1"),
        ("village_secretary", "weekly-village", "v1"),
        ("town_dispatcher", "weekly-town", "t1"),
    ],
)
def test_a_persons_weekly_page_follows_their_role(db, client, who, page, code):
    cw = build_todo_world()
    client.force_login(cw.users[who])
    res = client.get(reverse("weekly"))
    assert res.status_code == 302
    assert res["Location"] == reverse(page, args=[getattr(cw, code)])


def test_the_station_head_opens_the_stations_week(db, client):
    cw = build_todo_world()
    client.force_login(cw.users["station_head"])
    assert client.get(reverse("weekly"))["Location"] == reverse("weekly-station", args=[cw.station])
