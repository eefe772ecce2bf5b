"""The care categories a county starts from (issue 14, item 5), editable afterwards.

Global categories (no district): every district uses them until its administrators add a
category of their own with the same code (``presence.care``). Codes are English and stable
(households' tags map to them: ``presence.care.TAG_CATEGORIES``); names are data, stored in
Chinese as the counties call them (like place names), and edited in the admin.

Also the household search's index (presence.household_file.household_search): a trigram index
on households' addresses, so that ``address LIKE '%...%'`` (three characters or more) is an
index scan at city scale. pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner
creates it (docs/deployment.md). The index is on households' table, made here because the
search is presence's.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

HOUSEHOLD_TABLE = "households_household"

# code, name, visit every (days), visited by
DEFAULTS = [
    ("low_income", "低保户", 30, "grid_leader"),
    ("special_hardship", "特困供养人员", 14, "village_staff"),
    ("living_alone_elderly", "独居老人", 14, "central_household"),
    ("left_behind_elderly", "留守老人", 30, "central_household"),
    ("left_behind_child", "留守儿童", 30, "grid_leader"),
    ("disability", "残疾人", 30, "grid_leader"),
    ("returnee", "返乡人员", 90, "grid_leader"),
    ("petitioner", "信访人员", 7, "village_staff"),
]


def add_defaults(apps, schema_editor):
    CareCategory = apps.get_model("presence", "CareCategory")
    for code, name, days, visitor in DEFAULTS:
        CareCategory.objects.get_or_create(
            code=code,
            district=None,
            defaults={"name": name, "visit_every_days": days, "visitor": visitor},
        )


def remove_defaults(apps, schema_editor):
    CareCategory = apps.get_model("presence", "CareCategory")
    KeyPerson = apps.get_model("presence", "KeyPerson")
    codes = [d[0] for d in DEFAULTS]
    used = set(
        KeyPerson.objects.filter(category__code__in=codes, category__district=None).values_list(
            "category__code", flat=True
        )
    )
    CareCategory.objects.filter(district=None, code__in=set(codes) - used).delete()


class Migration(migrations.Migration):
    dependencies = [("presence", "0001_initial")]

    operations = [
        migrations.RunPython(add_defaults, remove_defaults),
        TrigramExtension(),
        migrations.RunSQL(
            f'CREATE INDEX IF NOT EXISTS household_address_trgm ON "{HOUSEHOLD_TABLE}" '
            "USING gin (address gin_trgm_ops)",
            "DROP INDEX IF EXISTS household_address_trgm",
        ),
    ]
