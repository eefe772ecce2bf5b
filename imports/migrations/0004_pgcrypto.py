"""pgcrypto, for a large import encrypted and hashed in the database (gridmap.crypto's
``fernet_body_sql``, ``fernet_token_sql``, ``keyed_hash_sql``). A trusted extension in
PostgreSQL 13+: the database's owner creates it without being a superuser."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("imports", "0003_service_items_kind")]
    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pgcrypto", "DROP EXTENSION IF EXISTS pgcrypto"
        )
    ]
