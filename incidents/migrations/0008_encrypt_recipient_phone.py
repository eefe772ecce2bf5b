"""The recipients' phone snapshots encrypted at rest, like the workers' (gridmap.crypto)."""

import gridmap.crypto
from django.db import migrations


def encrypt_existing(apps, schema_editor):
    gridmap.crypto.reencrypt(apps.get_model("incidents", "IncidentRecipient"), ["phone"])


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0007_move_notification_to_inbox'),
    ]

    operations = [
        migrations.AlterField(
            model_name='incidentrecipient',
            name='phone',
            field=gridmap.crypto.EncryptedCharField(blank=True, max_length=20, verbose_name='phone'),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=False),
    ]
