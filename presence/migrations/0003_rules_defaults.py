"""The seeds' presence rules as data (issue 14, item 7), for every district (``district``
empty); a district administrator adds their own in the admin.

- Long'an's village assistant: at least 20 days a month in the village;
- Qinzhou's station head, deputy and full-time worker: at least 2 days a week in the villages;
- the village party secretary: a sign-in on every rostered duty day.
"""

from django.db import migrations

RULES = [
    ("village_assistant", "days_in_place_per_month", 20),
    ("station_head", "days_in_villages_per_week", 2),
    ("station_deputy", "days_in_villages_per_week", 2),
    ("station_worker", "days_in_villages_per_week", 2),
    ("village_secretary", "duty_days_signed", 0),
]


def add_rules(apps, schema_editor):
    PresenceRule = apps.get_model("presence", "PresenceRule")
    for role, kind, minimum in RULES:
        PresenceRule.objects.update_or_create(
            role=role, kind=kind, district=None, defaults={"minimum": minimum, "active": True}
        )


def remove_rules(apps, schema_editor):
    PresenceRule = apps.get_model("presence", "PresenceRule")
    for role, kind, _minimum in RULES:
        PresenceRule.objects.filter(role=role, kind=kind, district=None).delete()


class Migration(migrations.Migration):
    dependencies = [("presence", "0001_initial")]

    operations = [migrations.RunPython(add_rules, remove_rules)]
