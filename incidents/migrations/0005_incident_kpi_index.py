"""A covering index for the KPI aggregate (incidents.kpis).

``(place_code varchar_pattern_ops, reported_at) INCLUDE (the KPI columns)``:

- ``varchar_pattern_ops`` lets ``place_code LIKE '4507%'`` become an index range whatever
  the database collation (the existing ``incident_place_time`` index uses the default
  operator class, which serves ``LIKE`` only under the ``C`` collation);
- the INCLUDE columns make the aggregate an index-only scan: the wide incident rows
  (location, description, routing explanation) are never read.

Raw SQL, so the index is owned by this migration and the KPI module rather than by the
model's Meta (which the case workflow maintains); Django's autodetector does not see it.
"""

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS incident_kpi ON incidents_incident
  (place_code varchar_pattern_ops, reported_at)
  INCLUDE (acknowledged_at, resolved_at, closed_at, closed_on_time, extension_count,
           rework_count, satisfaction)
"""
DROP = "DROP INDEX IF EXISTS incident_kpi"


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_case_history_and_time_limits")]
    operations = [migrations.RunSQL(CREATE, DROP)]
