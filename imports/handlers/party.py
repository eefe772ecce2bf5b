"""Party branches (支部), party members (党员) and central households (党员中心户).

- A **branch** is keyed by its ``code``; its village must be a current village, and the
  village code is its place in the jurisdiction.
- A **member** is keyed by (household number, name); the household and the branch must
  exist. A phone links the member to the worker with that phone (the governance network's
  person record): refused when no worker, or several, have it, or when that worker is already
  another member. An empty or masked phone keeps the link stored. The household's grid is the
  member's place in the jurisdiction.
- A **central household** is keyed by its household number (one per household); its member is
  the party member of that name in ``member_household_code`` (the central household itself
  when empty). Incidents reach a central household through its member's worker record, so a
  member without one is given one (``households.services.central_household_workers``), as the
  demo does.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext_noop

from gridmap.crypto import keyed_hash
from households.models import CentralHousehold, PartyBranch, PartyMember
from households.services import central_household_workers
from imports.normalise import RowError, clean_code, clean_date, clean_phone, clean_text
from imports.pipeline import STAGE, Context, Handler, Stage, clean_cells, register
from imports.sources import Record

from .common import MSG_MASKED_NEW, MSG_OUTSIDE_JURISDICTION, T, masked
from .people import MSG_NO_WORKER, MSG_PHONE_SHARED
from .places import MSG_UNKNOWN_VILLAGE_CODE
from .refs import (
    H,
    classify,
    household_place_sql,
    household_point_sql,
    refuse_duplicates_hidden,
    refuse_elsewhere,
    resolve_household,
    update,
    village_code_sql,
    village_id_sql,
)

BRANCH = PartyBranch._meta.db_table
MEMBER = PartyMember._meta.db_table
CENTRAL = CentralHousehold._meta.db_table
WORKER = T["worker"]

MSG_DUPLICATE_BRANCH = gettext_noop(
    "The branch code %(value)s is in the file more than once (rows %(rows)s): keep one row."
)
MSG_DUPLICATE_MEMBER = gettext_noop(
    "The party member %(value)s (household number and name) is in the file more than once "
    "(rows %(rows)s): keep one row."
)
MSG_UNKNOWN_BRANCH = gettext_noop(
    "No party branch has the code %(value)s: import the party branches first, or correct the code."
)
MSG_WORKER_TAKEN = gettext_noop(
    "The worker with this mobile number is already the party member %(name)s of household "
    "%(household)s."
)
MSG_DUPLICATE_MEMBER_PHONE = gettext_noop(
    "The same mobile number is given to several members in this file (rows %(rows)s): a worker "
    "is one party member."
)
MSG_DUPLICATE_CENTRAL = gettext_noop(
    "The household number %(value)s is designated more than once in the file (rows %(rows)s): "
    "keep one row."
)
MSG_UNKNOWN_MEMBER = gettext_noop(
    "Household %(household)s has no party member named %(name)s: import the party members "
    "first, or correct the name."
)


# --- Party branches ---------------------------------------------------------------------------
@register
class PartyBranches(Handler):
    kind = "party_branches"
    columns = [
        ("code", "text"),
        ("name", "text"),
        ("village_code", "text"),
        ("village_id", "bigint"),
    ]
    point_sql = f"""(SELECT ST_PointOnSurface(vq.geom) FROM {T["village"]} vq
                      WHERE vq.id = village_id)"""

    cleaners = {
        "code": partial(clean_code, required=True, max_length=40),
        "name": partial(clean_text, required=True, max_length=100),
        "village_code": partial(clean_code, required=True, max_length=12),
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        return clean_cells(record, self.cleaners)

    def prepare(self, stage: Stage) -> None:
        present = stage.ctx.present
        stage.refuse_duplicates("code", "code", MSG_DUPLICATE_BRANCH)
        stage.execute(
            f"UPDATE {STAGE} s SET target_id = b.id FROM {BRANCH} b WHERE b.code = s.code"
        )
        stage.execute(f"UPDATE {STAGE} SET village_id = {village_id_sql('village_code')}")
        stage.refuse(
            "village_code <> '' AND village_id IS NULL",
            "village_code",
            MSG_UNKNOWN_VILLAGE_CODE,
            "jsonb_build_object('value', village_code)",
        )
        stage.refuse_out_of_scope(
            "CASE WHEN errors IS NULL THEN village_code END",
            "village_code",
            MSG_OUTSIDE_JURISDICTION,
        )
        refuse_elsewhere(
            stage,
            village_code_sql(f"(SELECT b.village_id FROM {BRANCH} b WHERE b.id = target_id)"),
            "code",
            "code",
        )
        same = ["b.village_id = s.village_id"]
        if "name" in present:
            same.append("b.name = s.name")
        classify(stage, BRANCH, "b", same)

    def apply(self, stage: Stage) -> None:
        stage.execute(
            f"""INSERT INTO {BRANCH} (code, name, village_id)
                SELECT code, name, village_id FROM {STAGE}
                 WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        sets = ["village_id = s.village_id"]
        if "name" in stage.ctx.present:
            sets.append("name = s.name")
        update(stage, BRANCH, "b", sets)


# --- Party members ----------------------------------------------------------------------------
def clean_worker_phone(
    record: Record, errors: list[RowError], normalised: list[str]
) -> tuple[str | None, bool]:
    """The keyed hash of the member's worker phone (None when empty) and whether the cell is
    masked (an export's ``138****5678``: the stored link stays)."""
    raw = record.values.get("phone")
    if masked(raw):
        return None, True
    try:
        cleaned = clean_phone(raw, column="phone")
    except RowError as error:
        errors.append(error)
        return None, False
    if cleaned.normalised:
        normalised.append("phone")
    return (keyed_hash(cleaned.value) if cleaned.value else None), False


@register
class PartyMembers(Handler):
    kind = "party_members"
    columns = [
        ("household_code", "text"),
        ("name", "text"),
        ("branch_code", "text"),
        ("joined_on", "date"),
        ("phone_hash", "text"),
        ("phone_keep", "boolean"),
        # Derived in SQL.
        ("household_id", "bigint"),
        ("branch_id", "bigint"),
        ("workers", "bigint[]"),
        ("worker_id", "bigint"),
    ]
    point_sql = household_point_sql("household_id")

    cleaners = {
        "household_code": partial(clean_code, required=True, max_length=40),
        "name": partial(clean_text, required=True, max_length=50),
        "branch_code": partial(clean_code, required=True, max_length=40),
        "joined_on": clean_date,
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["phone_hash"], values["phone_keep"] = clean_worker_phone(record, errors, normalised)
        return values, errors, normalised

    def prepare(self, stage: Stage) -> None:
        present = stage.ctx.present
        stage.refuse_duplicates(
            "CASE WHEN name <> '' THEN household_code || ' ' || name END",
            "name",
            MSG_DUPLICATE_MEMBER,
        )
        refuse_duplicates_hidden(stage, "phone_hash", "phone", MSG_DUPLICATE_MEMBER_PHONE)
        resolve_household(stage, "household_code", "household_id")
        stage.execute(
            f"""UPDATE {STAGE} s SET branch_id = b.id FROM {BRANCH} b
                 WHERE s.branch_code <> '' AND b.code = s.branch_code"""
        )
        stage.refuse(
            "branch_code <> '' AND branch_id IS NULL",
            "branch_code",
            MSG_UNKNOWN_BRANCH,
            "jsonb_build_object('value', branch_code)",
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = (
                  SELECT min(m.id) FROM {MEMBER} m
                   WHERE m.household_id = s.household_id AND m.name = s.name)
                 WHERE s.household_id IS NOT NULL"""
        )
        stage.refuse("target_id IS NULL AND phone_keep", "phone", MSG_MASKED_NEW)
        # The worker with the phone: exactly one, and no other member's.
        stage.execute(
            f"""UPDATE {STAGE} s SET workers = (
                  SELECT array_agg(w.id ORDER BY w.id) FROM {WORKER} w
                   WHERE w.phone_hash = s.phone_hash)
                 WHERE s.phone_hash IS NOT NULL"""
        )
        stage.refuse("phone_hash IS NOT NULL AND workers IS NULL", "phone", MSG_NO_WORKER)
        stage.refuse("cardinality(workers) > 1", "phone", MSG_PHONE_SHARED)
        stage.execute(f"UPDATE {STAGE} SET worker_id = workers[1] WHERE cardinality(workers) = 1")
        stage.refuse(
            f"""worker_id IS NOT NULL AND EXISTS (
                  SELECT 1 FROM {MEMBER} m WHERE m.worker_id = {STAGE}.worker_id
                     AND m.id IS DISTINCT FROM {STAGE}.target_id)""",
            "phone",
            MSG_WORKER_TAKEN,
            f"""(SELECT jsonb_build_object('name', m.name, 'household', h.code)
                   FROM {MEMBER} m JOIN {H} h ON h.id = m.household_id
                  WHERE m.worker_id = {STAGE}.worker_id ORDER BY m.id LIMIT 1)""",
        )
        stage.refuse_out_of_scope(
            f"CASE WHEN errors IS NULL THEN {household_place_sql('household_id')} END",
            "household_code",
            MSG_OUTSIDE_JURISDICTION,
        )
        same = ["m.branch_id = s.branch_id"]
        if "joined_on" in present:
            same.append("m.joined_on IS NOT DISTINCT FROM s.joined_on")
        if "phone" in present:
            same.append("(s.worker_id IS NULL OR m.worker_id IS NOT DISTINCT FROM s.worker_id)")
        classify(stage, MEMBER, "m", same)

    def apply(self, stage: Stage) -> None:
        present = stage.ctx.present
        stage.execute(
            f"""INSERT INTO {MEMBER} (name, branch_id, household_id, joined_on, worker_id)
                SELECT name, branch_id, household_id, joined_on, worker_id FROM {STAGE}
                 WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        sets = ["branch_id = s.branch_id"]
        if "joined_on" in present:
            sets.append("joined_on = s.joined_on")
        if "phone" in present:
            sets.append("worker_id = coalesce(s.worker_id, m.worker_id)")
        update(stage, MEMBER, "m", sets)
        # A worker who is a party member says so.
        stage.execute(
            f"""UPDATE {WORKER} w SET is_party_member = TRUE FROM {STAGE} s
                 WHERE s.worker_id = w.id AND s.errors IS NULL
                   AND s.action IN ('new', 'updated') AND NOT w.is_party_member"""
        )


# --- Central households -----------------------------------------------------------------------
@register
class CentralHouseholds(Handler):
    kind = "central_households"
    columns = [
        ("household_code", "text"),
        ("member_name", "text"),
        ("member_household_code", "text"),
        ("designated_on", "date"),
        # Derived in SQL.
        ("household_id", "bigint"),
        ("member_household_id", "bigint"),
        ("member_id", "bigint"),
    ]
    point_sql = household_point_sql("household_id")

    cleaners = {
        "household_code": partial(clean_code, required=True, max_length=40),
        "member_name": partial(clean_text, required=True, max_length=50),
        "member_household_code": partial(clean_code, max_length=40),
        "designated_on": partial(clean_date, required=True),
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        return clean_cells(record, self.cleaners)

    def prepare(self, stage: Stage) -> None:
        stage.refuse_duplicates("household_code", "household_code", MSG_DUPLICATE_CENTRAL)
        resolve_household(stage, "household_code", "household_id")
        resolve_household(stage, "member_household_code", "member_household_id")
        stage.execute(
            f"""UPDATE {STAGE} SET member_household_id = household_id
                 WHERE coalesce(member_household_code, '') = ''"""
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET member_id = (
                  SELECT min(m.id) FROM {MEMBER} m
                   WHERE m.household_id = s.member_household_id AND m.name = s.member_name)
                 WHERE s.member_household_id IS NOT NULL"""
        )
        stage.refuse(
            "member_household_id IS NOT NULL AND member_name <> '' AND member_id IS NULL",
            "member_name",
            MSG_UNKNOWN_MEMBER,
            """jsonb_build_object('name', member_name, 'household',
                 coalesce(nullif(member_household_code, ''), household_code))""",
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = c.id FROM {CENTRAL} c
                 WHERE c.household_id = s.household_id"""
        )
        stage.refuse_out_of_scope(
            f"CASE WHEN errors IS NULL THEN {household_place_sql('household_id')} END",
            "household_code",
            MSG_OUTSIDE_JURISDICTION,
        )
        classify(
            stage,
            CENTRAL,
            "c",
            ["c.party_member_id = s.member_id", "c.designated_on = s.designated_on"],
        )

    def apply(self, stage: Stage) -> None:
        stage.execute(
            f"""INSERT INTO {CENTRAL} (household_id, party_member_id, designated_on)
                SELECT household_id, member_id, designated_on FROM {STAGE}
                 WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        update(
            stage,
            CENTRAL,
            "c",
            ["party_member_id = s.member_id", "designated_on = s.designated_on"],
        )
        # Incidents reach a central household through its member's worker record.
        households = [
            r[0]
            for r in stage.fetch(
                f"""SELECT household_id FROM {STAGE}
                     WHERE errors IS NULL AND action IN ('new', 'updated')"""
            )
        ]
        if households:
            central_household_workers(household_ids=households)
