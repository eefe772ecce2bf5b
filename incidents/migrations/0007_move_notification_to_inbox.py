# The inbox entries move to the ``inbox`` app without moving their table: the model leaves
# this app's state only, and ``inbox.0001_initial`` takes it over on ``incidents_notification``
# (SeparateDatabaseAndState, as Django's docs describe for moving a model between apps).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_incident_station"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Notification")],
            database_operations=[],
        ),
    ]
