"""Keyed hashes compared bytewise (``gridmap.crypto.KeyedHashField``: ``db_collation="C"``).

The field's default collation is set in its constructor, so the migration state already has
it: only the columns change (their indexes are rebuilt with them)."""

from django.db import migrations

SQL = """ALTER TABLE grids_worker
           ALTER COLUMN phone_hash TYPE varchar(64) COLLATE "C",
           ALTER COLUMN id_number_hash TYPE varchar(64) COLLATE "C" """
REVERSE = """ALTER TABLE grids_worker
               ALTER COLUMN phone_hash TYPE varchar(64) COLLATE "default",
               ALTER COLUMN id_number_hash TYPE varchar(64) COLLATE "default" """


class Migration(migrations.Migration):
    dependencies = [("grids", "0011_centre_phone_db_default")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
