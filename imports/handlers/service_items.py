"""The service catalogue (issue 15): items from a spreadsheet (``servicedesk.ServiceItem``).

A row is one item: its code, name, kind (one of the six, by its Chinese or English name),
approving level (县级, 乡镇, 村级), office, conditions, materials, steps, fees, legal basis,
promised working days (1-365), whether it is taken at the village (是/否, empty: 是) and the
district that offers it (区县编码; empty: every district). The stable key is (code, district):
a row whose item is stored is unchanged or updated, so importing the same file twice changes
nothing. A column the file lacks leaves the stored values as they are.

Who may import what, as in the admin (``servicedesk.admin.ServiceItemAdmin``): a district
administrator imports their own district's items; an item of every district (no district
code) only a superuser (the command line, or a login without limits).

The long texts keep their lines (each line trimmed, empty lines dropped): the steps and
materials are often written one per line.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any

from django.utils.translation import gettext_noop

from gridmap.sql import table
from imports.normalise import (
    MSG_REQUIRED,
    MSG_TEXT_TOO_LONG,
    Cleaned,
    RowError,
    clean_boolean,
    clean_code,
    clean_integer,
    clean_text,
    is_empty,
)
from imports.pipeline import STAGE, Context, Handler, Stage, clean_cells, register
from imports.sources import Record
from presence.admin_duty import MSG_DISTRICT_REQUIRED
from servicedesk.models import ApprovingLevel, ServiceItem, ServiceKind

from .common import MSG_OUTSIDE_JURISDICTION, T, choice_lookup
from .refs import classify, update

ITEM = table(ServiceItem)
LONG_TEXT = 4000

MSG_DUPLICATE_ITEM = gettext_noop(
    "The item %(value)s is in the file more than once for the same district (rows %(rows)s): "
    "keep one row."
)
MSG_UNKNOWN_KIND = gettext_noop(
    "Unknown kind %(value)s: use 政务服务, 生产生活, 法律服务, 文化教育, 医疗社保 or 党建服务."
)
MSG_UNKNOWN_LEVEL = gettext_noop("Unknown approving level %(value)s: use 县级, 乡镇 or 村级.")
MSG_UNKNOWN_DISTRICT = gettext_noop("No current district has the code %(value)s.")

# The kinds' and levels' Chinese names (their zh-hans labels) and the spellings counties use.
KIND_SYNONYMS = {
    "政务服务": ServiceKind.GOVERNMENT,
    "生产生活": ServiceKind.PRODUCTION,
    "法律服务": ServiceKind.LEGAL,
    "文化教育": ServiceKind.CULTURE,
    "医疗社保": ServiceKind.HEALTH,
    "党建服务": ServiceKind.PARTY,
    "政务": ServiceKind.GOVERNMENT,
    "政务服务类": ServiceKind.GOVERNMENT,
    "生产": ServiceKind.PRODUCTION,
    "生产服务": ServiceKind.PRODUCTION,
    "生产生活类": ServiceKind.PRODUCTION,
    "法律": ServiceKind.LEGAL,
    "法律服务类": ServiceKind.LEGAL,
    "文化": ServiceKind.CULTURE,
    "教育": ServiceKind.CULTURE,
    "文化教育类": ServiceKind.CULTURE,
    "卫生健康": ServiceKind.HEALTH,
    "医疗卫生": ServiceKind.HEALTH,
    "社会保障": ServiceKind.HEALTH,
    "医疗社保类": ServiceKind.HEALTH,
    "党建": ServiceKind.PARTY,
    "党务": ServiceKind.PARTY,
    "党建服务类": ServiceKind.PARTY,
}
LEVEL_SYNONYMS = {
    "县级": ApprovingLevel.COUNTY,
    "乡镇": ApprovingLevel.TOWN,
    "村级": ApprovingLevel.VILLAGE,
    "县": ApprovingLevel.COUNTY,
    "区": ApprovingLevel.COUNTY,
    "区级": ApprovingLevel.COUNTY,
    "县区": ApprovingLevel.COUNTY,
    "区县": ApprovingLevel.COUNTY,
    "县（区）级": ApprovingLevel.COUNTY,
    "县(区)级": ApprovingLevel.COUNTY,
    "乡镇级": ApprovingLevel.TOWN,
    "镇": ApprovingLevel.TOWN,
    "镇级": ApprovingLevel.TOWN,
    "乡级": ApprovingLevel.TOWN,
    "街道": ApprovingLevel.TOWN,
    "村": ApprovingLevel.VILLAGE,
    "村（社区）": ApprovingLevel.VILLAGE,
    "村(社区)": ApprovingLevel.VILLAGE,
    "社区": ApprovingLevel.VILLAGE,
}
# The required columns a row writes: (stored column, staging column).
REQUIRED_COLUMNS = [
    ("name", "name"),
    ("kind", "item_kind"),
    ("approving_level", "approving_level"),
    ("promised_days", "promised_days"),
]
# The optional columns written as they are (a column the file lacks keeps the stored value).
TEXTS = ("office", "conditions", "materials", "steps", "fees", "legal_basis")


@cache
def kind_lookup() -> dict[str, str]:
    return choice_lookup(ServiceKind, KIND_SYNONYMS)


@cache
def level_lookup() -> dict[str, str]:
    return choice_lookup(ApprovingLevel, LEVEL_SYNONYMS)


def clean_long_text(
    raw: Any, *, column: str = "", required: bool = False, max_length: int = LONG_TEXT
) -> Cleaned[str]:
    """Text of several lines: each line trimmed (runs of spaces made one), empty lines
    dropped, the lines kept."""
    if is_empty(raw):
        if required:
            raise RowError(column, MSG_REQUIRED)
        return Cleaned("")
    original = str(raw)
    lines = [" ".join(line.split()) for line in original.replace("\r\n", "\n").split("\n")]
    text = "\n".join(line for line in lines if line)
    if len(text) > max_length:
        raise RowError(column, MSG_TEXT_TOO_LONG, {"max_length": max_length, "length": len(text)})
    return Cleaned(text, normalised=text != original)


def _choice(
    record: Record,
    column: str,
    lookup: dict[str, str],
    msgid: str,
    errors: list[RowError],
) -> str | None:
    raw = record.values.get(column)
    text = "" if is_empty(raw) else str(raw).strip()
    if not text:
        errors.append(RowError(column, MSG_REQUIRED))
        return None
    value = lookup.get(text.lower())
    if value is None:
        errors.append(RowError(column, msgid, {"value": text}))
    return value


@register
class ServiceItems(Handler):
    kind = "service_items"
    columns = [
        ("code", "text"),
        ("name", "text"),
        ("item_kind", "text"),
        ("approving_level", "text"),
        ("office", "text"),
        ("conditions", "text"),
        ("materials", "text"),
        ("steps", "text"),
        ("fees", "text"),
        ("legal_basis", "text"),
        ("promised_days", "integer"),
        ("at_village", "boolean"),
        ("district_code", "text"),
        # Derived in SQL.
        ("district_id", "bigint"),
    ]

    cleaners = {
        "code": partial(clean_code, required=True, max_length=30),
        "name": partial(clean_text, required=True, max_length=100),
        "office": partial(clean_text, max_length=100),
        "fees": partial(clean_text, max_length=200),
        "conditions": clean_long_text,
        "materials": clean_long_text,
        "steps": clean_long_text,
        "legal_basis": clean_long_text,
        "promised_days": partial(clean_integer, required=True, minimum=1, maximum=365),
        "at_village": clean_boolean,
        "district_code": partial(clean_code, max_length=6),
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["item_kind"] = _choice(record, "kind", kind_lookup(), MSG_UNKNOWN_KIND, errors)
        values["approving_level"] = _choice(
            record, "approving_level", level_lookup(), MSG_UNKNOWN_LEVEL, errors
        )
        if values.get("at_village") is None:
            values["at_village"] = True
        for column in TEXTS:
            values[column] = values.get(column) or ""
        values["district_code"] = values.get("district_code") or ""
        return values, errors, normalised

    def prepare(self, stage: Stage) -> None:
        # The key: the code, and the district code after it when there is one.
        stage.refuse_duplicates(
            "CASE WHEN code <> '' THEN code || coalesce(' / ' || nullif(district_code, ''), '') "
            "END",
            "code",
            MSG_DUPLICATE_ITEM,
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET district_id = d.id FROM {T["district"]} d
                 WHERE s.district_code <> '' AND d.code = s.district_code
                   AND d.generation_high_id IS NULL"""
        )
        stage.refuse(
            "district_code <> '' AND district_id IS NULL",
            "district_code",
            MSG_UNKNOWN_DISTRICT,
            "jsonb_build_object('value', district_code)",
        )
        if stage.ctx.prefixes is not None:
            stage.refuse("errors IS NULL AND district_code = ''", "district_code",
                         MSG_DISTRICT_REQUIRED)  # fmt: skip
        stage.refuse_out_of_scope(
            "CASE WHEN errors IS NULL AND district_code <> '' THEN district_code END",
            "district_code",
            MSG_OUTSIDE_JURISDICTION,
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = i.id FROM {ITEM} i
                 WHERE i.code = s.code AND i.district_id IS NOT DISTINCT FROM s.district_id"""
        )
        classify(stage, ITEM, "i", [f"i.{a} = s.{b}" for a, b in self.written(stage)])

    @staticmethod
    def written(stage: Stage) -> list[tuple[str, str]]:
        """(stored column, staging column) of what a row sets: the required columns and the
        optional ones the file has (the others keep the stored values)."""
        optional = [c for c in (*TEXTS, "at_village") if c in stage.ctx.present]
        return [*REQUIRED_COLUMNS, *((c, c) for c in optional)]

    def apply(self, stage: Stage) -> None:
        stage.execute(
            f"""INSERT INTO {ITEM} (code, name, kind, approving_level, office, conditions,
                                    materials, steps, fees, legal_basis, promised_days,
                                    at_village, district_id, active, sort_order)
                SELECT code, name, item_kind, approving_level, office, conditions, materials,
                       steps, fees, legal_basis, promised_days, at_village, district_id, TRUE, 0
                  FROM {STAGE} WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        update(stage, ITEM, "i", [f"{a} = s.{b}" for a, b in self.written(stage)])
