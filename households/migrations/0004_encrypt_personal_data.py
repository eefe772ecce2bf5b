"""ID numbers and phones encrypted at rest, keyed hashes for exact search; the ID-number
format moves from a CHECK constraint to the field's validator (gridmap.crypto)."""

import django.core.validators
import gridmap.crypto
from django.db import migrations


def encrypt_existing(apps, schema_editor):
    """The ID numbers and phones already stored, encrypted in place and hashed (row counts
    unchanged); again with the first key for values already encrypted."""
    gridmap.crypto.reencrypt(apps.get_model("households", "Household"), ["id_number", "phone"])


class Migration(migrations.Migration):

    dependencies = [
        ('households', '0003_partymember_worker'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='household',
            name='household_id_number_format',
        ),
        migrations.AddField(
            model_name='household',
            name='id_number_hash',
            field=gridmap.crypto.KeyedHashField(blank=True, db_index=True, editable=False, max_length=64, source='id_number'),
        ),
        migrations.AddField(
            model_name='household',
            name='phone_hash',
            field=gridmap.crypto.KeyedHashField(blank=True, db_index=True, editable=False, max_length=64, source='phone'),
        ),
        migrations.AlterField(
            model_name='household',
            name='id_number',
            field=gridmap.crypto.EncryptedCharField(blank=True, max_length=18, validators=[django.core.validators.RegexValidator('^\\d{17}[\\dX]$', 'An ID number is 17 digits and a final digit or X.')], verbose_name='ID number'),
        ),
        migrations.AlterField(
            model_name='household',
            name='phone',
            field=gridmap.crypto.EncryptedCharField(blank=True, max_length=20, verbose_name='phone'),
        ),
        # Not reversible to plain text on purpose: decrypting a whole table is not a migration.
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=False),
    ]
