"""The case history is append-only; default time limits; owners of existing incidents.

- A trigger refuses UPDATE and DELETE on incidents_caseevent (and its attachments): the
  history cannot be edited, whatever the code path (admin, shell, a bug).
- Default time limits for every seeded category, by severity (admins edit them as data):
  red: acknowledge within 1 working hour, resolve within 1 working day;
  yellow: 4 working hours / 3 working days; blue: 1 working day / 7 working days.
- Incidents recorded before the closed loop existed are owned by their responsible level.
"""

from django.db import migrations

IMMUTABLE_SQL = """
CREATE OR REPLACE FUNCTION gridmap_history_is_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'The case history cannot be edited or deleted (% on %).', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON incidents_caseevent
  FOR EACH ROW EXECUTE FUNCTION gridmap_history_is_append_only();
CREATE TRIGGER case_attachment_append_only BEFORE UPDATE OR DELETE ON incidents_caseattachment
  FOR EACH ROW EXECUTE FUNCTION gridmap_history_is_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS case_event_append_only ON incidents_caseevent;
DROP TRIGGER IF EXISTS case_attachment_append_only ON incidents_caseattachment;
DROP FUNCTION IF EXISTS gridmap_history_is_append_only();
"""

LIMITS = {
    "red": (1, "working_hours", 1, "working_days"),
    "yellow": (4, "working_hours", 3, "working_days"),
    "blue": (1, "working_days", 7, "working_days"),
}

OWNERS_SQL = """
UPDATE incidents_incident SET
  owner_level = responsible_level,
  owner_code = CASE responsible_level
    WHEN 'grid' THEN place_code
    WHEN 'village' THEN left(place_code, 12)
    WHEN 'town' THEN left(place_code, 9)
    ELSE left(place_code, 6) END
WHERE owner_code = ''
"""


def seed_limits(apps, schema_editor):
    Category = apps.get_model("incidents", "Category")
    CategoryTimeLimit = apps.get_model("incidents", "CategoryTimeLimit")
    for category in Category.objects.all():
        for severity, (ack, ack_unit, res, res_unit) in LIMITS.items():
            CategoryTimeLimit.objects.get_or_create(
                category=category,
                severity=severity,
                defaults={
                    "acknowledge_amount": ack,
                    "acknowledge_unit": ack_unit,
                    "resolve_amount": res,
                    "resolve_unit": res_unit,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0003_caseattachment_caseevent_categorytimelimit_dueevent_and_more")
    ]
    operations = [
        migrations.RunSQL(IMMUTABLE_SQL, DROP_SQL),
        migrations.RunPython(seed_limits, migrations.RunPython.noop),
        migrations.RunSQL(OWNERS_SQL, migrations.RunSQL.noop),
    ]
