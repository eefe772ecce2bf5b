"""Keyed hashes are looked up exactly: the LIKE (varchar_pattern_ops) indexes Django added beside
their btree indexes only slowed writes (gridmap.crypto.KeyedHashField.db_type)."""

from django.db import migrations

DROP_LIKE_INDEXES = """
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM pg_indexes
            WHERE schemaname = current_schema() AND tablename = 'households_household'
              AND indexname LIKE '%\\_hash\\_%\\_like'
  LOOP
    EXECUTE format('DROP INDEX IF EXISTS %I', r.indexname);
  END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("households", "0005_import_keys")]

    operations = [migrations.RunSQL(DROP_LIKE_INDEXES, migrations.RunSQL.noop, elidable=True)]
