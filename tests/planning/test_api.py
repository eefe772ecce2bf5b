"""The planner's API (planning.api): every endpoint's answer and its clear 4xx.

Uses the 5 x 3 board of tests/planning/test_plans.py (village k at column k % 5, row k // 5)
with a planner of its town (``town`` in tests/planning/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AccountRole
from planning import api, services
from planning.models import Plan, PlanChange
from tests.factories import AccountFactory
from tests.planning.conftest import FULL
from tests.planning.test_plans import SIZE, msg

pytestmark = pytest.mark.django_db


def url(name: str, plan: Plan, **kwargs: object) -> str:
    return reverse(name, kwargs={"pk": plan.pk, **kwargs})


def props(body: dict, code: str) -> dict:
    return next(
        f["properties"] for f in body["stations"]["features"] if f["properties"]["code"] == code
    )


# --- list and create ------------------------------------------------------------------------
def test_create_then_list_with_counts(town, client_for, django_assert_max_num_queries):
    town.publish(**FULL)
    client = client_for(town.planner)
    answer = client.post(
        "/api/plans/", {"name": " Catchments 2026 ", "area_code": town.town.code}, format="json"
    )
    assert answer.status_code == 201, answer.data
    row = answer.data
    assert (row["name"], row["area_code"], row["status"]) == (
        "Catchments 2026",
        town.town.code,
        "draft",
    )
    assert (row["villages"], row["stations"], row["unassigned"]) == (15, 3, 0)
    assert row["area_name"] == town.town.name
    assert row["links"]["page"] == f"/plans/{row['id']}/"
    services.plan_create(actor=town.planner, name="second", area_code=town.town.code)
    with django_assert_max_num_queries(1):
        listed = client.get("/api/plans/")
    assert listed.status_code == 200
    assert [r["name"] for r in listed.data["results"]] == ["second", "Catchments 2026"]


def test_create_refusals(town, client_for):
    client = client_for(town.planner)
    answer = client.post("/api/plans/", {"name": "", "area_code": town.town.code}, format="json")
    assert answer.status_code == 400
    assert answer.data["errors"] == {"name": [msg(services.MSG_NO_NAME)]}
    assert answer.data["detail"] == msg(services.MSG_NO_NAME)
    answer = client.post("/api/plans/", {"name": "x", "area_code": "990199999"}, format="json")
    assert answer.status_code == 400
    assert answer.data["errors"]["area_code"] == [msg(services.MSG_NO_AREA, code="990199999")]
    answer = client.post(
        "/api/plans/", {"name": "x", "area_code": town.other_town.code}, format="json"
    )
    assert answer.status_code == 403
    assert answer.data["detail"] == msg(services.MSG_NOT_PLANNER, code=town.other_town.code)
    answer = client.post(
        "/api/plans/",
        {"name": "x", "area_code": town.town.code, "base_date": "31/12/2026"},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.data["errors"] == {"base_date": [msg(api.MSG_BAD_DATE, value="31/12/2026")]}
    assert not Plan.objects.exists()


# --- detail and villages --------------------------------------------------------------------
def test_detail(town, client_for, django_assert_max_num_queries):
    plan = town.town_plan(**FULL)
    client = client_for(town.planner)
    client.get(url("api-plan-detail", plan))  # the travel-time cache is filled once
    with django_assert_max_num_queries(13):
        answer = client.get(url("api-plan-detail", plan))
    assert answer.status_code == 200
    body = answer.data
    assert (body["name"], body["status"], body["editable"]) == ("2026", "draft", True)
    assert (body["can_undo"], body["can_redo"]) == (False, False)
    assert body["area_name"] == town.town.name
    a = props(body, town.a.code)
    assert (a["villages"], a["households"], a["population"], a["contiguous"]) == (4, 3, 9, True)
    assert a["estimated"] is True and a["longest_minutes"] is not None  # no roads: estimated
    assert a["size_ok"] is True and a["colour"] == api.PALETTE[0]
    assert props(body, town.b.code)["colour"] == api.PALETTE[1]
    feature = body["stations"]["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert body["assignment"][town.code(1)] == town.a.code
    assert body["violations"] == []
    assert body["changes"] == {"count": 0, "overrides": 0, "recent": []}
    assert body["limits"] == {"min_villages": 3, "max_villages": 7}


def test_villages_geojson(town, client_for, django_assert_max_num_queries):
    plan = town.town_plan(**FULL)
    with django_assert_max_num_queries(3):
        answer = client_for(town.planner).get(url("api-plan-villages", plan))
    assert answer.status_code == 200
    features = {f["properties"]["code"]: f for f in answer.data["features"]}
    assert len(features) == 15
    assert features[town.code(1)]["properties"]["station"] == town.a.code
    assert features[town.code(1)]["properties"]["households"] == 3
    assert features[town.code(1)]["geometry"]["type"] == "MultiPolygon"


# --- assign, refusals, overrides, undo/redo -------------------------------------------------
def test_a_click_moves_a_village_and_answers_with_the_new_figures(town, client_for):
    plan = town.town_plan(a=[0, 5, 10, 1, 6], b=[2, 3, 4], d=[11, 12, 13, 14])
    answer = client_for(town.planner).post(
        url("api-plan-assign", plan),
        {"villages": [town.code(1)], "station": town.b.code},
        format="json",
    )
    assert answer.status_code == 200, answer.data
    body = answer.data
    assert body["changed"] == [town.code(1)]
    assert body["assignment"][town.code(1)] == town.b.code
    b, a = props(body, town.b.code), props(body, town.a.code)
    assert (b["villages"], b["households"], b["population"]) == (4, 3, 9)
    assert (a["villages"], a["households"]) == (4, 0)
    assert body["can_undo"] is True and body["can_redo"] is False
    (change,) = body["changes"]["recent"]
    assert (change["village"], change["from_station"], change["to_station"]) == (
        town.code(1),
        town.a.code,
        town.b.code,
    )
    assert change["action"] == "click"


def test_an_eighth_village_is_refused_with_the_reason_and_an_override_is_kept(town, client_for):
    plan = town.town_plan(**FULL)
    client = client_for(town.planner)
    move = {"villages": [town.code(1)], "station": town.b.code}
    answer = client.post(url("api-plan-assign", plan), move, format="json")
    assert answer.status_code == 400
    reason = msg(services.MSG_TOO_MANY, station=town.b.code, count=8, max=7)
    assert answer.data["detail"] == reason
    assert answer.data["errors"] == {"constraints": [reason]}
    assert answer.data["overridable"] is True
    assert not plan.changes.exists()
    assert plan.assignments.get(village_code=town.code(1)).station.code == town.a.code

    answer = client.post(
        url("api-plan-assign", plan), {**move, "override_reason": "  New road  "}, format="json"
    )
    assert answer.status_code == 200, answer.data
    assert answer.data["assignment"][town.code(1)] == town.b.code
    assert props(answer.data, town.b.code)["size_ok"] is False
    assert answer.data["changes"]["recent"][0]["override_reason"] == "New road"
    assert answer.data["changes"]["overrides"] == 1
    assert plan.changes.get().override_reason == "New road"
    assert [v["kind"] for v in answer.data["violations"]] == ["size"]


def test_a_locked_station_is_refused_for_good(town, client_for):
    plan = town.town_plan(**FULL)
    client = client_for(town.planner)
    locked = client.post(url("api-plan-station-lock", plan, code=town.a.code), {"locked": True})
    assert locked.status_code == 200 and props(locked.data, town.a.code)["locked"] is True
    move = {"villages": [town.code(1)], "station": town.b.code, "override_reason": "because"}
    answer = client.post(url("api-plan-assign", plan), move, format="json")
    assert answer.status_code == 400
    assert msg(services.MSG_LOCKED, station=town.a.code) in answer.data["errors"]["constraints"]
    assert answer.data["overridable"] is False
    unlocked = client.post(
        url("api-plan-station-lock", plan, code=town.a.code), {"locked": False}, format="json"
    )
    assert props(unlocked.data, town.a.code)["locked"] is False
    assert [c["kind"] for c in unlocked.data["changes"]["recent"]] == ["unlock", "lock"]


def test_a_body_that_is_not_an_object_is_refused_and_changes_nothing(town, client_for):
    plan = town.town_plan(**FULL)
    client = client_for(town.planner)
    before = client.get(url("api-plan-detail", plan)).data
    for name, kwargs in [
        ("api-plan-station-lock", {"code": town.a.code}),
        ("api-plan-assign", {}),
        ("api-plan-solve", {}),
    ]:
        answer = client.post(url(name, plan, **kwargs), ["locked", True], format="json")
        assert answer.status_code == 400, name
        assert answer.data["errors"] == {"non_field_errors": [msg(api.MSG_BODY_NOT_OBJECT)]}
    assert client.get(url("api-plan-detail", plan)).data == before


def test_bad_assign_input(town, client_for):
    plan = town.town_plan(**FULL)
    client = client_for(town.planner)
    answer = client.post(url("api-plan-assign", plan), {"villages": 3}, format="json")
    assert answer.status_code == 400
    assert answer.data["errors"] == {"villages": [msg(api.MSG_VILLAGES_LIST)]}
    answer = client.post(url("api-plan-assign", plan), {"villages": ["1"]}, format="json")
    assert answer.data["errors"] == {"station": [msg(api.MSG_STATION_REQUIRED)]}
    answer = client.post(
        url("api-plan-assign", plan),
        {"villages": ["990199999999"], "station": town.a.code},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.data["errors"] == {
        "village": [msg(services.MSG_VILLAGE_NOT_IN_PLAN, code="990199999999")]
    }
    answer = client.post(
        url("api-plan-assign", plan),
        {"villages": [town.code(1)], "station": "990199999S01"},
        format="json",
    )
    assert answer.data["errors"] == {
        "station": [msg(services.MSG_STATION_NOT_IN_PLAN, code="990199999S01")]
    }


def test_a_brush_stroke_is_one_batch_undone_and_redone_together(town, client_for):
    plan = town.town_plan(a=[0, 5, 10, 1, 6], b=[2, 3, 4], d=[11, 12, 13, 14])
    client = client_for(town.planner)
    stroke = {"villages": [town.code(1), town.code(6)], "station": town.b.code}
    answer = client.post(url("api-plan-assign", plan), stroke, format="json")
    assert answer.status_code == 200, answer.data
    assert sorted(answer.data["changed"]) == [town.code(1), town.code(6)]
    assert {c["action"] for c in answer.data["changes"]["recent"]} == {"brush"}
    undone = client.post(url("api-plan-undo", plan))
    assert undone.status_code == 200
    assert undone.data["assignment"][town.code(1)] == town.a.code
    assert undone.data["assignment"][town.code(6)] == town.a.code
    assert (undone.data["can_undo"], undone.data["can_redo"]) == (False, True)
    assert all(c["undone"] for c in undone.data["changes"]["recent"])
    redone = client.post(url("api-plan-redo", plan))
    assert redone.data["assignment"][town.code(6)] == town.b.code
    assert (redone.data["can_undo"], redone.data["can_redo"]) == (True, False)
    again = client.post(url("api-plan-redo", plan))
    assert again.status_code == 400
    assert again.data["errors"] == {"plan": [msg(services.MSG_NOTHING_TO_REDO)]}
    client.post(url("api-plan-undo", plan))
    nothing = client.post(url("api-plan-undo", plan))
    assert nothing.status_code == 400
    assert nothing.data["detail"] == msg(services.MSG_NOTHING_TO_UNDO)


# --- stations ---------------------------------------------------------------------------------
def test_station_add_move_retire(town, client_for):
    plan = town.town_plan(**FULL)
    client = client_for(town.planner)
    inside = {"lon": 100.0 + SIZE * 4.5, "lat": SIZE * 2.5}
    added = client.post(
        url("api-plan-station-add", plan), {"name": "East", **inside}, format="json"
    )
    assert added.status_code == 200, added.data
    new = f"{town.town.code}S04"
    assert added.data["station"] == new
    assert props(added.data, new)["published"] is False
    assert props(added.data, new)["villages"] == 0
    assert [v["kind"] for v in added.data["violations"]] == ["size"]
    missing = client.post(url("api-plan-station-add", plan), {"name": "x"}, format="json")
    assert missing.data["errors"] == {"location": [msg(api.MSG_LON_LAT)]}

    far = {"lon": 101.0, "lat": 1.0}
    moved = client.post(url("api-plan-station-move", plan, code=new), far, format="json")
    assert moved.status_code == 400
    assert moved.data["errors"]["constraints"] == [
        msg(services.MSG_OUTSIDE_TOWN, station=new, town=town.town.code)
    ]
    assert moved.data["overridable"] is True
    moved = client.post(
        url("api-plan-station-move", plan, code=new),
        {**far, "override_reason": "temporary office"},
        format="json",
    )
    assert moved.status_code == 200
    assert props(moved.data, new)["code"] == new
    feature = next(f for f in moved.data["stations"]["features"] if f["id"] == new)
    assert feature["geometry"]["coordinates"] == [101.0, 1.0]

    retire = client.post(url("api-plan-station-retire", plan, code=town.d.code), format="json")
    assert retire.status_code == 400
    assert retire.data["overridable"] is True
    assert retire.data["errors"]["constraints"] == [
        msg(services.MSG_RETIRE_HOLDS, station=town.d.code, count=4)
    ]
    retire = client.post(
        url("api-plan-station-retire", plan, code=town.d.code),
        {"override_reason": "merged"},
        format="json",
    )
    assert retire.status_code == 200
    assert props(retire.data, town.d.code)["retired"] is True
    assert sorted(retire.data["changed"]) == [town.code(k) for k in (11, 12, 13, 14)]
    assert retire.data["assignment"][town.code(11)] is None
    unknown = client.post(url("api-plan-station-lock", plan, code="990199999S09"))
    assert unknown.status_code == 404
    bad = client.post(
        url("api-plan-station-lock", plan, code=town.a.code), {"locked": "maybe"}, format="json"
    )
    assert bad.data["errors"] == {"locked": [msg(api.MSG_BAD_BOOL, field="locked")]}


# --- proposals --------------------------------------------------------------------------------
def test_propose_and_repair_report(town, client_for):
    plan = town.town_plan(a=[0, 5, 10, 1], b=[2, 3, 4, 7, 8, 9], d=[11, 12, 13, 14])
    client = client_for(town.planner)
    services.plan_assign(
        actor=town.planner,
        plan=plan,
        village_code=[town.code(6)],
        station=town.d.code,
        override_reason="test a repair",
    )
    answer = client.post(
        url("api-plan-solve", plan), {"mode": "repair", "time_limit": 5}, format="json"
    )
    assert answer.status_code == 200, answer.data
    report = answer.data["report"]
    assert report["mode"] == "repair" and report["status"] in ("optimal", "feasible")
    assert report["constraints"]["contiguous_ok"] is True
    assert report["mean_minutes"] is not None and report["seconds_taken"] >= 0
    assert answer.data["violations"] == []
    assert report["applied"] == len(
        PlanChange.objects.filter(plan=plan, action="repair").values("village_code")
    )
    answer = client.post(
        url("api-plan-solve", plan),
        {"mode": "propose", "stay_close": True, "time_limit": 5},
        format="json",
    )
    assert answer.status_code == 200, answer.data
    assert answer.data["report"]["stay_close"] is True
    assert answer.data["report"]["constraints"]["sizes_ok"] is True
    bad = client.post(url("api-plan-solve", plan), {"mode": "guess"}, format="json")
    assert bad.status_code == 400 and bad.data["errors"] == {"mode": [msg(api.MSG_BAD_MODE)]}
    # An empty or non-text mode is refused too (it ran a proposal; issue 11, the schema).
    for mode in ("", None, 3):
        bad = client.post(url("api-plan-solve", plan), {"mode": mode}, format="json")
        assert bad.status_code == 400 and bad.data["errors"] == {"mode": [msg(api.MSG_BAD_MODE)]}
    bad = client.post(url("api-plan-solve", plan), {"time_limit": 900}, format="json")
    assert bad.data["errors"] == {"time_limit": [msg(api.MSG_BAD_TIME_LIMIT, max=60)]}


# --- publish ----------------------------------------------------------------------------------
def test_publish_then_read_only_and_in_force(town, client_for):
    plan = town.town_plan(a=[0, 5, 10, 1], b=[2, 3, 4, 7, 8, 9, 6], d=[11, 12, 13, 14])
    client = client_for(town.planner)
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    answer = client.post(url("api-plan-publish", plan), {"effective_from": past}, format="json")
    assert answer.status_code == 400
    assert list(answer.data["errors"]) == ["effective_from"]
    services.plan_assign(
        actor=town.planner,
        plan=plan,
        village_code=town.code(1),
        station=town.b.code,
        override_reason="new road",
    )
    today = timezone.localdate().isoformat()
    answer = client.post(url("api-plan-publish", plan), {"effective_from": today}, format="json")
    assert answer.status_code == 400
    assert answer.data["errors"]["constraints"][0] == msg(services.MSG_PUBLISH_VIOLATIONS, count=1)
    assert answer.data["overridable"] is True
    answer = client.post(
        url("api-plan-publish", plan),
        {"effective_from": today, "override_reason": "agreed with the town"},
        format="json",
    )
    assert answer.status_code == 200, answer.data
    body = answer.data
    assert (body["status"], body["editable"], body["effective_from"]) == ("published", False, today)
    assert body["publish_reason"] == "agreed with the town"
    assert (body["can_undo"], body["can_redo"]) == (False, False)
    catchments = client.get("/api/catchments/", {"town": town.town.code})
    stations = {v["village_code"]: v["station_code"] for v in catchments.data["villages"]}
    assert stations[town.code(1)] == town.b.code and stations[town.code(0)] == town.a.code
    again = client.post(
        url("api-plan-assign", plan),
        {"villages": [town.code(1)], "station": town.a.code},
        format="json",
    )
    assert again.status_code == 400
    assert again.data["errors"] == {"plan": [msg(services.MSG_NOT_DRAFT, plan="2026")]}


# --- CSV, GeoJSON, diff -----------------------------------------------------------------------
def test_csv_round_trip_through_download_and_upload(town, client_for):
    plan = town.town_plan(**FULL)
    client = client_for(town.planner)
    download = client.get(url("api-plan-export-csv", plan))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"] == (
        f'attachment; filename="plan-{plan.pk}-{town.town.code}-assignment.csv"'
    )
    text = download.content.decode()
    assert text.splitlines()[0] == "village_code,station_code"
    edited = text.replace(f"{town.code(6)},{town.b.code}", f"{town.code(6)},{town.a.code}")
    upload = io.BytesIO(edited.encode())
    upload.name = "plan.csv"
    answer = client.post(url("api-plan-import-csv", plan), {"file": upload}, format="multipart")
    assert answer.status_code == 200, answer.data
    assert answer.data["imported"] == 1
    assert answer.data["assignment"][town.code(6)] == town.a.code
    assert client.get(url("api-plan-export-csv", plan)).content.decode() == edited
    # The same text as JSON: nothing changes, nothing to import.
    answer = client.post(url("api-plan-import-csv", plan), {"csv": edited}, format="json")
    assert answer.status_code == 200 and answer.data["imported"] == 0


def test_csv_import_reports_every_bad_line(town, client_for):
    plan = town.town_plan(**FULL)
    bad = "\n".join(
        [
            "village_code,station_code",
            f"{town.code(1)},{town.b.code}",
            "990199999999,x",
            f"{town.code(2)},990199999S01",
            "only-one-column",
        ]
    )
    upload = io.BytesIO(bad.encode())
    upload.name = "plan.csv"
    client = client_for(town.planner)
    answer = client.post(url("api-plan-import-csv", plan), {"file": upload}, format="multipart")
    assert answer.status_code == 400
    line = services.MSG_CSV_LINE
    assert answer.data["errors"] == {
        "csv": [
            msg(line, line=3, error=msg(services.MSG_CSV_UNKNOWN_VILLAGE, code="990199999999")),
            msg(line, line=4, error=msg(services.MSG_CSV_UNKNOWN_STATION, code="990199999S01")),
            msg(line, line=5, error=msg(services.MSG_CSV_COLUMNS)),
        ]
    }
    assert "overridable" not in answer.data
    assert not plan.changes.exists()
    empty = client.post(url("api-plan-import-csv", plan), {}, format="multipart")
    assert empty.data["errors"] == {"csv": [msg(api.MSG_CSV_REQUIRED)]}
    latin = io.BytesIO("village,é".encode("latin-1"))
    latin.name = "plan.csv"
    answer = client.post(url("api-plan-import-csv", plan), {"file": latin}, format="multipart")
    assert answer.data["errors"] == {"csv": [msg(services.MSG_CSV_NOT_TEXT)]}


def test_catchments_download(town, client_for):
    plan = town.town_plan(**FULL)
    answer = client_for(town.planner).get(url("api-plan-catchments", plan))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/geo+json"
    assert "catchments.geojson" in answer["Content-Disposition"]
    collection = answer.json()
    assert [f["properties"]["station_code"] for f in collection["features"]] == [
        town.a.code,
        town.b.code,
        town.d.code,
    ]
    assert collection["features"][0]["properties"]["households"] == 3


def test_diff_with_published_and_another_plan(town, client_for):
    plan = town.town_plan(a=[0, 5, 10, 1, 6], b=[2, 3, 4], d=[11, 12, 13, 14])
    other = services.plan_create(actor=town.planner, name="other", area_code=town.town.code)
    services.plan_assign(
        actor=town.planner, plan=plan, village_code=town.code(1), station=town.b.code
    )
    client = client_for(town.planner)
    answer = client.get(url("api-plan-diff", plan), {"with": "published"})
    assert answer.status_code == 200
    assert answer.data["with"] == "published" and answer.data["count"] == 1
    (row,) = answer.data["villages"]
    assert (row["village_code"], row["from_station"], row["to_station"]) == (
        town.code(1),
        town.a.code,
        town.b.code,
    )
    assert row["village_name"] == town.villages[1].name
    answer = client.get(url("api-plan-diff", other), {"with": plan.pk})
    assert answer.data["with"] == plan.pk and answer.data["with_name"] == "2026"
    assert [r["to_station"] for r in answer.data["villages"]] == [town.a.code]
    assert client.get(url("api-plan-diff", plan), {"with": "yesterday"}).status_code == 400
    foreign = services.plan_create(actor=town.actor, name="foreign", area_code=town.other_town.code)
    assert client.get(url("api-plan-diff", plan), {"with": foreign.pk}).status_code == 404


# --- who may ----------------------------------------------------------------------------------
def test_another_towns_planner_gets_404_and_a_viewer_403(town, client_for):
    plan = town.town_plan(**FULL)
    outsider = AccountFactory(role=AccountRole.PLANNER, codes=[town.other_town.code]).user
    client = client_for(outsider)
    assert client.get("/api/plans/").data["results"] == []
    for name in ("api-plan-detail", "api-plan-villages", "api-plan-export-csv", "api-plan-diff"):
        answer = client.get(url(name, plan))
        assert answer.status_code == 404, name
        assert answer.data["detail"] == msg(api.MSG_UNKNOWN_PLAN, id=plan.pk)
    move = {"villages": [town.code(6)], "station": town.a.code}
    assert client.post(url("api-plan-assign", plan), move, format="json").status_code == 404
    assert client.post(url("api-plan-publish", plan)).status_code == 404

    viewer = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[town.town.code]).user
    client = client_for(viewer)
    answer = client.get(url("api-plan-detail", plan))
    assert answer.status_code == 200 and answer.data["editable"] is False
    answer = client.post(url("api-plan-assign", plan), move, format="json")
    assert answer.status_code == 403
    assert answer.data["detail"] == msg(services.MSG_NOT_PLANNER, code=town.town.code)
    assert client.post(url("api-plan-undo", plan)).status_code == 403
    assert not plan.changes.exists()

    assert APIClient().get(url("api-plan-detail", plan)).status_code == 403
    assert client_for(town.planner).get("/api/plans/999999/").status_code == 404


def test_session_writes_need_the_csrf_token_and_tokens_work(town):
    plan = town.town_plan(a=[0, 5, 10, 1, 6], b=[2, 3, 4], d=[11, 12, 13, 14])
    move = {"villages": [town.code(1)], "station": town.b.code}
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(town.planner)
    answer = session.post(url("api-plan-assign", plan), move, format="json")
    assert answer.status_code == 403 and "CSRF" in answer.data["detail"]
    token = Token.objects.create(user=town.planner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post(url("api-plan-assign", plan), move, format="json").status_code == 200


def test_the_schema_documents_the_planning_api(town, client_for):
    answer = client_for(town.planner).get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    paths = answer.json()["paths"]
    for path in (
        "/api/plans/",
        "/api/plans/{id}/",
        "/api/plans/{id}/assign/",
        "/api/plans/{id}/stations/{code}/move/",
        "/api/plans/{id}/solve/",
        "/api/plans/{id}/publish/",
        "/api/plans/{id}/export.csv",
        "/api/plans/{id}/diff/",
    ):
        assert path in paths, path
