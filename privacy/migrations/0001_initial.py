"""The personal-data access log, append-only: a trigger refuses UPDATE and DELETE."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='AccessLogEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='when')),
                ('user_id', models.IntegerField(null=True, verbose_name='login id')),
                ('username', models.CharField(max_length=150, verbose_name='login')),
                ('method', models.CharField(max_length=10, verbose_name='method')),
                ('path', models.CharField(max_length=500, verbose_name='page or endpoint')),
                ('district_code', models.CharField(blank=True, db_index=True, max_length=6, verbose_name='district')),
                ('fields', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=20), size=None, verbose_name='fields')),
                ('records', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=40), size=None, verbose_name='records')),
            ],
            options={
                'verbose_name': 'personal-data access',
                'verbose_name_plural': 'personal-data access log',
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.RunSQL(
            sql="""
CREATE FUNCTION privacy_accesslogentry_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the personal-data access log is append-only (% refused)', TG_OP;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER privacy_accesslogentry_append_only
  BEFORE UPDATE OR DELETE ON privacy_accesslogentry
  FOR EACH ROW EXECUTE FUNCTION privacy_accesslogentry_append_only();
""",
            reverse_sql="""
DROP TRIGGER privacy_accesslogentry_append_only ON privacy_accesslogentry;
DROP FUNCTION privacy_accesslogentry_append_only();
""",
        ),
    ]
