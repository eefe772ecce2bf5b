"""Ten-household units (十户联防), keyed by the number of their head household.

A row names the unit, its head household, its central household (optional: a central
household's own household number) and its member households (numbers separated by commas,
、 or spaces; the head household is a member whether listed or not). The rules are the
application's (``households.services.ten_household_unit_create``), applied to the whole file
in SQL:

- refused: an unknown household; a household listed in two rows of the file; a household
  already in another unit, unless that unit is in the same file (its row then gives its new
  members) and its row is not refused; a member that heads another unit; a household outside
  the jurisdiction (the head, a member or the central household);
- warnings, stored on the unit as the application stores them
  (``households.services.ten_household_units_warn``): fewer than 8 or more than 15 members,
  members in several grids, a central household far from every member.

Writing creates or updates the unit, points the members at it (households that left the unit
are taken out), then ``ten_household_units_refresh`` derives its grid and area. An import
records units that exist: it routes nothing and notifies nobody. A file without the member
column, or a row with the cell empty, keeps the stored members of a unit already imported.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from django.utils.translation import gettext_noop

from households.models import CentralHousehold, TenHouseholdUnit
from households.services import ten_household_units_refresh, ten_household_units_warn
from imports.normalise import RowError, clean_code, clean_text, is_empty
from imports.pipeline import STAGE, Context, Handler, Stage, clean_cells, register
from imports.sources import Record

from .common import MSG_OUTSIDE_JURISDICTION
from .refs import (
    H,
    household_place_sql,
    household_point_sql,
    refuse_elsewhere,
    resolve_household,
)

UNIT = TenHouseholdUnit._meta.db_table
CENTRAL = CentralHousehold._meta.db_table

MSG_DUPLICATE_UNIT = gettext_noop(
    "The head household %(value)s is in the file more than once (rows %(rows)s): keep one row."
)
MSG_NOT_CENTRAL = gettext_noop(
    "Household %(value)s is not a central household: import the central households first, or "
    "correct the number."
)
MSG_UNKNOWN_MEMBERS = gettext_noop(
    "No household has the numbers %(codes)s: import the households first, or correct the numbers."
)
MSG_MEMBER_IN_TWO_ROWS = gettext_noop(
    "Household %(code)s is a member of the units of several rows of this file (rows %(rows)s): "
    "a household belongs to one unit."
)
MSG_MEMBER_IN_OTHER_UNIT = gettext_noop(
    "Household %(code)s already belongs to the ten-household unit %(unit)s (head household "
    "%(head)s), which is not in this file: take it out of that unit first, or put that unit in "
    "the same file with its new members."
)
MSG_MEMBER_IN_REFUSED_UNIT = gettext_noop(
    "Household %(code)s belongs to the ten-household unit %(unit)s, whose row in this file "
    "(row %(row)s) is refused: correct that row first."
)
MSG_MEMBER_HEADS_OTHER_UNIT = gettext_noop(
    "Household %(code)s heads the ten-household unit %(unit)s: it cannot be a member of another."
)
MSG_MEMBERS_OUTSIDE = gettext_noop(
    "These member households are outside your jurisdiction: %(codes)s."
)

# How a cell lists household numbers: commas, 、, semicolons, spaces (clean_code then removes
# full-width forms and stray spaces of each).
_MEMBER_SPLIT = re.compile(r"[,，、;；\s]+")


def clean_member_codes(raw: Any, head: str, *, column: str = "member_codes") -> list[str]:
    """The member numbers of a cell, each cleaned, without repeats, the head first."""
    codes: list[str] = [head] if head else []
    if not is_empty(raw):
        for part in _MEMBER_SPLIT.split(str(raw).strip()):
            if not part:
                continue
            code = clean_code(part, column=column, max_length=40).value
            if code and code not in codes:
                codes.append(code)
    return codes


@register
class TenHouseholdUnits(Handler):
    kind = "ten_household_units"
    columns = [
        ("head_household_code", "text"),
        ("name", "text"),
        ("central_household_code", "text"),
        ("member_codes", "text[]"),
        ("members_keep", "boolean"),
        # Derived in SQL.
        ("head_id", "bigint"),
        ("central_id", "bigint"),
        ("member_ids", "bigint[]"),
    ]
    point_sql = household_point_sql("head_id")

    cleaners = {
        "head_household_code": partial(clean_code, required=True, max_length=40),
        "name": partial(clean_text, required=True, max_length=100),
        "central_household_code": partial(clean_code, max_length=40),
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        raw = record.values.get("member_codes")
        values["members_keep"] = is_empty(raw)
        try:
            values["member_codes"] = clean_member_codes(
                raw, values.get("head_household_code") or ""
            )
        except RowError as error:
            errors.append(error)
        return values, errors, normalised

    def prepare(self, stage: Stage) -> None:
        ctx = stage.ctx
        present = ctx.present
        members_given = "member_codes" in present
        stage.refuse_duplicates("head_household_code", "head_household_code", MSG_DUPLICATE_UNIT)
        resolve_household(stage, "head_household_code", "head_id")
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = u.id FROM {UNIT} u
                 WHERE u.head_household_id = s.head_id"""
        )
        # Members are checked against the other rows' units (temporary tables are not
        # analysed by autovacuum).
        stage.execute(f"CREATE INDEX ON {STAGE} (target_id)")
        stage.execute(f"ANALYZE {STAGE}")
        # An empty member cell keeps the stored members of a unit already imported.
        stage.execute(
            f"""UPDATE {STAGE} s SET member_codes = s.member_codes || coalesce((
                  SELECT array_agg(h.code ORDER BY h.code) FROM {H} h
                   WHERE h.ten_household_unit_id = s.target_id AND h.id <> s.head_id
                     AND h.code IS NOT NULL), '{{}}')
                 WHERE s.members_keep AND s.target_id IS NOT NULL"""
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET central_id = c.id FROM {CENTRAL} c JOIN {H} h
                    ON h.id = c.household_id
                 WHERE s.central_household_code <> '' AND h.code = s.central_household_code"""
        )
        stage.refuse(
            "central_household_code <> '' AND central_id IS NULL",
            "central_household_code",
            MSG_NOT_CENTRAL,
            "jsonb_build_object('value', central_household_code)",
        )
        # The members: every number a household; none in two rows of the file.
        stage.refuse(
            f"""EXISTS (SELECT 1 FROM unnest(member_codes) c
                         WHERE c <> head_household_code
                           AND NOT EXISTS (SELECT 1 FROM {H} h WHERE h.code = c))""",
            "member_codes",
            MSG_UNKNOWN_MEMBERS,
            f"""jsonb_build_object('codes', (
                  SELECT string_agg(c, '、' ORDER BY o) FROM unnest(member_codes)
                         WITH ORDINALITY AS m(c, o)
                   WHERE c <> head_household_code
                     AND NOT EXISTS (SELECT 1 FROM {H} h WHERE h.code = c)))""",
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET member_ids = (
                  SELECT array_agg(h.id ORDER BY h.id) FROM unnest(s.member_codes) c
                    JOIN {H} h ON h.code = c)
                 WHERE s.errors IS NULL"""
        )
        # (Kept members without a household number too.)
        stage.execute(
            f"""UPDATE {STAGE} s SET member_ids = (
                  SELECT array_agg(h.id ORDER BY h.id) FROM {H} h
                   WHERE h.ten_household_unit_id = s.target_id OR h.id = s.head_id)
                 WHERE s.errors IS NULL AND s.members_keep AND s.target_id IS NOT NULL"""
        )
        stage.execute(
            f"""WITH m AS (
                  SELECT s.n, c, string_agg(s.row_no::text, ', ') OVER (PARTITION BY c) AS rows_,
                         count(*) OVER (PARTITION BY c) AS k
                    FROM {STAGE} s, unnest(s.member_codes) c),
                r AS (
                  SELECT n, jsonb_agg(jsonb_build_object(
                           'column', 'member_codes', 'msgid', %s::text,
                           'params', jsonb_build_object('code', c, 'rows', rows_)) ORDER BY c) AS e
                    FROM m WHERE k > 1 GROUP BY n)
                UPDATE {STAGE} s SET errors = coalesce(s.errors, '[]'::jsonb) || r.e
                  FROM r WHERE r.n = s.n""",
            [MSG_MEMBER_IN_TWO_ROWS],
        )
        # Already in another unit (one not in this file), or heading another unit.
        stage.execute(
            f"""WITH m AS (
                  SELECT s.n, h.code, u.name, hh.code AS head, u.id AS unit_id
                    FROM {STAGE} s CROSS JOIN unnest(s.member_ids) mi JOIN {H} h ON h.id = mi
                    JOIN {UNIT} u ON u.id = h.ten_household_unit_id
                    JOIN {H} hh ON hh.id = u.head_household_id
                   WHERE s.errors IS NULL AND u.id IS DISTINCT FROM s.target_id
                     AND NOT EXISTS (SELECT 1 FROM {STAGE} o WHERE o.target_id = u.id)),
                r AS (
                  SELECT n, jsonb_agg(jsonb_build_object(
                           'column', 'member_codes', 'msgid', %s::text,
                           'params', jsonb_build_object('code', code, 'unit', name, 'head', head))
                           ORDER BY code) AS e
                    FROM m GROUP BY n)
                UPDATE {STAGE} s SET errors = coalesce(s.errors, '[]'::jsonb) || r.e
                  FROM r WHERE r.n = s.n""",
            [MSG_MEMBER_IN_OTHER_UNIT],
        )
        stage.execute(
            f"""WITH m AS (
                  SELECT s.n, h.code, u.name
                    FROM {STAGE} s CROSS JOIN unnest(s.member_ids) mi JOIN {H} h ON h.id = mi
                    JOIN {UNIT} u ON u.head_household_id = h.id
                   WHERE s.errors IS NULL AND h.id <> s.head_id),
                r AS (
                  SELECT n, jsonb_agg(jsonb_build_object(
                           'column', 'member_codes', 'msgid', %s::text,
                           'params', jsonb_build_object('code', code, 'unit', name))
                           ORDER BY code) AS e
                    FROM m GROUP BY n)
                UPDATE {STAGE} s SET errors = coalesce(s.errors, '[]'::jsonb) || r.e
                  FROM r WHERE r.n = s.n""",
            [MSG_MEMBER_HEADS_OTHER_UNIT],
        )
        if ctx.prefixes is not None:
            patterns = [p + "%" for p in ctx.prefixes]
            stage.refuse_out_of_scope(
                f"CASE WHEN errors IS NULL THEN {household_place_sql('head_id')} END",
                "head_household_code",
                MSG_OUTSIDE_JURISDICTION,
            )
            outside_members = f"""(SELECT string_agg(h.code, '、' ORDER BY h.code)
                                     FROM {H} h WHERE h.id = ANY(member_ids)
                                      AND NOT ({household_place_sql("h.id")} LIKE ANY(%s)))"""
            stage.refuse(
                f"errors IS NULL AND {outside_members} IS NOT NULL",
                "member_codes",
                MSG_MEMBERS_OUTSIDE,
                f"jsonb_build_object('codes', {outside_members})",
                [patterns, patterns],
            )
            stage.refuse_out_of_scope(
                f"""CASE WHEN errors IS NULL THEN (
                      SELECT {household_place_sql("c.household_id")} FROM {CENTRAL} c
                       WHERE c.id = central_id) END""",
                "central_household_code",
                MSG_OUTSIDE_JURISDICTION,
            )
            refuse_elsewhere(
                stage,
                f"""(SELECT {household_place_sql("u.head_household_id")} FROM {UNIT} u
                      WHERE u.id = target_id)""",
                "head_household_code",
                "head_household_code",
            )
        # A member of another unit of the file moves only if that unit's row is written: when
        # it is refused, so are the rows taking its members (and so on, until none is).
        while stage.execute(
            f"""WITH m AS (
                  SELECT DISTINCT ON (s.n, h.code) s.n, h.code, u.name, o.row_no
                    FROM {STAGE} s CROSS JOIN unnest(s.member_ids) mi JOIN {H} h ON h.id = mi
                    JOIN {UNIT} u ON u.id = h.ten_household_unit_id
                    JOIN {STAGE} o ON o.target_id = u.id AND o.n <> s.n
                   WHERE s.errors IS NULL AND u.id IS DISTINCT FROM s.target_id
                     AND o.errors IS NOT NULL
                   ORDER BY s.n, h.code, o.row_no),
                r AS (
                  SELECT n, jsonb_agg(jsonb_build_object(
                           'column', 'member_codes', 'msgid', %s::text,
                           'params', jsonb_build_object('code', code, 'unit', name, 'row', row_no))
                           ORDER BY code) AS e
                    FROM m GROUP BY n)
                UPDATE {STAGE} s SET errors = coalesce(s.errors, '[]'::jsonb) || r.e
                  FROM r WHERE r.n = s.n""",
            [MSG_MEMBER_IN_REFUSED_UNIT],
        ):
            pass
        # Classify: a file without the member column leaves the members as they are.
        same = ["u.name = s.name"]
        if "central_household_code" in present:
            same.append("u.central_household_id IS NOT DISTINCT FROM s.central_id")
        if members_given:
            same.append(
                f"""(SELECT array_agg(h.id ORDER BY h.id) FROM {H} h
                      WHERE h.ten_household_unit_id = u.id) IS NOT DISTINCT FROM s.member_ids"""
            )
        stage.execute(
            f"UPDATE {STAGE} SET action = 'new' WHERE errors IS NULL AND target_id IS NULL"
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET action = CASE WHEN {" AND ".join(same)}
                                               THEN 'unchanged' ELSE 'updated' END
                  FROM {UNIT} u WHERE u.id = s.target_id AND s.errors IS NULL"""
        )

    def apply(self, stage: Stage) -> None:
        present = stage.ctx.present
        members_given = "member_codes" in present
        changed = "s.errors IS NULL AND s.action IN ('new', 'updated')"
        # The units a member leaves (whose own row may not change them) are refreshed too.
        left = [
            r[0]
            for r in stage.fetch(
                f"""SELECT DISTINCT h.ten_household_unit_id FROM {STAGE} s
                     CROSS JOIN unnest(s.member_ids) mi JOIN {H} h ON h.id = mi
                     WHERE {changed} AND h.ten_household_unit_id IS NOT NULL"""
            )
        ]
        stage.execute(
            f"""INSERT INTO {UNIT} (name, head_household_id, central_household_id, created_at)
                SELECT name, head_id, central_id, now() FROM {STAGE}
                 WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = u.id FROM {UNIT} u
                 WHERE u.head_household_id = s.head_id AND s.errors IS NULL AND s.action = 'new'"""
        )
        sets = ["name = s.name"]
        if "central_household_code" in present:
            sets.append("central_household_id = s.central_id")
        stage.execute(
            f"""UPDATE {UNIT} u SET {", ".join(sets)} FROM {STAGE} s
                 WHERE s.target_id = u.id AND s.errors IS NULL AND s.action = 'updated'"""
        )
        # Members: households that left the unit are taken out, then the members put in.
        if members_given:
            stage.execute(
                f"""UPDATE {H} h SET ten_household_unit_id = NULL FROM {STAGE} s
                     WHERE h.ten_household_unit_id = s.target_id AND {changed}
                       AND NOT h.id = ANY(s.member_ids)"""
            )
        stage.execute(
            f"""UPDATE {H} h SET ten_household_unit_id = m.target_id FROM (
                  SELECT s.target_id, unnest(s.member_ids) AS id FROM {STAGE} s
                   WHERE {changed}) m
                 WHERE h.id = m.id AND h.ten_household_unit_id IS DISTINCT FROM m.target_id"""
        )
        units = sorted(
            {r[0] for r in stage.fetch(f"SELECT target_id FROM {STAGE} s WHERE {changed}")}
            | set(left)
        )
        if units:
            ten_household_units_refresh(ids=units)
            ten_household_units_warn(ids=units)
