"""Workers' phones encrypted at rest (gridmap.crypto): a central household's worker carries
its household's phone."""

import gridmap.crypto
from django.db import migrations


def encrypt_existing(apps, schema_editor):
    gridmap.crypto.reencrypt(apps.get_model("grids", "Worker"), ["phone"])


class Migration(migrations.Migration):

    dependencies = [
        ('grids', '0003_station_retired_on'),
    ]

    operations = [
        migrations.AlterField(
            model_name='worker',
            name='phone',
            field=gridmap.crypto.EncryptedCharField(blank=True, max_length=20, verbose_name='phone'),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=False),
    ]
