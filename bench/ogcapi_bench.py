"""Issue 16 item 7: a page of the OGC API's households (``/ogc/collections/households/items``,
the full Django + DRF stack in process, masking included) against raw SQL reading the same
page (keyset on id, the same columns, ``ST_AsGeoJSON``), and the deepest page against the
first (keyset paging: the depth should not matter)."""

from __future__ import annotations

from bench.common import report, time_each

LIMIT = 1000
RAW_PAGE_SQL = """
SELECT h.id, h.address, g.code, h.size, h.tags, h.head_name, h.id_number, h.phone,
       h.ten_household_unit_id, c.id, ST_AsGeoJSON(h.location, 7)
  FROM households_household h
  LEFT JOIN grids_grid g ON g.id = h.grid_id
  LEFT JOIN households_centralhousehold c ON c.household_id = h.id
 WHERE h.id > %s
 ORDER BY h.id
 LIMIT %s
"""


def ogc_items() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from households.models import Household

    ids = list(Household.objects.order_by("id").values_list("id", flat=True))
    if len(ids) < 2 * LIMIT:
        print("ogc_items: too few households; run 'python manage.py load_demo' first")
        return
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = "/ogc/collections/households/items"
    first, deep = 0, ids[-LIMIT - 1]

    def ours(after: int) -> None:
        res = client.get(url, {"limit": LIMIT, "after": after} if after else {"limit": LIMIT})
        assert res.status_code == 200 and len(res.json()["features"]) == LIMIT

    def raw(after: int) -> None:
        with connection.cursor() as cur:
            cur.execute(RAW_PAGE_SQL, [after, LIMIT])
            assert len(cur.fetchall()) == LIMIT

    n = 30
    report(
        f"OGC API households page ({LIMIT} features, {len(ids)} households)",
        time_each("ours: GET /ogc/.../items (in process)", ours, [first] * n, warmup=3),
        time_each("baseline: raw SQL, same page", raw, [first] * n, warmup=3),
        note="ours includes decrypting and masking the numbers and writing the JSON",
    )
    report(
        "OGC API households: the deepest page against the first (keyset paging)",
        time_each("ours: last page (after=<id>)", ours, [deep] * n, warmup=3),
        time_each("ours: first page", ours, [first] * n, warmup=3),
    )
