"""The three lists for service requests (``/lists/?case=service``, ``servicedesk.lists``) and
the desk's export (``/services/?format=csv|xlsx``): each list's rows against hand-made
requests in every state, the filters, the jurisdiction (a village worker sees their village
only), the applicant masked in the page and both exports, the exports' rows equal to the
page's, and the switch between incidents and service requests on ``/lists/``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from cases import lists as case_lists
from cases.lists import ListKind
from cases.models import Status
from privacy.models import AccessLogEntry
from servicedesk import lists
from servicedesk.lists import ListSpec, list_queryset
from servicedesk.models import ServiceItem, ServiceKind
from servicedesk.selectors import local_date
from servicedesk.services import service_request_rate_public
from tests.servicedesk.engine_world import FRIDAY, act, build_world, take

pytestmark = pytest.mark.django_db

LISTS = reverse("lists")
DESK = reverse("services")
APPLICANT = "王晓红"


@pytest.fixture
def w(db):
    return build_world()


@pytest.fixture
def made(w) -> dict[str, Any]:
    """One request in each state, all in the world's village, plus one next door."""
    r: dict[str, Any] = {}
    r["received"] = take(w, applicant_name=APPLICANT)  # received on FRIDAY: long overdue
    r["fresh"] = take(w, at=timezone.now() - dt.timedelta(hours=1))
    act(w, "assistant", r["fresh"], "start")
    r["handed"] = take(w)
    act(w, "assistant", r["handed"], "start")
    office = {"office": "County civil affairs bureau", "level": "county", "working_days": 3}
    act(w, "assistant", r["handed"], "hand_off", data=office)
    r["done"] = take(w)
    act(w, "secretary", r["done"], "resolve", note="approved")
    r["delivered"] = take(w)
    act(w, "assistant", r["delivered"], "resolve", note="approved")
    act(w, "secretary", r["delivered"], "close_out", data={"how": "pickup"})
    service_request_rate_public(
        short_code=r["delivered"].short_code, rating=5, at=FRIDAY + dt.timedelta(hours=1)
    )
    r["declined"] = take(w)
    act(w, "secretary", r["declined"], "decline", note="not eligible")
    r["withdrawn"] = take(w)
    act(w, "assistant", r["withdrawn"], "cancel", note="the resident withdrew it")
    r["next_door"] = take(w, "district_admin", household=None, village=w.other_village)
    for request in r.values():
        request.refresh_from_db()
    return r


def ids(qs) -> set[int]:
    return {r.pk for r in qs}


def pks(made, *names: str) -> set[int]:
    return {made[n].pk for n in names}


def rows_of(user, kind: str, **filters: Any) -> list[tuple[Any, dict[str, str]]]:
    qs = list_queryset(user=user, spec=ListSpec(kind=kind, **filters))
    columns = lists.columns_for(kind, user)
    return [
        (r, {c.key: c.text for c in cells})
        for r, cells in case_lists.rows(qs, columns, timezone.now())
    ]


# --- what each list holds -----------------------------------------------------------------------
def test_each_list_holds_its_states(w, made):
    admin = w.users["district_admin"]

    def listed(kind: str) -> set[int]:
        return ids(list_queryset(user=admin, spec=ListSpec(kind=kind)))

    not_done = pks(made, "received", "fresh", "handed", "next_door")
    assert listed(ListKind.PROBLEMS) == not_done
    assert listed(ListKind.RESPONSIBILITY) == not_done | pks(made, "done")
    assert listed(ListKind.CLOSEOUT) == pks(made, "done", "delivered", "declined", "withdrawn")


def test_the_problem_list_is_newest_first_with_state_light_and_promise(w, made):
    with translation.override("en"):
        rows = rows_of(w.users["district_admin"], ListKind.PROBLEMS)
    assert rows[0][0].pk == made["fresh"].pk  # received an hour ago
    by_pk = {r.pk: cells for r, cells in rows}
    received = by_pk[made["received"].pk]
    assert received["status"] == "received" and received["traffic_light"] == "red: overdue"
    assert received["item"] == w.item.name and received["service_kind"] == "government affairs"
    assert received["promised_on"] == local_date(made["received"].resolve_due_at).isoformat()
    assert received["first_receiver"] == "assistant"
    assert received["place"].endswith(w.village.name + " · " + w.grid.name)
    assert by_pk[made["fresh"].pk]["traffic_light"] == "green"


def test_the_responsibility_list_names_who_holds_each_and_the_hand_offs(w, made):
    with translation.override("en"):
        rows = dict(rows_of(w.users["district_admin"], ListKind.RESPONSIBILITY))
    handed = next(cells for r, cells in rows.items() if r.pk == made["handed"].pk)
    step = made["handed"].steps.get()
    assert handed["steps"] == (
        f"1. County civil affairs bureau (county), promised by {step.promised_on:%Y-%m-%d}"
    )
    assert handed["first_receiver"] == "assistant" and handed["handler"] == "assistant"
    assert handed["owner"].endswith(f"({made['handed'].owner_code})")
    assert handed["owner_level"]
    done = next(cells for r, cells in rows.items() if r.pk == made["done"].pk)
    assert done["status"] == "done" and done["steps"] == ""
    assert done["handler"] == "secretary"  # who marked it done
    # The nearest promise first (the fresh one's is weeks after the others').
    assert list(rows)[-1].pk == made["fresh"].pk


def test_the_closeout_list_says_who_took_the_last_step_on_time_and_rating(w, made):
    with translation.override("en"):
        rows = {r.pk: cells for r, cells in rows_of(w.users["district_admin"], ListKind.CLOSEOUT)}
    delivered = rows[made["delivered"].pk]
    assert delivered["status"] == "picked up or delivered"
    assert delivered["signed_off_by"] == "secretary"  # who delivered it
    assert delivered["on_time"] == "on time" and delivered["satisfaction"] == "5"
    assert rows[made["done"].pk]["signed_off_by"] == "secretary"  # who marked it done
    assert rows[made["done"].pk]["on_time"] == "on time"
    declined = rows[made["declined"].pk]
    assert declined["status"] == "returned (not eligible)" and declined["on_time"] == ""
    assert declined["signed_off_by"] == "secretary" and declined["resolved_at"] == ""
    assert rows[made["withdrawn"].pk]["status"] == "withdrawn"
    assert rows[made["withdrawn"].pk]["signed_off_by"] == "assistant"


def test_a_late_completion_is_not_on_time(w, made):
    late = take(w)
    late.refresh_from_db()
    act(
        w, "assistant", late, "resolve", note="late", at=late.resolve_due_at + dt.timedelta(hours=1)
    )
    with translation.override("en"):
        rows = {r.pk: cells for r, cells in rows_of(w.users["district_admin"], ListKind.CLOSEOUT)}
    assert rows[late.pk]["on_time"] == "late"
    # Done after its promise and not delivered: the overdue filter finds it.
    overdue = list_queryset(user=w.users["district_admin"], spec=ListSpec(overdue=True,
                            kind=ListKind.RESPONSIBILITY))  # fmt: skip
    assert late.pk in ids(overdue) and made["done"].pk not in ids(overdue)


# --- filters ------------------------------------------------------------------------------------
def test_filters_state_item_kind_village_overdue_and_period(w, made):
    admin = w.users["district_admin"]

    def listed(kind: str = ListKind.PROBLEMS, **filters: Any) -> set[int]:
        return ids(list_queryset(user=admin, spec=ListSpec(kind=kind, **filters)))

    assert listed(status=Status.IN_PROGRESS) == pks(made, "fresh", "handed")
    assert listed(ListKind.CLOSEOUT, status=Status.DECLINED) == pks(made, "declined")
    assert listed(village=w.other_village.code) == pks(made, "next_door")
    assert listed(item=w.item.pk) == pks(made, "received", "fresh", "handed", "next_door")
    other_item = ServiceItem.objects.create(
        code="WH-001", name="Library card", kind=ServiceKind.CULTURE,
        approving_level="village", promised_days=2,
    )  # fmt: skip
    assert listed(item=other_item.pk) == set()
    assert listed(service_kind=ServiceKind.CULTURE) == set()
    assert listed(service_kind=ServiceKind.GOVERNMENT) == listed()
    assert listed(overdue=True) == pks(made, "received", "handed", "next_door")
    # The period: received in it; on the close-out list, ended in it.
    # The day the fresh one came in (an hour ago: yesterday between midnight and one).
    today = timezone.localdate(made["fresh"].reported_at)
    assert listed(date_from=today) == pks(made, "fresh")
    assert listed(date_to=FRIDAY.date()) == pks(made, "received", "handed", "next_door")
    ended_friday = listed(ListKind.CLOSEOUT, date_from=FRIDAY.date(), date_to=FRIDAY.date())
    assert ended_friday == pks(made, "done", "delivered", "declined", "withdrawn")
    assert listed(ListKind.CLOSEOUT, date_from=today) == set()


@pytest.mark.parametrize(
    "params",
    [
        {"village": "12345"},
        {"service_kind": "magic"},
        {"item": "999999"},
        {"status": "lost"},
        {"from": "2025-02-01", "to": "2025-01-01"},
    ],
)
def test_bad_filters_are_a_400_with_a_message(w, client, params):
    client.force_login(w.users["district_admin"])
    response = client.get(LISTS, {"case": "service", **params})
    assert response.status_code == 400 and "data-error" in response.content.decode()
    response = client.get(LISTS, {"case": "service", "format": "csv", **params})
    assert response.status_code == 400 and response.content.decode().strip()


def test_an_unknown_case_kind_is_a_400(w, client):
    client.force_login(w.users["district_admin"])
    response = client.get(LISTS, {"case": "parcels"})
    assert response.status_code == 400 and "parcels" in response.content.decode()


# --- jurisdiction -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ListKind.values)
def test_a_village_worker_sees_their_village_only(w, made, kind):
    mine = ids(list_queryset(user=w.users["assistant"], spec=ListSpec(kind=kind)))
    assert made["next_door"].pk not in mine and mine
    theirs = ids(list_queryset(user=w.users["other_assistant"], spec=ListSpec(kind=kind)))
    assert theirs <= pks(made, "next_door")
    # Choosing the other village shows nothing rather than someone else's requests.
    other = ListSpec(kind=kind, village=w.other_village.code)
    assert ids(list_queryset(user=w.users["assistant"], spec=other)) == set()
    assert ids(list_queryset(user=w.users["stranger"], spec=ListSpec(kind=kind))) == set()


def test_the_page_and_exports_keep_the_jurisdiction(w, made, client):
    client.force_login(w.users["assistant"])
    html = client.get(LISTS, {"case": "service"}).content.decode()
    assert f'data-request-id="{made["received"].pk}"' in html
    assert f'data-request-id="{made["next_door"].pk}"' not in html
    exported = csv_ids(client.get(LISTS, {"case": "service", "format": "csv"}))
    assert made["next_door"].pk not in exported and made["received"].pk in exported
    assert made["next_door"].pk not in csv_ids(client.get(DESK, {"format": "csv"}))


# --- masking ------------------------------------------------------------------------------------
def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def csv_ids(response) -> list[int]:
    return [int(row[0]) for row in csv_rows(response)[1:]]


def xlsx_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.content
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


@pytest.mark.parametrize("url", [LISTS, DESK])
def test_the_applicant_is_masked_in_the_exports_as_on_screen(w, made, client, url):
    query = {"case": "service"} if url == LISTS else {}
    client.force_login(w.users["town_staff"])  # does not visit households: masked
    assert "王**" in client.get(url, query).content.decode()
    response = client.get(url, {**query, "format": "csv"})
    assert response["Cache-Control"] and "no-store" in response["Cache-Control"]
    text = "\n".join(",".join(row) for row in csv_rows(response))
    assert "王**" in text and APPLICANT not in text
    cells = {c for row in xlsx_rows(client.get(url, {**query, "format": "xlsx"})) for c in row}
    assert "王**" in cells and APPLICANT not in cells
    assert not AccessLogEntry.objects.filter(username="town_staff").exists()

    client.force_login(w.users["assistant"])  # visits households: the name, logged
    response = client.get(url, {**query, "format": "csv"})
    assert APPLICANT in "\n".join(",".join(row) for row in csv_rows(response))
    assert "no-store" in response["Cache-Control"]
    entry = AccessLogEntry.objects.get(username="assistant")
    assert f"service_request:{made['received'].pk}" in entry.records
    assert entry.fields == ["head_name"]


# --- the exports' rows are the page's -----------------------------------------------------------
def page_ids(html: str, attribute: str) -> list[int]:
    return [int(pk) for pk in re.findall(rf'{attribute}="(\d+)"', html)]


@pytest.mark.parametrize("kind", ListKind.values)
def test_the_lists_exports_hold_the_pages_rows_with_its_columns(w, made, client, kind):
    client.force_login(w.users["district_admin"])
    query = {"case": "service", "list": kind, "village": w.village.code}
    html = client.get(LISTS, query).content.decode()
    shown = page_ids(html, "data-request-id")
    assert shown
    with translation.override("en"):
        rows = csv_rows(client.get(LISTS, {**query, "format": "csv"}))
        headers = [str(c.label) for c in lists.COLUMNS[kind]]
    assert rows[0] == headers
    assert [int(r[0]) for r in rows[1:]] == shown
    xlsx = xlsx_rows(client.get(LISTS, {**query, "format": "xlsx"}))
    assert [r[0] for r in xlsx[1:]] == shown
    assert len(xlsx[0]) == len(headers)


def test_the_desk_exports_what_its_filters_show(w, made, client):
    client.force_login(w.users["town_staff"])
    for query in (
        {},
        {"status": Status.IN_PROGRESS},
        {"overdue": "on"},
        {"village": w.village.code},
    ):
        html = client.get(DESK, query).content.decode()
        shown = page_ids(html, "data-request")
        assert csv_ids(client.get(DESK, {**query, "format": "csv"})) == shown, query
        assert [r[0] for r in xlsx_rows(client.get(DESK, {**query, "format": "xlsx"}))[1:]] == shown
    with translation.override("en"):
        header = csv_rows(client.get(DESK, {"format": "csv"}))[0]
        assert header == [str(c.label) for c in lists.DESK]
    html = client.get(DESK).content.decode()
    assert 'data-export="csv"' in html and "format=xlsx" in html


def test_the_desk_export_says_what_is_wrong(w, client):
    client.force_login(w.users["town_staff"])
    response = client.get(DESK, {"item": "nonsense", "format": "csv"})
    assert response.status_code == 400 and response.content.decode().strip()


def test_the_xlsx_refuses_more_rows_than_it_can_hold(w, made, client, monkeypatch):
    monkeypatch.setattr(case_lists, "XLSX_MAX_ROWS", 2)
    client.force_login(w.users["district_admin"])
    for url, query in ((LISTS, {"case": "service"}), (DESK, {})):
        response = client.get(url, {**query, "format": "xlsx"})
        assert response.status_code == 400
        assert "2" in response.content.decode()


# --- the page -----------------------------------------------------------------------------------
def test_lists_switches_between_incidents_and_service_requests(w, made, client):
    client.force_login(w.users["district_admin"])
    html = client.get(LISTS).content.decode()
    assert 'data-case="incident"' in html and 'data-case-tab="service"' in html
    html = client.get(LISTS, {"case": "service", "list": "closeout"}).content.decode()
    assert 'data-case="service"' in html and 'data-list="closeout"' in html
    assert 'name="case" value="service"' in html  # the filters stay on service requests
    assert f'href="/services/{made["delivered"].pk}/"' in html
    # The completion figures of what the filter holds.
    assert 'data-figure="completion_rate"' in html
    with translation.override("zh-hans"):
        html = client.get(LISTS, {"case": "service"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "代办" in html.content.decode()


def test_the_figures_follow_the_period_and_village(w, made, client):
    client.force_login(w.users["district_admin"])
    friday = FRIDAY.date().isoformat()
    response = client.get(LISTS, {"case": "service", "from": friday, "to": friday})
    figures = response.context["figures"]["figures"]
    # Received on FRIDAY in the district: all but the fresh one (7); withdrawn 1, declined 1,
    # completed 2 (done, delivered): 2 / (7 - 1).
    assert figures.received == 7 and figures.completed == 2
    assert figures.completion_rate == pytest.approx(2 / 6)
    response = client.get(
        LISTS, {"case": "service", "from": friday, "to": friday, "village": w.other_village.code}
    )
    assert response.context["figures"]["figures"].received == 1


@pytest.mark.parametrize("kind", ListKind.values)
def test_each_list_is_one_query_whatever_the_rows(w, made, kind, django_assert_num_queries):
    root = w.users["superuser"]
    columns = lists.columns_for(kind, root)
    with django_assert_num_queries(1):
        rows = list(case_lists.rows(list_queryset(user=root, spec=ListSpec(kind=kind)), columns,
                                    timezone.now()))  # fmt: skip
    assert rows


def test_the_columns_are_the_same_objects_for_every_page(w):
    """The page keeps each column's writers per column object (``cases.lists.rows_html``):
    the applicant's column is one object per visibility, not a new one per request."""
    from servicedesk.lists import columns_for

    for kind in ListKind.values:
        first = columns_for(kind, w.users["assistant"])
        again = columns_for(kind, w.users["assistant"])
        assert all(a is b for a, b in zip(first, again, strict=True))
