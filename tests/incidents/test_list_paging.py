"""The lists at city scale (issue 16 point 4): pages of ``/lists/`` fetched as keys then names
(``cases.paging.numbered_page``), counts exact up to a cap and estimated above it (and said
so), the API's incidents list paged by cursor, and the lists' indexes matching their orders.

The cases come from tests/incidents/test_lists.py's world; many share one reported time, one
deadline and one close-out time, so the orders have ties that only the id breaks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountRole
from cases import lists as case_lists
from cases import paging
from incidents import api as incidents_api
from incidents.api import LIST_KEYSET
from incidents.lists import ListKind, ListSpec, list_queryset
from incidents.models import Incident, Status
from tests.factories import UserFactory
from tests.incidents.test_lists import (  # noqa: F401 (fixtures)
    EAST,
    V3,
    WEST,
    close_out,
    login,
    make_case,
    reporter,
    world,
)

pytestmark = pytest.mark.django_db

LISTS = reverse("lists")
API = "/api/incidents/"


@pytest.fixture
def many(world, reporter) -> list[Incident]:  # noqa: F811
    """Eleven cases: ties in the reported time, the deadline and the close-out time."""
    same = timezone.now() - dt.timedelta(days=2)
    out = []
    for n in range(11):
        where = (WEST, EAST, V3)[n % 3]
        incident = make_case(
            reporter,
            where,
            days_ago=1 + (n % 2),
            status=Status.IN_PROGRESS,
            resolve_due_at=same if n % 4 else None,
        )
        Incident.objects.filter(pk=incident.pk).update(
            reported_at=same if n < 6 else same - dt.timedelta(hours=n)
        )
        out.append(incident)
    for incident in out[:5]:
        close_out(incident, by="S1 head", days_ago=1)
    Incident.objects.filter(pk__in=[i.pk for i in out[:5]]).update(closed_at=same)
    return out


def root() -> Any:
    return UserFactory(username="root", is_superuser=True)


def walk_pages(client, kind: str) -> list[int]:
    """Every page of a list, following the pager's next link, as the ids shown."""
    shown: list[int] = []
    url = f"{LISTS}?list={kind}"
    for _ in range(100):
        response = client.get(url)
        assert response.status_code == 200
        shown += [case.pk for case in response.context["rows"]]
        if not response.context["next_url"]:
            return shown
        url = LISTS + response.context["next_url"]
    raise AssertionError("the pages did not end")


@pytest.mark.parametrize("kind", list(ListKind.values))
def test_the_pages_concatenate_to_the_whole_list_in_order(client, many, kind, monkeypatch):
    monkeypatch.setattr(case_lists, "PAGE_SIZE", 2)
    user = root()
    client.force_login(user)
    expected = [i.pk for i in list_queryset(user=user, spec=ListSpec(kind=kind))]
    assert len(expected) >= 5
    shown = walk_pages(client, kind)
    assert shown == expected
    assert len(set(shown)) == len(shown)


@pytest.mark.parametrize("kind", list(ListKind.values))
def test_page_one_is_the_lists_first_rows_with_their_names(client, many, kind):
    user = root()
    client.force_login(user)
    qs = list_queryset(user=user, spec=ListSpec(kind=kind))
    response = client.get(LISTS, {"list": kind})
    rows = response.context["rows"]
    assert [case.pk for case in rows] == [i.pk for i in qs[: case_lists.PAGE_SIZE]]
    # The page reads its rows by key (incidents.selectors.list_rows): what the columns show is
    # what the list's queryset has.
    expected = {i.pk: i for i in qs}
    for case in rows:
        for name in ("owner_name", "signed_off_by", "signed_off_at", "responsible"):
            assert getattr(case, name, None) == getattr(expected[case.pk], name, None)
        for column in response.context["columns"]:
            now = timezone.now()
            assert column.value(case, now) == column.value(expected[case.pk], now), column.key


@pytest.mark.parametrize("kind", list(ListKind.values))
def test_a_page_is_two_statements_whatever_its_depth(many, kind, django_assert_num_queries):
    qs = list_queryset(user=root(), spec=ListSpec(kind=kind))
    count = paging.count_rows(qs)
    for number in (1, 2, 3):
        with django_assert_num_queries(2):
            page = paging.numbered_page(qs, number, 2, count)
            rows = list(
                case_lists.rows(page.rows, [case_lists.OWNER, case_lists.CASE], timezone.now())
            )
        assert len(rows) == len(page.rows) <= 2


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE incidents_incident")


def test_counts_are_exact_under_the_cap_and_estimated_above(many, django_assert_num_queries):
    _analyze()
    qs = Incident.objects.all()
    # The planner's estimate (EXPLAIN, nothing run), then the bounded count.
    with django_assert_num_queries(2):
        assert paging.count_rows(qs) == paging.RowCount(11, estimate=False)
    with django_assert_num_queries(2):
        counted = paging.count_rows(qs, cap=5)
    assert counted.estimate and counted.value >= 6


def test_far_above_the_cap_the_estimate_is_the_answer_without_counting(
    many, django_assert_num_queries
):
    """Where the planner expects TRUST_ESTIMATE_FACTOR times the cap, the bounded count
    (which would only confirm "more than the cap") is not run."""
    _analyze()
    qs = Incident.objects.all()
    with django_assert_num_queries(1):
        counted = paging.count_rows(qs, cap=2)
    assert counted == paging.RowCount(11, estimate=True)
    # Just above the cap, the count still runs (the estimate alone is not trusted).
    with django_assert_num_queries(2):
        counted = paging.count_rows(qs, cap=3)
    assert counted.estimate and counted.value >= 4


def test_a_caller_may_trust_the_estimate_from_the_cap_itself(many, django_assert_num_queries):
    """``trust=1`` (the API's): the planner's estimate is the answer as soon as it reaches the
    cap, with no bounded count; under the cap, the count is exact."""
    _analyze()
    qs = Incident.objects.all()
    with django_assert_num_queries(1):
        assert paging.count_rows(qs, cap=11, trust=1) == paging.RowCount(11, estimate=True)
    with django_assert_num_queries(2):
        assert paging.count_rows(qs, cap=12, trust=1) == paging.RowCount(11, estimate=False)


def test_an_estimate_that_is_the_answer_is_kept_for_its_filter_only(
    many, settings, django_assert_num_queries
):
    """With GRIDMAP_COUNT_ESTIMATE_SECONDS on, the planner's estimate that answers a count is
    kept for the same filter (its SQL and values): the next page plans nothing. Another
    filter, another cap, and an exact count are not answered from it."""
    settings.GRIDMAP_COUNT_ESTIMATE_SECONDS = 60
    paging.kept_estimates.clear()
    _analyze()
    qs = Incident.objects.all()
    try:
        with django_assert_num_queries(1):
            first = paging.count_rows(qs, cap=2)
        with django_assert_num_queries(0):
            assert paging.count_rows(qs, cap=2) == first == paging.RowCount(11, estimate=True)
        # Another cap: planned (and counted) afresh.
        with django_assert_num_queries(2):
            assert paging.count_rows(qs, cap=20) == paging.RowCount(11, estimate=False)
        # Another filter: planned and counted afresh, not answered by the whole list's estimate.
        some = Incident.objects.filter(pk__lte=Incident.objects.order_by("pk")[4].pk)
        with django_assert_num_queries(2):
            assert paging.count_rows(some, cap=20) == paging.RowCount(5, estimate=False)
        # An exact count is never kept.
        with django_assert_num_queries(2):
            assert paging.count_rows(qs, cap=20) == paging.RowCount(11, estimate=False)
    finally:
        paging.kept_estimates.clear()


def test_an_estimate_learnt_by_counting_past_the_cap_is_kept_too(
    many, settings, django_assert_num_queries
):
    """Where the planner expects fewer rows than it would trust, the bounded count runs;
    when it finds more than the cap, its answer (an estimate) is kept as a trusted one is:
    the next page neither plans nor counts again."""
    settings.GRIDMAP_COUNT_ESTIMATE_SECONDS = 60
    paging.kept_estimates.clear()
    _analyze()
    qs = Incident.objects.all()
    try:
        with django_assert_num_queries(2):  # EXPLAIN, then count(*) over LIMIT cap + 1
            first = paging.count_rows(qs, cap=5, trust=100)
        assert first == paging.RowCount(11, estimate=True)
        with django_assert_num_queries(0):
            assert paging.count_rows(qs, cap=5, trust=100) == first
    finally:
        paging.kept_estimates.clear()


def test_an_estimated_count_is_said_so_on_the_page_and_in_the_api(client, many, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    # The API's own cap (lower than the pages'): above it, the estimate.
    monkeypatch.setattr(incidents_api, "API_COUNT_CAP", 3)
    monkeypatch.setattr(case_lists, "PAGE_SIZE", 2)
    client.force_login(root())
    page = client.get(LISTS, {"list": ListKind.PROBLEMS})
    assert page.context["count_is_estimate"] is True
    html = page.content.decode()
    # The page's language is Chinese: "约 11 件" (about 11 cases).
    assert "data-count-estimate" in html and page.context["count_text"].startswith("约 ")
    assert page.context["count_text"] in html
    assert "data-pages-estimate" in html
    # (A page with a next page: a first page holding the whole list is its own count.)
    body = client.get(API, {"page_size": 2}).json()
    assert body["count_is_estimate"] is True and body["count"] >= 4
    monkeypatch.setattr(incidents_api, "API_COUNT_CAP", 1000)
    body = client.get(API, {"page_size": 2}).json()
    assert body["count_is_estimate"] is False and body["count"] == 11


def test_a_page_past_the_end_of_an_exact_count_is_the_last_page(client, many, monkeypatch):
    monkeypatch.setattr(case_lists, "PAGE_SIZE", 5)
    client.force_login(root())
    response = client.get(LISTS, {"list": ListKind.PROBLEMS, "page": 99})
    assert response.context["page"].number == 3
    assert len(response.context["rows"]) == 1
    assert client.get(LISTS, {"list": ListKind.PROBLEMS, "page": "x"}).context["page"].number == 1


# --- the API ----------------------------------------------------------------------------------
def api_walk(client, url: str) -> tuple[list[int], list[dict[str, Any]]]:
    shown: list[int] = []
    bodies = []
    for _ in range(100):
        body = client.get(url).json()
        bodies.append(body)
        shown += [f["id"] for f in body["features"]]
        if not body["next"]:
            return shown, bodies
        url = body["next"]
    raise AssertionError("the pages did not end")


def newest_first(qs) -> list[int]:
    return list(qs.order_by("-reported_at", "-id").values_list("pk", flat=True))


def test_api_cursor_pages_walk_every_incident_once_in_order(client, many):
    client.force_login(root())
    shown, bodies = api_walk(client, f"{API}?page_size=3")
    assert shown == newest_first(Incident.objects.all())
    assert bodies[0]["previous"] is None
    assert all("cursor=" in b["next"] for b in bodies[:-1])
    # Back from the third page: the second, then the first (no previous there).
    third = bodies[2]
    back = client.get(third["previous"]).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in bodies[1]["features"]]
    first = client.get(back["previous"]).json()
    assert [f["id"] for f in first["features"]] == [f["id"] for f in bodies[0]["features"]]
    assert first["previous"] is None and first["next"]


def test_api_cursor_pages_keep_the_filters(client, world, many):  # noqa: F811
    client.force_login(root())
    bbox = "100.0,0.0,100.1,0.1"  # grids W and E, not V3
    shown, _bodies = api_walk(client, f"{API}?page_size=2&bbox={bbox}")
    inside = Incident.objects.exclude(place_code__startswith=world.t2.code)
    assert shown == newest_first(inside.filter(location__intersects=_box(100.0, 0.0, 100.1, 0.1)))
    assert len(shown) < len(many)


def test_api_page_numbers_still_work_and_lead_on_by_cursor(client, many):
    client.force_login(root())
    order = newest_first(Incident.objects.all())
    second = client.get(API, {"page": 2, "page_size": 3}).json()
    assert [f["id"] for f in second["features"]] == order[3:6]
    assert "cursor=" in second["next"] and "page=" not in second["next"]
    assert [f["id"] for f in client.get(second["next"]).json()["features"]] == order[6:9]
    assert client.get(API, {"page": 9, "page_size": 3}).json()["features"] == []


@pytest.mark.parametrize(
    "cursor",
    ["nonsense", "eyJrIjoxfQ", "e30", "!!", "eyJrIjoiMjAyNi0wMS0wMSIsImlkIjoxLCJkIjoiYSJ9"],
)
def test_api_bad_cursor_is_a_400_with_a_message(client, many, cursor):
    client.force_login(root())
    response = client.get(API, {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.content.decode()


def test_api_cursor_shows_only_the_jurisdiction(client, world, many):  # noqa: F811
    login(client, AccountRole.STATION_STAFF, [world.station.code], username="s1")
    shown, _bodies = api_walk(client, f"{API}?page_size=2")
    assert shown
    assert not Incident.objects.filter(pk__in=shown, place_code__startswith=world.t2.code).exists()
    # A cursor made from a row outside it reads on from there, still inside the jurisdiction.
    other = (
        Incident.objects.filter(place_code__startswith=world.t2.code)
        .order_by("-reported_at")
        .first()
    )
    cursor = LIST_KEYSET.cursor(other.reported_at, other.pk)
    body = client.get(API, {"cursor": cursor}).json()
    assert not Incident.objects.filter(
        pk__in=[f["id"] for f in body["features"]], place_code__startswith=world.t2.code
    ).exists()


# --- the indexes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "index"),
    [
        (ListKind.PROBLEMS, "incident_reported_id"),
        (ListKind.RESPONSIBILITY, "incident_open_urgency"),
        (ListKind.CLOSEOUT, "incident_closeout"),
    ],
)
def test_each_lists_order_is_read_from_its_index(many, kind, index):
    qs = list_queryset(user=root(), spec=ListSpec(kind=kind)).values_list("pk", flat=True)[:50]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of rows: make the planner show whether the index can give the order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        # Not the single-column date index with an incremental sort of its ties on top.
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
    assert "Sort" not in plan.split(index)[0], plan


@pytest.mark.parametrize("cursor", [False, True])
def test_the_api_window_written_around_its_filter_is_read_from_the_index(many, cursor):
    """``Keyset.window_sql`` wraps the compiled filter in a subquery; PostgreSQL pulls it up,
    so the page (and the row comparison after a cursor) still comes from the index."""
    qs = Incident.objects.filter(location__intersects=_box(99.0, -1.0, 101.0, 1.0))
    last = Incident.objects.order_by("-reported_at", "-id").first()
    after = LIST_KEYSET.cursor(last.reported_at, last.pk) if cursor else None
    sql, params, _before = LIST_KEYSET.window_sql(LIST_KEYSET.keys(qs), 50, after)
    with connection.cursor() as db:
        db.execute("SET LOCAL enable_seqscan = off")
        db.execute("SET LOCAL enable_sort = off")
        db.execute("SET LOCAL enable_incremental_sort = off")
        db.execute("SET LOCAL enable_bitmapscan = off")
        db.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in db.fetchall())
    assert "incident_reported_id" in plan, plan
    assert "Sort" not in plan and "Subquery Scan" not in plan, plan
    if cursor:
        assert "Index Cond: (ROW(reported_at, id) < ROW(" in plan, plan


def test_an_api_page_compiles_its_filter_once(client, many, monkeypatch):
    """The page and its count share one compilation of the filter (``Keyset.keys``)."""
    from django.db.models.sql.query import Query

    client.force_login(root())
    compiled: list[str] = []
    original = Query.sql_with_params

    def counting(query: Query) -> Any:
        compiled.append(str(query.model))
        return original(query)

    monkeypatch.setattr(Query, "sql_with_params", counting)
    response = client.get(API, {"page_size": 2, "bbox": "99,-1,101,1"})
    assert response.status_code == 200 and response.json()["next"]
    assert len(compiled) == 1, compiled


def _box(*bbox: float) -> Any:
    from django.contrib.gis.geos import Polygon

    polygon = Polygon.from_bbox(bbox)
    polygon.srid = 4326
    return polygon


# --- the problem list paged by keyset --------------------------------------------------------
def test_the_problem_list_walks_back_by_its_previous_links(client, many, monkeypatch):
    """Next and Previous of the problem list carry a cursor (the row the page starts after or
    before); walked forward and back, the pages are the numbered pages. Page 2's Previous is
    page 1 itself, and the other lists keep numbered links."""
    monkeypatch.setattr(case_lists, "PAGE_SIZE", 2)
    client.force_login(root())
    by_number = []
    for number in range(1, 7):
        response = client.get(LISTS, {"list": "problems", "page": number})
        by_number.append([case.pk for case in response.context["rows"]])
    url, forward = f"{LISTS}?list=problems", []
    for _ in range(6):
        response = client.get(url)
        forward.append([case.pk for case in response.context["rows"]])
        if response.context["next_url"]:
            assert "cursor=" in response.context["next_url"]
            url = LISTS + response.context["next_url"]
    assert forward == by_number
    assert response.context["page"].number == 6 and not response.context["next_url"]
    back = []
    while response.context["prev_url"]:
        response = client.get(LISTS + response.context["prev_url"])
        back.append((response.context["page"].number, [c.pk for c in response.context["rows"]]))
    assert back == [(n, by_number[n - 1]) for n in (5, 4, 3, 2, 1)]
    page_two = client.get(LISTS, {"list": "problems", "page": 2})
    assert "cursor" not in page_two.context["prev_url"]
    other = client.get(LISTS, {"list": "responsibility"})
    assert "cursor" not in other.context["next_url"]


def test_a_page_after_a_cursor_skips_nothing(client, many, monkeypatch):
    """The page after a cursor reads its keys by a row comparison on (reported_at, id), with
    no OFFSET, whatever its number."""
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(case_lists, "PAGE_SIZE", 2)
    client.force_login(root())
    page_three = client.get(LISTS, {"list": "problems", "page": 3})
    with CaptureQueriesContext(connection) as queries:
        page_four = client.get(LISTS + page_three.context["next_url"])
    assert page_four.context["page"].number == 4
    sqls = [q["sql"] or "" for q in queries.captured_queries]
    keys = [sql for sql in sqls if '"reported_at"' in sql]
    assert keys and not any("OFFSET" in sql for sql in keys)
    assert '(k."reported_at", k."pk") < (' in keys[0]  # the row comparison (Keyset.window_sql)


def test_a_bad_cursor_is_a_400_with_a_message(client, many):
    client.force_login(root())
    response = client.get(LISTS, {"list": "problems", "cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert "翻页链接已失效" in response.content.decode()


def test_a_cursor_from_outside_does_not_widen_the_jurisdiction(client, world, many):  # noqa: F811
    """A cursor only says where to start: a town's staff given one made from a case of
    another town still sees only their own town's cases."""
    outside = Incident.objects.exclude(place_code__startswith=world.t1.code).first()
    assert outside is not None
    login(client, AccountRole.TOWN_STAFF, [world.t1.code])
    cursor = LIST_KEYSET.cursor(outside.reported_at + dt.timedelta(days=1), outside.pk)
    response = client.get(LISTS, {"list": "problems", "page": 2, "cursor": cursor})
    assert response.status_code == 200
    shown = [case.place_code for case in response.context["rows"]]
    assert shown and all(code.startswith(world.t1.code) for code in shown)


def _b64(token: dict[str, Any]) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")


@pytest.mark.parametrize("key", [1e400, "7", True, 2**70, None])
def test_a_cursor_whose_key_is_not_a_key_is_a_400(client, many, key):
    """Review finding: ``"id": 1e400`` made ``int()`` overflow, a 500 on the page and in the
    API."""
    client.force_login(root())
    cursor = _b64({"k": "2026-01-01T00:00:00+00:00", "id": key, "d": "a"})
    page = client.get(LISTS, {"list": "problems", "page": 2, "cursor": cursor})
    assert page.status_code == 400
    assert client.get(API, {"cursor": cursor}).status_code == 400


def test_a_cursor_past_the_end_shows_the_last_page_with_its_way_back(client, many, monkeypatch):
    """Review finding: when nothing follows a Next link's row any more (the list changed under
    it), the page is the numbered one (clamped to the last), with its Previous link."""
    monkeypatch.setattr(case_lists, "PAGE_SIZE", 2)
    client.force_login(root())
    oldest = Incident.objects.order_by("reported_at", "id").first()
    cursor = LIST_KEYSET.cursor(oldest.reported_at, oldest.pk)
    response = client.get(LISTS, {"list": "problems", "page": 9, "cursor": cursor})
    assert response.status_code == 200
    last = client.get(LISTS, {"list": "problems", "page": 6})
    assert response.context["page"].number == 6
    assert [c.pk for c in response.context["rows"]] == [c.pk for c in last.context["rows"]]
    assert response.context["prev_url"] and "data-empty" not in response.content.decode()


def test_going_back_to_the_start_is_page_one(client, many, monkeypatch):
    """Review finding: a Previous link whose page is short (rows added before it, or a
    cursor near the start) showed a short "page 2" and then page 1 repeated its rows. Back
    at the start, the page is page 1 itself."""
    monkeypatch.setattr(case_lists, "PAGE_SIZE", 2)
    client.force_login(root())
    first = client.get(LISTS, {"list": "problems"})
    second_row = first.context["rows"][1]
    cursor = LIST_KEYSET.cursor(second_row.reported_at, second_row.pk, before=True)
    response = client.get(LISTS, {"list": "problems", "page": 2, "cursor": cursor})
    assert response.context["page"].number == 1
    assert [c.pk for c in response.context["rows"]] == [c.pk for c in first.context["rows"]]
    assert not response.context["prev_url"]


# --- the list's filter compiled once per login and shape (gridmap.statements) ----------------
def _api_ids(client, **params: Any) -> list[int]:
    response = client.get(API, {"page_size": 50, **params})
    assert response.status_code == 200, response.content
    return [f["id"] for f in response.json()["features"]]


def _expected(user: Any, bbox: str | None = None, status: str | None = None) -> list[int]:
    from gridmap.params import bbox_of
    from incidents.selectors import incidents_visible_to

    qs = incidents_visible_to(user)
    if bbox:
        qs = qs.filter(location__intersects=bbox_of(bbox))
    if status:
        qs = qs.filter(status=status)
    return list(qs.order_by("-reported_at", "-id").values_list("pk", flat=True)[:50])


BOXES = ["99,-1,101,1", "100,0,100.05,0.1", "100.05,0,100.3,0.1"]


def test_a_cached_login_compiles_its_list_once_per_shape(
    client,
    world,  # noqa: F811
    many,
    settings,
    monkeypatch,
):
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10
    user = login(client, AccountRole.TOWN_STAFF, [world.t1.code], username="t1")
    builds: list[int] = []
    original = paging.Keyset.keys
    monkeypatch.setattr(
        paging.Keyset, "keys", lambda self, qs: builds.append(1) or original(self, qs)
    )
    for box in BOXES:
        for status in (None, Status.IN_PROGRESS, Status.CLOSED):
            params = {"bbox": box, **({"status": status} if status else {})}
            assert _api_ids(client, **params) == _expected(user, box, status)
    assert _api_ids(client, bbox=BOXES[0]), "the box holds some of the town's cases"
    # Two shapes (a box; a box and a status), each built twice on its first request.
    assert len(builds) == 4


def test_two_logins_never_share_a_compiled_list(client, world, many, settings):  # noqa: F811
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10
    west = login(client, AccountRole.STATION_STAFF, [world.station.code], username="s1")
    assert _api_ids(client, bbox=BOXES[0]) == _expected(west, BOXES[0])
    other = login(client, AccountRole.TOWN_STAFF, [world.t2.code], username="t2")
    shown = _api_ids(client, bbox=BOXES[0])
    assert shown == _expected(other, BOXES[0])
    assert not set(shown) & set(_expected(west, BOXES[0]))


def test_a_changed_jurisdiction_reaches_the_compiled_list_at_once(
    client,
    world,  # noqa: F811
    many,
    settings,
):
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10
    user = login(client, AccountRole.TOWN_STAFF, [world.t2.code], username="t2")
    before = _api_ids(client, bbox=BOXES[0])
    account = user.account
    account.codes = [world.t1.code]
    account.save()
    user.refresh_from_db()
    after = _api_ids(client, bbox=BOXES[0])
    assert after == _expected(user, BOXES[0]) and after != before
