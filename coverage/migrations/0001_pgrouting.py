"""pgRouting, for walking distances along the road network (15-minute service circle)."""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pgrouting", "DROP EXTENSION IF EXISTS pgrouting"
        )
    ]
