"""References by code that the party, centre and unit handlers share: households and villages
found by their codes, the place code of a stored household (its jurisdiction), and the checks
that go with them.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from households.models import Household
from imports.pipeline import STAGE, Stage

from .common import T, district_code_sql

H = Household._meta.db_table

MSG_UNKNOWN_HOUSEHOLD = gettext_noop(
    "No household has the number %(value)s: import the households first, or correct the number."
)
MSG_RECORD_ELSEWHERE = gettext_noop(
    "%(value)s is already recorded in %(place)s, outside your jurisdiction: you may change only "
    "records of your own area."
)


def household_id_sql(code_sql: str) -> str:
    """SQL: the id of the household numbered ``code_sql`` (NULL for none or an empty code)."""
    return f"(SELECT hi.id FROM {H} hi WHERE hi.code = nullif({code_sql}, ''))"


def household_place_sql(id_sql: str) -> str:
    """SQL: the place code of the stored household ``id_sql``: its grid's code, else the code
    of the district covering it ('' when none covers it, so that a jurisdiction refuses it)."""
    return f"""(SELECT coalesce(gp.code, {district_code_sql("hp.location")}, '')
                  FROM {H} hp LEFT JOIN {T["grid"]} gp ON gp.id = hp.grid_id
                 WHERE hp.id = {id_sql})"""


def household_point_sql(id_sql: str) -> str:
    """SQL: the location of the stored household ``id_sql`` (a row's point on the page's
    map)."""
    return f"(SELECT hl.location FROM {H} hl WHERE hl.id = {id_sql})"


def village_id_sql(code_sql: str) -> str:
    """SQL: the id of the current village with the code ``code_sql``."""
    return f"""(SELECT vi.id FROM {T["village"]} vi
                 WHERE vi.generation_high_id IS NULL AND vi.code = nullif({code_sql}, ''))"""


def village_of_point_sql(point: str) -> str:
    """SQL: the id of the current village covering ``point`` (the smallest code on an edge, as
    grids are found)."""
    return f"""(SELECT vp.id FROM {T["village"]} vp
                 WHERE vp.generation_high_id IS NULL AND ST_Covers(vp.geom, {point})
                 ORDER BY vp.code LIMIT 1)"""


def village_code_sql(id_sql: str) -> str:
    """SQL: the code of the village ``id_sql``."""
    return f"(SELECT vc.code FROM {T['village']} vc WHERE vc.id = {id_sql})"


def resolve_household(stage: Stage, code: str, target: str, column: str | None = None) -> None:
    """Set ``target`` to the id of the household numbered by the staging column ``code`` and
    refuse the rows whose number names no household."""
    stage.execute(f"UPDATE {STAGE} SET {target} = {household_id_sql(code)} WHERE {code} <> ''")
    stage.refuse(
        f"{code} <> '' AND {target} IS NULL",
        column or code,
        MSG_UNKNOWN_HOUSEHOLD,
        f"jsonb_build_object('value', {code})",
    )


def refuse_elsewhere(stage: Stage, place_sql: str, value_sql: str, column: str) -> int:
    """Refuse the rows that would change a stored record (``target_id``) whose place code
    (``place_sql``, SQL over the staging row) lies outside the jurisdiction: a record of
    another area may not be taken over by giving it a place here."""
    prefixes = stage.ctx.prefixes
    if prefixes is None:
        return 0
    args: list[Any] = [[p + "%" for p in prefixes]]
    return stage.refuse(
        f"""errors IS NULL AND target_id IS NOT NULL
            AND NOT coalesce(({place_sql}) LIKE ANY(%s), TRUE)""",
        column,
        MSG_RECORD_ELSEWHERE,
        f"jsonb_build_object('value', {value_sql}, 'place', {place_sql})",
        args,
    )


def refuse_duplicates_hidden(stage: Stage, key: str, column: str, msgid: str) -> int:
    """Like ``Stage.refuse_duplicates`` for a key that must not be shown (a phone's keyed
    hash): the message names only the rows."""
    return stage.execute(
        f"""WITH d AS (
              SELECT n, string_agg(row_no::text, ', ') OVER (PARTITION BY {key}) AS rows_,
                     count(*) OVER (PARTITION BY {key}) AS c
                FROM {STAGE} WHERE {key} IS NOT NULL AND {key} <> '')
            UPDATE {STAGE} s SET errors = coalesce(s.errors, '[]'::jsonb) || jsonb_build_array(
              jsonb_build_object('column', %s::text, 'msgid', %s::text,
                'params', jsonb_build_object('rows', d.rows_)))
              FROM d WHERE d.n = s.n AND d.c > 1""",
        [column, msgid],
    )


def classify(stage: Stage, table: str, alias: str, same: list[str]) -> None:
    """Good rows without a stored record are new; the others unchanged when every condition
    of ``same`` (SQL over ``s``, the staging row, and ``alias``, the stored record) holds,
    else updated."""
    stage.execute(f"UPDATE {STAGE} SET action = 'new' WHERE errors IS NULL AND target_id IS NULL")
    stage.execute(
        f"""UPDATE {STAGE} s SET action = CASE WHEN {" AND ".join(same)}
                                           THEN 'unchanged' ELSE 'updated' END
              FROM {table} {alias} WHERE {alias}.id = s.target_id AND s.errors IS NULL"""
    )


def update(stage: Stage, table: str, alias: str, sets: list[str]) -> None:
    """Write ``sets`` (SQL over ``s``, the staging row) to the stored records of the good
    updated rows."""
    stage.execute(
        f"""UPDATE {table} {alias} SET {", ".join(sets)} FROM {STAGE} s
             WHERE s.target_id = {alias}.id AND s.errors IS NULL AND s.action = 'updated'"""
    )
