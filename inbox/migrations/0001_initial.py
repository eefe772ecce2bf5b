# Takes over ``incidents.Notification`` in the state only: the table ``incidents_notification``,
# its rows and its index stay as they are (see incidents.0007_move_notification_to_inbox).
# The subject is still the two foreign keys here; 0002_generic_subject makes it plain data.

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor, old="incidents", new="inbox"):
    """The model's content type moves too, so its permissions and admin log entries follow."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    if not types.filter(app_label=new, model="notification").exists():
        types.filter(app_label=old, model="notification").update(app_label=new)


def content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, old="inbox", new="incidents")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("grids", "0003_station_retired_on"),
        ("households", "0003_partymember_worker"),
        ("incidents", "0007_move_notification_to_inbox"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("routed", "routed to"), ("copied", "copied"), ("watching", "watching")], max_length=10, verbose_name="kind")),
                        ("message", models.JSONField(default=dict, verbose_name="message")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                        ("read_at", models.DateTimeField(blank=True, null=True, verbose_name="read at")),
                        ("incident", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="notifications", to="incidents.incident", verbose_name="incident")),
                        ("ten_household_unit", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="notifications", to="households.tenhouseholdunit", verbose_name="ten-household unit")),
                        ("worker", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="notifications", to="grids.worker", verbose_name="worker")),
                    ],
                    options={
                        "verbose_name": "notification",
                        "verbose_name_plural": "notifications",
                        "ordering": ["-created_at"],
                        "db_table": "incidents_notification",
                        "indexes": [
                            models.Index(condition=models.Q(("read_at__isnull", True)), fields=["worker", "created_at"], name="notification_unread"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, content_type_back),
    ]
