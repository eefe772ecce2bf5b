"""Pages of long lists at city scale (1,000,000 cases): counts that stay cheap, page rows
whose names are looked up only for the page, and keyset (cursor) pages.

- ``count_rows``: an exact count up to ``COUNT_CAP`` rows (a count over ``LIMIT cap + 1``:
  it never reads more than that), above it the planner's estimate of the filter's rows
  (``EXPLAIN``), marked ``estimate`` so the page says "about N" and the API
  ``count_is_estimate: true``.
- ``numbered_page``: one page of an ordered queryset in two statements: the page's primary keys
  (the filter and the order only: no annotation, no join of the select list, so the rows an
  ``OFFSET`` skips cost an index step each, not six name lookups), then those rows with
  everything the page shows, put back in the page's order.
- ``Keyset``: pages after (or before) a cursor on a sort key that ends with
  the primary key (a row comparison ``(key, id) < (x, y)`` that an index on ``(key, id)``
  answers without skipping anything). The cursor is opaque to clients (URL-safe base64 of
  JSON); a bad one is a 400 with a message (``MSG_BAD_CURSOR``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import F, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from gridmap.ttl import TTLCache

# Counted exactly up to this many rows; above it the planner's estimate.
COUNT_CAP = 10_000
# When the planner expects at least this many times COUNT_CAP rows, its estimate is given
# without the bounded count first: counting 10,001 rows of a spatial filter costs more than
# the page itself (80 ms at city scale, issue 16 point 4), and the answer would be an
# estimate anyway.
TRUST_ESTIMATE_FACTOR = 5

MSG_BAD_CURSOR = gettext_noop(
    "The page link is not valid any more (cursor): go back to the first page."
)


@dataclass(frozen=True)
class RowCount:
    """How many rows a filter holds; ``estimate`` when it is the planner's estimate."""

    value: int
    estimate: bool = False


def _planner_rows(db: str, sql: str, params: Sequence[Any]) -> int:
    """The planner's estimate of the number of rows of ``sql`` (``EXPLAIN``, nothing run)."""
    with connections[db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


# The estimates that are a count's answer, kept per filter (its SQL and values) for
# GRIDMAP_COUNT_ESTIMATE_SECONDS: "about 250,000" does not need planning again on every
# page a client walks through (an EXPLAIN is a fifth of an API page's time).
kept_estimates: TTLCache[int] = TTLCache("GRIDMAP_COUNT_ESTIMATE_SECONDS", max_entries=2000)


def count_rows(
    qs: QuerySet[Any],
    cap: int | None = None,
    trust: float = TRUST_ESTIMATE_FACTOR,
    *,
    compiled: tuple[str, Sequence[Any]] | None = None,
) -> RowCount:
    """The rows of ``qs``: exact up to ``cap`` (default ``COUNT_CAP``; one bounded count),
    else the planner's estimate (at least ``cap + 1``), marked as such. Where the planner
    expects ``trust`` times the cap or more (default ``TRUST_ESTIMATE_FACTOR``), its
    estimate is the answer at once (one ``EXPLAIN``, nothing run). An estimate that is the
    answer is kept for the same filter a short time (``kept_estimates``); an exact count
    never is. ``compiled``: ``qs``'s rows already compiled, unordered (``Keyset.keys``), so
    that the count does not compile them again (``qs`` then only names the database)."""
    cap = COUNT_CAP if cap is None else cap
    if compiled is None:
        compiled = qs.order_by().values("pk").query.sql_with_params()
    sql, params = compiled
    key: tuple[Any, ...] | None = (qs.db, cap, trust, sql, *params)
    try:
        kept = kept_estimates.get(key)
    except TypeError:  # a value that cannot be a key (a list): not kept
        key, kept = None, None
    if kept is not None:
        return RowCount(kept, estimate=True)
    expected = _planner_rows(qs.db, sql, params)
    if expected >= trust * cap:
        if key is not None:
            kept_estimates.put(key, expected)
        return RowCount(expected, estimate=True)
    # The same filter, already compiled, counted up to one row past the cap.
    with connections[qs.db].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT %s) AS capped", [*params, cap + 1])
        capped = cursor.fetchone()[0]
    if capped <= cap:
        return RowCount(capped)
    # More than the cap: the answer is an estimate, kept as a trusted one is (the bounded
    # count read cap + 1 rows to learn it: 3-5 ms of each responsibility page at city scale).
    answer = max(cap + 1, expected)
    if key is not None:
        kept_estimates.put(key, answer)
    return RowCount(answer, estimate=True)


def _in_order(qs: QuerySet[Any], ids: Sequence[Any]) -> list[Any]:
    """The rows of ``qs`` whose keys are ``ids``, in the order of ``ids`` (one statement)."""
    if not ids:
        return []
    found = {row.pk: row for row in qs.order_by().filter(pk__in=list(ids))}
    return [found[pk] for pk in ids if pk in found]


@dataclass(frozen=True)
class Page:
    """One numbered page of a list: its rows and what the pager shows."""

    rows: list[Any]
    number: int
    # Pages in all (estimated with the count: "of about N").
    num_pages: int
    count: RowCount
    # Whether a row follows the page (read with the page: one key more than it shows).
    more: bool
    # On a list paged by keyset (``numbered_page(keyset=)``): the cursors of the next and of
    # the previous page (None: none, or the previous page is the first).
    next_cursor: str | None = None
    previous_cursor: str | None = None

    # The methods of Django's ``Page`` that the views and templates call.
    def has_next(self) -> bool:
        return self.more

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_previous() or self.has_next()

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


def page_number(value: Any) -> int:
    """A page number from the query string (anything else is page 1, as Django's
    ``Paginator.get_page`` reads it)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return max(number, 1)


def numbered_page(
    qs: QuerySet[Any],
    number: int,
    size: int,
    count: RowCount,
    read: Callable[[list[Any]], list[Any]] | None = None,
    *,
    keyset: Keyset | None = None,
    cursor: str | None = None,
) -> Page:
    """Page ``number`` of ``qs`` in its order, in two statements: the page's keys (the
    filter and the order only, so an ``OFFSET`` skips rows at an index step each, with no
    name looked up for them), then those rows with everything the page shows (``read``, the
    keys in order -> the rows in that order; by default ``qs``'s rows). Past the last page
    of an exact count: the last page (``Paginator.get_page``'s rule).

    With ``keyset`` (the list's order is ``keyset.order()``), the page carries the cursors
    of its neighbours, and with a ``cursor`` (made for this list's page ``number`` by its
    neighbour) it is read after (before) that row: nothing is skipped, so page 10,000
    costs what page 1 costs. The number is then the one the link said. A bad cursor is
    ``BadCursor``."""
    num_pages = max(1, -(-count.value // size))
    if read is None:

        def read(ids: list[Any]) -> list[Any]:
            return _in_order(qs, ids)

    if keyset is not None and cursor:
        sql, values, before = keyset.window_sql(keyset.keys(qs), size, cursor)
        with connections[qs.db].cursor() as db:
            db.execute(sql, values)
            keys = [(value, pk) for pk, value in db.fetchall()]
        if before:
            keys.reverse()  # the page's order, newest first
        around = keyset.around(keys, size, cursor, before)
        # Nothing after the cursor any more (the list changed under it), or back at the
        # list's start: the page by its number (offset, clamped to the last page; page 1).
        if before and around.previous_cursor is None:
            number = 1
        elif around.ids:
            previous = around.previous_cursor if number > 2 else None
            return Page(
                read(around.ids),
                number,
                max(num_pages, number),
                count,
                around.next_cursor is not None,
                around.next_cursor,
                previous,
            )
    if not count.estimate:
        number = min(number, num_pages)
    start = (number - 1) * size
    if keyset is None:
        ids = list(qs.values_list("pk", flat=True)[start : start + size + 1])
        next_cursor = previous_cursor = None
    else:
        keys = list(qs.values_list(keyset.field, "pk")[start : start + size + 1])
        ids = [pk for _value, pk in keys]
        shown = keys[:size]
        next_cursor = keyset.cursor(*shown[-1]) if len(keys) > size else None
        previous_cursor = keyset.cursor(*shown[0], before=True) if shown and number > 2 else None
    has_next = len(ids) > size
    return Page(read(ids[:size]), number, num_pages, count, has_next, next_cursor, previous_cursor)


class BadCursor(ValueError):
    """A cursor that was not made by ``Keyset.cursor`` (or made for another order)."""


@dataclass(frozen=True)
class KeysetPage:
    """The primary keys of one page, in order, and the cursors around it."""

    ids: list[Any]
    # Cursors of the next and of the previous page (None: there is none).
    next_cursor: str | None
    previous_cursor: str | None


@dataclass(frozen=True)
class Keyset:
    """A descending order on ``(field, pk)`` (the newest first), ``field`` a non-null
    date-time, answered by an index on ``(field, id)``."""

    field: str

    def cursor(self, value: dt.datetime, pk: Any, *, before: bool = False) -> str:
        """The cursor of the page after the row ``(value, pk)`` (or before it)."""
        token = {"k": value.isoformat(), "id": pk, "d": "b" if before else "a"}
        raw = json.dumps(token, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def parse(self, cursor: str) -> tuple[dt.datetime, int, bool]:
        """``(value, pk, before)`` of a cursor, or ``BadCursor``."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            token = json.loads(raw)
            value = parse_datetime(token["k"])
            pk = token["id"]
            before = token["d"] == "b"
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
            raise BadCursor(cursor) from None
        # A key is an integer of the database's size (not 1e400, not "7", not true).
        if type(pk) is not int or not -(2**63) <= pk < 2**63:
            raise BadCursor(cursor)
        if value is None or value.tzinfo is None or token["d"] not in ("a", "b"):
            raise BadCursor(cursor)
        return value, pk, before

    def order(self) -> tuple[Any, Any]:
        """The order of the pages: ``field`` then the key, both descending."""
        return F(self.field).desc(), F("pk").desc()

    def keys(self, qs: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
        """``qs``'s rows compiled once, unordered, as the columns ``"pk"`` and the field: for
        ``window_sql`` and ``count_rows(compiled=)`` both (a compilation of a jurisdiction's
        filter costs 0.15-0.45 ms)."""
        return qs.order_by().values("pk", self.field).query.sql_with_params()

    def window_sql(
        self,
        keys: tuple[str, Sequence[Any]],
        size: int,
        cursor: str | None,
        offset: int = 0,
    ) -> tuple[str, list[Any], bool]:
        """The window of a page written around the compiled ``keys`` (``Keyset.keys``): the
        SQL and values of the ``size + 1`` rows (``"pk"``, then the field) after (before)
        ``cursor`` (None: from the first row), or after skipping ``offset`` rows, nearest the
        cursor first (``around`` takes them), and whether they are before it. PostgreSQL
        pulls the plain subquery up: the plan reads the index on ``(field, id)``, with no
        ``OFFSET`` after a cursor. A bad cursor is ``BadCursor``."""
        sql, params = keys
        field = connections["default"].ops.quote_name(self.field)
        where, bound, before = "", [], False
        if cursor:
            value, pk, before = self.parse(cursor)
            where = f' WHERE (k.{field}, k."pk") {">" if before else "<"} (%s, %s)'
            bound = [value, pk]
        way = "ASC" if before else "DESC"
        text = (
            f'SELECT k."pk", k.{field} FROM ({sql}) k{where}'
            f' ORDER BY k.{field} {way}, k."pk" {way} LIMIT %s'
        )
        values = [*params, *bound, size + 1]
        if offset:
            text += " OFFSET %s"
            values.append(offset)
        return text, values, before

    def around(
        self, keys: list[tuple[dt.datetime, Any]], size: int, cursor: str | None, before: bool
    ) -> KeysetPage:
        """The page and its cursors from the ``(field, pk)`` of the window's rows (read in
        the page's order, newest first, up to ``size + 1``: one more than the page says
        that another page follows in the window's direction)."""
        more = len(keys) > size
        if more:
            # The extra row is the one farthest from the cursor.
            keys = keys[1:] if before else keys[:size]
        if not keys:
            return KeysetPage([], None, None)
        first, last = keys[0], keys[-1]
        if before:
            next_cursor: str | None = self.cursor(*last)
            previous = self.cursor(*first, before=True) if more else None
        else:
            next_cursor = self.cursor(*last) if more else None
            previous = self.cursor(*first, before=True) if cursor else None
        return KeysetPage([pk for _value, pk in keys], next_cursor, previous)
