"""Workers (keyed by their mobile number) and their dated roles.

A worker is found by the keyed hash of their phone (``Worker.phone_hash``): the number itself
is encrypted before it reaches the database. A role row names the worker by phone, the role by
its Chinese (or English) name, the place by code and the first and last day. Roles keep their
history as the rest of the platform does: a row that gives a single-holder role (a grid's
leader, a village's secretary, ...) to someone new from a date ENDS the current holder's open
assignment the day before and starts the new one; an overlap that a handover cannot resolve (a
holder whose term is already dated past the new start) is refused with the holder's dates.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_noop

from gridmap.crypto import encrypt, keyed_hash
from grids.models import (
    GRID_ROLES,
    SINGLE_HOLDER_ROLES,
    STATION_ROLES,
    TOWN_ROLES,
    VILLAGE_ROLES,
    Role,
    RoleAssignment,
)
from imports.normalise import (
    MOBILE_RE,
    RowError,
    clean_boolean,
    clean_code,
    clean_date,
    clean_phone,
    clean_text,
    is_empty,
)
from imports.pipeline import STAGE, Context, Handler, Stage, clean_cells, register
from imports.sources import Record

from .common import MSG_MASKED_NEW, MSG_OUTSIDE_JURISDICTION, T, choice_lookup, masked, secret
from .refs import classify, update

W = T["worker"]
RA = RoleAssignment._meta.db_table

MSG_PHONE_MASKED_KEY = gettext_noop(
    "The phone number is masked (it has *), but it is how the worker is found: give the full "
    "number."
)
MSG_NOT_MOBILE = gettext_noop(
    "%(value)s is not a mobile number: a worker is found and reached by an 11-digit mobile "
    "number starting with 1."
)
MSG_EMAIL_INVALID = gettext_noop("%(value)s is not an e-mail address.")
MSG_DUPLICATE_WORKER = gettext_noop(
    "This phone number is in the file more than once (rows %(rows)s): one row per worker."
)
MSG_PHONE_SHARED = gettext_noop(
    "Several workers already have this phone number: correct them in the administration first."
)
MSG_WORKER_ELSEWHERE = gettext_noop(
    "This worker holds roles outside your jurisdiction (%(code)s): only an administrator of "
    "that area may change them."
)
MSG_UNKNOWN_ROLE = gettext_noop("Unknown role %(value)s; the roles are: %(roles)s.")
MSG_NO_WORKER = gettext_noop(
    "No worker has the phone number in this row: import the workers first, or correct the number."
)
MSG_END_BEFORE_START = gettext_noop("The last day %(end)s is before the first day %(start)s.")
MSG_UNKNOWN_GRID = gettext_noop(
    "No current grid has the code %(value)s (a %(role)s is held on a grid)."
)
MSG_UNKNOWN_VILLAGE = gettext_noop(
    "No current village has the code %(value)s (a %(role)s is held on a village)."
)
MSG_UNKNOWN_STATION = gettext_noop(
    "No station in service has the code %(value)s (a %(role)s is held on a station)."
)
MSG_UNKNOWN_TOWN = gettext_noop(
    "No current town has the code %(value)s (a %(role)s is held on a town)."
)
MSG_ROLE_TWICE = gettext_noop(
    "The same assignment is in the file more than once (rows %(rows)s): keep one row."
)
MSG_ROLE_OVERLAPS_FILE = gettext_noop(
    "Only one person at a time may be %(role)s of %(value)s, and row %(other)s of the file "
    "gives it to someone for overlapping dates. Give the earlier holder an end date."
)
MSG_ROLE_OVERLAPS_HOLDER = gettext_noop(
    "Only one person at a time may be %(role)s of %(value)s: %(holder)s holds it from "
    "%(from)s to %(to)s, overlapping these dates. End that term first, or correct the dates."
)
MSG_ROLE_ALREADY_HELD = gettext_noop(
    "This worker already holds this role here from %(from)s: correct the first day, or give "
    "the assignment an end date."
)

SCOPES = (
    ("grid", GRID_ROLES, MSG_UNKNOWN_GRID),
    ("village", VILLAGE_ROLES, MSG_UNKNOWN_VILLAGE),
    ("station", STATION_ROLES, MSG_UNKNOWN_STATION),
    ("town", TOWN_ROLES, MSG_UNKNOWN_TOWN),
)
# Names counties use besides the roles' own labels.
ROLE_SYNONYMS = {
    "调解主任": Role.MEDIATION_DIRECTOR,
    "治调主任": Role.MEDIATION_DIRECTOR,
    "村调解主任": Role.MEDIATION_DIRECTOR,
    "村党支部书记": Role.VILLAGE_SECRETARY,
    "村支书": Role.VILLAGE_SECRETARY,
    "党支部书记": Role.VILLAGE_SECRETARY,
    "社区党组织书记": Role.VILLAGE_SECRETARY,
    "村（社区）党组织书记": Role.VILLAGE_SECRETARY,
    "网格指导员": Role.PARTY_GUIDE,
    "党建网格指导员": Role.PARTY_GUIDE,
    "专职网格员": Role.GRID_MEMBER,
    "工作站站长": Role.STATION_HEAD,
    "党建工作站站长": Role.STATION_HEAD,
    "工作站副站长": Role.STATION_DEPUTY,
    "法律顾问": Role.VILLAGE_LAWYER,
    "村辅警": Role.AUXILIARY_POLICE,
    "值班员": Role.TOWN_DUTY_OFFICER,
    "调度员": Role.TOWN_DISPATCHER,
}


def resolve_worker_by_phone(stage: Stage) -> None:
    """Each staged row's ``worker_id`` from its ``phone_hash``: the one worker with that
    phone; a phone two workers share (a central household's, a resident's) or no worker's is
    refused with why. (Roles and duty shifts name their worker by phone.)"""
    stage.execute(
        f"""UPDATE {STAGE} s SET worker_id = w.id FROM (
          SELECT phone_hash, min(id) AS id, count(*) AS c FROM {W}
           WHERE phone_hash <> '' GROUP BY phone_hash) w
         WHERE w.phone_hash = s.phone_hash AND w.c = 1"""
    )
    stage.refuse(
        f"""errors IS NULL AND worker_id IS NULL AND (
          SELECT count(*) FROM {W} w WHERE w.phone_hash = {STAGE}.phone_hash) > 1""",
        "phone",
        MSG_PHONE_SHARED,
    )
    stage.refuse("errors IS NULL AND worker_id IS NULL", "phone", MSG_NO_WORKER)


@cache
def role_lookup() -> dict[str, str]:
    """Every accepted name of a role (its key, English and Chinese labels, synonyms)."""
    return choice_lookup(Role, ROLE_SYNONYMS)


def role_names() -> str:
    return "、".join(str(role.label) for role in Role)


def _mobile_hash(
    record: Record, errors: list[RowError], normalised: list[str]
) -> tuple[str | None, str | None]:
    """The row's mobile number as (token, keyed hash); refused when masked or not a mobile."""
    raw = record.values.get("phone")
    if masked(raw):
        errors.append(RowError("phone", MSG_PHONE_MASKED_KEY))
        return None, None
    try:
        cleaned = clean_phone(raw, column="phone", required=True)
    except RowError as error:
        errors.append(error)
        return None, None
    if not MOBILE_RE.match(cleaned.value):
        errors.append(RowError("phone", MSG_NOT_MOBILE, {"value": cleaned.value}))
        return None, None
    if cleaned.normalised:
        normalised.append("phone")
    return encrypt(cleaned.value), keyed_hash(cleaned.value)


def _refuse_unresolved_workers(stage: Stage) -> None:
    """``worker_id`` from ``phone_hash``: refused when none or several workers have it."""
    stage.execute(
        f"""UPDATE {STAGE} s SET target_id = w.id FROM (
              SELECT phone_hash, min(id) AS id, count(*) AS c FROM {W}
               WHERE phone_hash <> '' GROUP BY phone_hash) w
             WHERE w.phone_hash = s.phone_hash AND w.c = 1"""
    )
    stage.refuse(
        f"""errors IS NULL AND target_id IS NULL AND (
              SELECT count(*) FROM {W} w WHERE w.phone_hash = {STAGE}.phone_hash) > 1""",
        "phone",
        MSG_PHONE_SHARED,
    )


def _role_place_code_sql(alias: str = "ra") -> str:
    """SQL: the code of a role assignment's place (a station's code starts with its town's)."""
    return f"""coalesce(
        (SELECT code FROM {T["grid"]} WHERE id = {alias}.grid_id),
        (SELECT code FROM {T["village"]} WHERE id = {alias}.village_id),
        (SELECT code FROM {T["station"]} WHERE id = {alias}.station_id),
        (SELECT code FROM {T["town"]} WHERE id = {alias}.town_id))"""


@register
class Workers(Handler):
    kind = "workers"
    columns = [
        ("name", "text"),
        ("phone_enc", "text"),
        ("phone_hash", "text"),
        ("id_enc", "text"),
        ("id_hash", "text"),
        ("id_keep", "boolean"),
        ("email", "text"),
        ("party", "boolean"),
    ]

    cleaners = {
        "name": partial(clean_text, required=True, max_length=50),
        "party_member": clean_boolean,
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["party"] = bool(values.pop("party_member", None))
        values["phone_enc"], values["phone_hash"] = _mobile_hash(record, errors, normalised)
        values["id_enc"], values["id_hash"], values["id_keep"] = secret(
            record, "id_number", "id", errors, normalised
        )
        email = record.values.get("email")
        values["email"] = "" if is_empty(email) else str(email).strip()
        if values["email"]:
            try:
                validate_email(values["email"])
            except ValidationError:
                errors.append(RowError("email", MSG_EMAIL_INVALID, {"value": values["email"]}))
        return values, errors, normalised

    def prepare(self, stage: Stage) -> None:
        present = stage.ctx.present
        stage.refuse_duplicates("phone_hash", "phone", MSG_DUPLICATE_WORKER)
        _refuse_unresolved_workers(stage)
        stage.refuse("target_id IS NULL AND id_keep", "id_number", MSG_MASKED_NEW)
        if stage.ctx.prefixes is not None:
            patterns = [p + "%" for p in stage.ctx.prefixes]
            stage.refuse(
                f"""errors IS NULL AND target_id IS NOT NULL AND EXISTS (
                      SELECT 1 FROM {RA} ra WHERE ra.worker_id = target_id
                         AND upper_inf(ra.period)
                         AND NOT ({_role_place_code_sql()} LIKE ANY(%s)))""",
                "phone",
                MSG_WORKER_ELSEWHERE,
                f"""jsonb_build_object('code', (
                      SELECT string_agg(DISTINCT {_role_place_code_sql()}, ', ')
                        FROM {RA} ra WHERE ra.worker_id = target_id AND upper_inf(ra.period)))""",
                [patterns],
            )
        same = ["w.name = s.name"]
        if "id_number" in present:
            same.append("(s.id_keep OR w.id_number_hash = s.id_hash)")
        if "email" in present:
            same.append("w.email = s.email")
        if "party_member" in present:
            same.append("w.is_party_member = s.party")
        classify(stage, W, "w", same)

    def apply(self, stage: Stage) -> None:
        present = stage.ctx.present
        stage.execute(
            f"""INSERT INTO {W} (name, phone, phone_hash, id_number, id_number_hash, email,
                                is_party_member, wecom_userid)
                SELECT name, phone_enc, phone_hash, coalesce(id_enc, ''), coalesce(id_hash, ''),
                       email, party, ''
                  FROM {STAGE} WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        sets = ["name = s.name"]
        if "id_number" in present:
            sets.append("id_number = CASE WHEN s.id_keep THEN w.id_number ELSE s.id_enc END")
            sets.append(
                "id_number_hash = CASE WHEN s.id_keep THEN w.id_number_hash ELSE s.id_hash END"
            )
        if "email" in present:
            sets.append("email = s.email")
        if "party_member" in present:
            sets.append("is_party_member = s.party")
        update(stage, W, "w", sets)


@register
class Roles(Handler):
    kind = "roles"
    columns = [
        ("phone_hash", "text"),
        ("worker_id", "bigint"),
        ("role", "text"),
        ("role_raw", "text"),
        ("scope", "text"),
        ("place_code", "text"),
        ("place_id", "bigint"),
        ("start", "date"),
        ("last", "date"),
        ("handover_id", "bigint"),
    ]

    cleaners = {
        "place_code": partial(clean_code, required=True, max_length=40),
        "start": partial(clean_date, required=True),
        "end": clean_date,
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["last"] = values.pop("end", None)
        _, values["phone_hash"] = _mobile_hash(record, errors, normalised)
        raw = record.values.get("role")
        text = "" if is_empty(raw) else str(raw).strip()
        values["role_raw"] = text
        values["role"] = role_lookup().get(text.lower())
        if not text:
            errors.append(RowError("role", gettext_noop("This column must not be empty.")))
        elif values["role"] is None:
            errors.append(
                RowError("role", MSG_UNKNOWN_ROLE, {"value": text, "roles": role_names()})
            )
        else:
            values["scope"] = next(s for s, roles, _ in SCOPES if values["role"] in roles)
        start, last = values.get("start"), values.get("last")
        if start and last and last < start:
            errors.append(
                RowError("end", MSG_END_BEFORE_START, {"end": str(last), "start": str(start)})
            )
        return values, errors, normalised

    def prepare(self, stage: Stage) -> None:
        resolve_worker_by_phone(stage)
        for scope, _roles, msgid in SCOPES:
            table = T[scope]
            current = (
                "p.retired_on IS NULL" if scope == "station" else "p.generation_high_id IS NULL"
            )
            stage.execute(
                f"""UPDATE {STAGE} s SET place_id = p.id FROM {table} p
                     WHERE s.scope = %s AND p.code = s.place_code AND {current}""",
                [scope],
            )
            stage.refuse(
                "errors IS NULL AND scope = %s AND place_id IS NULL",
                "place_code",
                msgid,
                "jsonb_build_object('value', place_code, 'role', role_raw)",
                [scope],
            )
        stage.refuse_out_of_scope(
            "CASE WHEN errors IS NULL THEN place_code END", "place_code", MSG_OUTSIDE_JURISDICTION
        )
        # The same assignment twice in the file.
        stage.execute(
            f"""WITH d AS (
                  SELECT n, count(*) OVER w AS c, string_agg(row_no::text, ', ') OVER w AS rows_
                    FROM {STAGE} WHERE errors IS NULL
                  WINDOW w AS (PARTITION BY worker_id, role, scope, place_id, start))
                UPDATE {STAGE} s SET errors = jsonb_build_array(jsonb_build_object(
                  'column', 'start', 'msgid', %s::text,
                  'params', jsonb_build_object('rows', d.rows_)))
                  FROM d WHERE d.n = s.n AND d.c > 1""",
            [MSG_ROLE_TWICE],
        )
        single = [r.value for r in SINGLE_HOLDER_ROLES]
        period = "daterange(s.start, s.last + 1, '[)')"
        # Two rows of the file giving a single-holder role of one place for overlapping dates.
        stage.execute(
            f"""WITH o AS (
                  SELECT s.n, min(t.row_no) AS other FROM {STAGE} s JOIN {STAGE} t
                    ON t.n <> s.n AND t.role = s.role AND t.scope = s.scope
                   AND t.place_id = s.place_id AND t.errors IS NULL
                   AND daterange(t.start, t.last + 1, '[)') && {period}
                   WHERE s.errors IS NULL AND s.role = ANY(%s) GROUP BY s.n)
                UPDATE {STAGE} s SET errors = jsonb_build_array(jsonb_build_object(
                  'column', 'start', 'msgid', %s::text, 'params', jsonb_build_object(
                    'role', s.role_raw, 'value', s.place_code, 'other', o.other)))
                  FROM o WHERE o.n = s.n""",
            [single, MSG_ROLE_OVERLAPS_FILE],
        )
        place = "ra.{scope}_id = s.place_id"
        same_place = " OR ".join(
            f"(s.scope = '{scope}' AND {place.format(scope=scope)})" for scope, _, _ in SCOPES
        )
        # The stored assignment this row is (same worker, role, place and first day).
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = ra.id FROM {RA} ra
                 WHERE s.errors IS NULL AND ra.worker_id = s.worker_id AND ra.role = s.role
                   AND ({same_place}) AND lower(ra.period) = s.start"""
        )
        # The same worker already holding it here from another day.
        stage.refuse(
            f"""errors IS NULL AND target_id IS NULL AND EXISTS (
                  SELECT 1 FROM {RA} ra, {STAGE} s WHERE s.n = {STAGE}.n
                     AND ra.worker_id = s.worker_id AND ra.role = s.role AND ({same_place})
                     AND ra.period && {period})""",
            "start",
            MSG_ROLE_ALREADY_HELD,
            f"""(SELECT jsonb_build_object('from', lower(ra.period)::text)
                   FROM {RA} ra, {STAGE} s WHERE s.n = {STAGE}.n
                    AND ra.worker_id = s.worker_id AND ra.role = s.role AND ({same_place})
                    AND ra.period && {period} ORDER BY lower(ra.period) LIMIT 1)""",
        )
        # A single-holder role held by someone else: an open term that began earlier is handed
        # over (ended the day before); any other overlap is refused.
        others = f"""FROM {RA} ra, {STAGE} s WHERE s.n = {STAGE}.n
                        AND ra.role = s.role AND ({same_place})
                        AND ra.id IS DISTINCT FROM s.target_id
                        AND ra.period && {period}"""
        stage.execute(
            f"""UPDATE {STAGE} SET handover_id = (
                  SELECT ra.id {others} AND upper_inf(ra.period) AND lower(ra.period) < s.start
                   ORDER BY lower(ra.period) DESC LIMIT 1)
                 WHERE errors IS NULL AND role = ANY(%s)""",
            [single],
        )
        stage.refuse(
            f"""errors IS NULL AND role = ANY(%s) AND EXISTS (
                  SELECT 1 {others} AND ra.id IS DISTINCT FROM {STAGE}.handover_id)""",
            "start",
            MSG_ROLE_OVERLAPS_HOLDER,
            f"""(SELECT jsonb_build_object('role', s.role_raw, 'value', s.place_code,
                        'holder', (SELECT w.name FROM {W} w WHERE w.id = ra.worker_id),
                        'from', lower(ra.period)::text,
                        'to', coalesce((upper(ra.period) - 1)::text, '…'))
                   {others} AND ra.id IS DISTINCT FROM {STAGE}.handover_id
                  ORDER BY lower(ra.period) LIMIT 1)""",
            [single],
        )
        stage.execute(
            f"UPDATE {STAGE} SET action = 'new' WHERE errors IS NULL AND target_id IS NULL"
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET action = CASE
                  WHEN ra.period = daterange(s.start, s.last + 1, '[)') THEN 'unchanged'
                  ELSE 'updated' END
                  FROM {RA} ra WHERE ra.id = s.target_id AND s.errors IS NULL"""
        )

    def apply(self, stage: Stage) -> None:
        # Handovers first: the old holder's term ends the day before the new one starts.
        stage.execute(
            f"""UPDATE {RA} ra SET period = daterange(lower(ra.period), s.start, '[)')
                  FROM {STAGE} s
                 WHERE s.handover_id = ra.id AND s.errors IS NULL
                   AND s.action IN ('new', 'updated')"""
        )
        stage.execute(
            f"""UPDATE {RA} ra SET period = daterange(s.start, s.last + 1, '[)')
                  FROM {STAGE} s
                 WHERE s.target_id = ra.id AND s.errors IS NULL AND s.action = 'updated'"""
        )
        for scope, _roles, _msgid in SCOPES:
            stage.execute(
                f"""INSERT INTO {RA} (worker_id, role, {scope}_id, period)
                    SELECT worker_id, role, place_id, daterange(start, last + 1, '[)')
                      FROM {STAGE}
                     WHERE errors IS NULL AND action = 'new' AND scope = %s ORDER BY n""",
                [scope],
            )
