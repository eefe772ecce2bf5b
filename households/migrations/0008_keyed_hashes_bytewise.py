"""Keyed hashes compared bytewise (``gridmap.crypto.KeyedHashField``: ``db_collation="C"``).

The field's default collation is set in its constructor, so the migration state already has
it: only the columns change (their indexes are rebuilt with them)."""

from django.db import migrations

SQL = """ALTER TABLE households_household
           ALTER COLUMN id_number_hash TYPE varchar(64) COLLATE "C",
           ALTER COLUMN phone_hash TYPE varchar(64) COLLATE "C" """
REVERSE = """ALTER TABLE households_household
               ALTER COLUMN id_number_hash TYPE varchar(64) COLLATE "default",
               ALTER COLUMN phone_hash TYPE varchar(64) COLLATE "default" """


class Migration(migrations.Migration):
    dependencies = [("households", "0007_household_code_constraint")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
