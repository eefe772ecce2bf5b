"""Duty shifts (issue 14): a roster from a spreadsheet, one row per worker on duty at a
village, station or town on a day (``presence.DutyShift``).

A row names the place by code (its shape tells the level: 12 digits a village, 9 a town,
``<town>S<nn>`` a station), the day, the worker by mobile number and the span (全天, 上午,
下午). The checks are the roster page's (``presence.duty``), in SQL over the whole file: the
worker must hold a role at the place that day (a station: or a village role in one of its
catchment villages; a town: or a place on its duty rota before), may not be on duty there
twice at once, and a town's whole day may not go to a second on-duty officer. A row already
stored (same worker, place, day and span) is unchanged, or updated when its note differs:
importing the same file twice changes nothing. A town's whole day also writes the town's
``town_duty_officer`` assignment of that day, as the page does.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any

from django.utils.translation import gettext_noop

from gridmap.codes import STATION_CODE_RE, Level, level_of
from gridmap.sql import table
from grids.models import CatchmentAssignment, Role, RoleAssignment
from imports.normalise import RowError, clean_code, clean_date, clean_text, is_empty
from imports.pipeline import STAGE, Context, Handler, Stage, clean_cells, register
from imports.sources import Record
from presence.duty import MSG_ALREADY_ON_DUTY, MSG_NOT_HERE, MSG_OFFICER_TAKEN
from presence.models import DutyShift

from .common import MSG_OUTSIDE_JURISDICTION, T, choice_lookup
from .people import _mobile_hash, resolve_worker_by_phone
from .refs import classify, update

D = table(DutyShift)
RA = table(RoleAssignment)
CA = table(CatchmentAssignment)
W = T["worker"]

MSG_PLACE_CODE = gettext_noop(
    "%(value)s is not the code of a village (12 digits), a town (9 digits) or a station "
    "(450702100S01)."
)
MSG_UNKNOWN_PLACE = gettext_noop("No current village, town or station has the code %(value)s.")
MSG_UNKNOWN_SPAN = gettext_noop("Unknown shift %(value)s: use 全天, 上午 or 下午.")
MSG_SHIFT_TWICE = gettext_noop(
    "The same worker is on duty at the same place on the same day more than once in the file "
    "(rows %(rows)s): keep one row."
)
MSG_OFFICER_TWICE_FILE = gettext_noop(
    "Only one person a day may be the town's on-duty officer, and row %(other)s of the file "
    "gives the same town's whole day to someone else."
)

SPAN_SYNONYMS = {
    "全天": DutyShift.Span.DAY,
    "全日": DutyShift.Span.DAY,
    "白班": DutyShift.Span.DAY,
    "上午": DutyShift.Span.MORNING,
    "下午": DutyShift.Span.AFTERNOON,
}
SCOPE_TABLES = {"village": T["village"], "station": T["station"], "town": T["town"]}
# SQL: the spans of ``a`` and ``b`` overlap (the whole day overlaps both halves).
SPANS_OVERLAP = "({a}.span = {b}.span OR {a}.span = 'day' OR {b}.span = 'day')"


@cache
def span_lookup() -> dict[str, str]:
    return choice_lookup(DutyShift.Span, SPAN_SYNONYMS)


def scope_of(code: str) -> str | None:
    """The level a place code names by its shape (``gridmap.codes``): a village, a station or
    a town; None for anything else."""
    if STATION_CODE_RE.match(code):
        return "station"
    return {Level.VILLAGE: "village", Level.TOWN: "town"}.get(level_of(code))


@register
class DutyShifts(Handler):
    kind = "duty_shifts"
    columns = [
        ("phone_hash", "text"),
        ("worker_id", "bigint"),
        ("place_code", "text"),
        ("scope", "text"),
        ("place_id", "bigint"),
        ("day", "date"),
        ("span", "text"),
        ("note", "text"),
    ]

    cleaners = {
        "place_code": partial(clean_code, required=True, max_length=40),
        "date": partial(clean_date, required=True),
        "note": partial(clean_text, max_length=200),
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["day"] = values.pop("date", None)
        values["note"] = values.get("note") or ""
        _, values["phone_hash"] = _mobile_hash(record, errors, normalised)
        code = values.get("place_code") or ""
        if code:
            values["place_code"] = code = code.upper() if "s" in code.lower() else code
            values["scope"] = scope_of(code)
            if values["scope"] is None:
                errors.append(RowError("place_code", MSG_PLACE_CODE, {"value": code}))
        raw = record.values.get("span")
        text = "" if is_empty(raw) else str(raw).strip()
        values["span"] = span_lookup().get(text.lower()) if text else DutyShift.Span.DAY
        if values["span"] is None:
            errors.append(RowError("span", MSG_UNKNOWN_SPAN, {"value": text}))
        return values, errors, normalised

    def prepare(self, stage: Stage) -> None:
        resolve_worker_by_phone(stage)
        for scope, place_table in SCOPE_TABLES.items():
            current = (
                "p.retired_on IS NULL" if scope == "station" else "p.generation_high_id IS NULL"
            )
            stage.execute(
                f"""UPDATE {STAGE} s SET place_id = p.id FROM {place_table} p
                     WHERE s.scope = %s AND p.code = s.place_code AND {current}""",
                [scope],
            )
        stage.refuse(
            "errors IS NULL AND place_id IS NULL",
            "place_code",
            MSG_UNKNOWN_PLACE,
            "jsonb_build_object('value', place_code)",
        )
        stage.refuse_out_of_scope(
            "CASE WHEN errors IS NULL THEN place_code END", "place_code", MSG_OUTSIDE_JURISDICTION
        )
        # The same worker, place and day twice with overlapping spans.
        stage.execute(
            f"""WITH d AS (
                  SELECT s.n, string_agg(t.row_no::text, ', ' ORDER BY t.row_no) AS rows_
                    FROM {STAGE} s JOIN {STAGE} t
                      ON t.worker_id = s.worker_id AND t.scope = s.scope
                     AND t.place_id = s.place_id AND t.day = s.day
                     AND {SPANS_OVERLAP.format(a="s", b="t")}
                   WHERE s.errors IS NULL AND t.errors IS NULL
                   GROUP BY s.n HAVING count(*) > 1)
                UPDATE {STAGE} s SET errors = jsonb_build_array(jsonb_build_object(
                  'column', 'date', 'msgid', %s::text,
                  'params', jsonb_build_object('rows', d.rows_)))
                  FROM d WHERE d.n = s.n""",
            [MSG_SHIFT_TWICE],
        )
        # The worker belongs to the place that day (presence.duty.roster_candidates).
        holds = f"""(
            (scope = 'village' AND EXISTS (
               SELECT 1 FROM {RA} ra WHERE ra.worker_id = {STAGE}.worker_id
                  AND ra.village_id = {STAGE}.place_id AND ra.period @> {STAGE}.day))
         OR (scope = 'station' AND EXISTS (
               SELECT 1 FROM {RA} ra WHERE ra.worker_id = {STAGE}.worker_id
                  AND ra.period @> {STAGE}.day
                  AND (ra.station_id = {STAGE}.place_id OR ra.village_id IN (
                       SELECT ca.village_id FROM {CA} ca
                        WHERE ca.station_id = {STAGE}.place_id AND ca.period @> {STAGE}.day))))
         OR (scope = 'town' AND EXISTS (
               SELECT 1 FROM {RA} ra WHERE ra.worker_id = {STAGE}.worker_id
                  AND ra.town_id = {STAGE}.place_id
                  AND (ra.period @> {STAGE}.day OR ra.role = %s))))"""
        stage.refuse(
            f"errors IS NULL AND NOT {holds}",
            "phone",
            MSG_NOT_HERE,
            f"""jsonb_build_object(
                  'worker', (SELECT w.name FROM {W} w WHERE w.id = worker_id),
                  'place', place_code, 'date', day::text)""",
            [Role.TOWN_DUTY_OFFICER],
        )
        same_place = "(d.village_id = s.place_id AND s.scope = 'village' OR " \
            "d.station_id = s.place_id AND s.scope = 'station' OR " \
            "d.town_id = s.place_id AND s.scope = 'town')"  # fmt: skip
        # The stored shift this row is.
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = d.id FROM {D} d
                 WHERE s.errors IS NULL AND d.worker_id = s.worker_id AND d.date = s.day
                   AND d.span = s.span AND {same_place}"""
        )
        # Another stored shift of the worker there that day overlapping this one.
        stage.refuse(
            f"""errors IS NULL AND target_id IS NULL AND EXISTS (
                  SELECT 1 FROM {D} d, {STAGE} s WHERE s.n = {STAGE}.n
                     AND d.worker_id = s.worker_id AND d.date = s.day AND {same_place}
                     AND {SPANS_OVERLAP.format(a="d", b="s")})""",
            "span",
            MSG_ALREADY_ON_DUTY,
            f"""jsonb_build_object(
                  'worker', (SELECT w.name FROM {W} w WHERE w.id = worker_id),
                  'place', place_code, 'date', day::text)""",
        )
        # A town's whole day: one on-duty officer (in the file, and against the stored ones).
        town_day = "scope = 'town' AND span = 'day'"
        stage.execute(
            f"""WITH o AS (
                  SELECT s.n, min(t.row_no) AS other FROM {STAGE} s JOIN {STAGE} t
                    ON t.n <> s.n AND t.place_id = s.place_id AND t.day = s.day
                   AND t.scope = 'town' AND t.span = 'day' AND t.worker_id <> s.worker_id
                   AND t.errors IS NULL
                   WHERE s.errors IS NULL AND s.scope = 'town' AND s.span = 'day'
                   GROUP BY s.n)
                UPDATE {STAGE} s SET errors = jsonb_build_array(jsonb_build_object(
                  'column', 'date', 'msgid', %s::text,
                  'params', jsonb_build_object('other', o.other)))
                  FROM o WHERE o.n = s.n""",
            [MSG_OFFICER_TWICE_FILE],
        )
        officer = f"""FROM {RA} ra JOIN {W} w ON w.id = ra.worker_id
                       WHERE ra.role = %s AND ra.town_id = {STAGE}.place_id
                         AND ra.worker_id <> {STAGE}.worker_id
                         AND ra.period && daterange({STAGE}.day, {STAGE}.day + 1, '[)')"""
        stage.refuse(
            f"errors IS NULL AND {town_day} AND EXISTS (SELECT 1 {officer})",
            "date",
            MSG_OFFICER_TAKEN,
            f"jsonb_build_object('date', day::text, 'holder', (SELECT w.name {officer} LIMIT 1))",
            [Role.TOWN_DUTY_OFFICER, Role.TOWN_DUTY_OFFICER],
        )
        classify(stage, D, "d", ["d.note = s.note"])

    def apply(self, stage: Stage) -> None:
        update(stage, D, "d", ["note = s.note"])
        for scope in SCOPE_TABLES:
            stage.execute(
                f"""INSERT INTO {D} (worker_id, date, span, {scope}_id, note, created_at)
                    SELECT worker_id, day, span, place_id, note, now() FROM {STAGE}
                     WHERE errors IS NULL AND action = 'new' AND scope = %s ORDER BY n""",
                [scope],
            )
        # A town's whole day makes the worker its on-duty officer that day (kept if already).
        stage.execute(
            f"""INSERT INTO {RA} (worker_id, role, town_id, period)
                SELECT s.worker_id, %s, s.place_id, daterange(s.day, s.day + 1, '[)')
                  FROM {STAGE} s
                 WHERE s.errors IS NULL AND s.action IN ('new', 'updated')
                   AND s.scope = 'town' AND s.span = 'day'
                   AND NOT EXISTS (
                     SELECT 1 FROM {RA} ra WHERE ra.role = %s AND ra.town_id = s.place_id
                        AND ra.worker_id = s.worker_id
                        AND ra.period && daterange(s.day, s.day + 1, '[)'))
                 ORDER BY s.n""",
            [Role.TOWN_DUTY_OFFICER, Role.TOWN_DUTY_OFFICER],
        )
