# The subject of an entry becomes plain data (subject_type, subject_id) with the link it opens,
# so the inbox depends on no app above it. Existing rows get them from their foreign keys,
# with the link ``incidents.channels.notification_path`` computed until now; then the foreign
# keys go. Reversible: going back restores the foreign keys from the subject.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat

INCIDENT, UNIT = "incident", "ten_household_unit"
# Where each subject was shown (incidents.channels.notification_path before this migration).
INCIDENT_LINK, UNIT_LINK, NO_SUBJECT_LINK = "/field/#incident-", "/map/#ten-household-unit-", "/field/"


def subject_from_foreign_keys(apps, schema_editor):
    Notification = apps.get_model("inbox", "Notification")
    db = schema_editor.connection.alias
    rows = Notification.objects.using(db)
    # An entry with both keys was about its incident (notification_path looked there first).
    rows.filter(incident__isnull=False).update(
        subject_type=INCIDENT,
        subject_id=F("incident_id"),
        link=Concat(Value(INCIDENT_LINK), Cast("incident_id", CharField())),
    )
    rows.filter(incident__isnull=True, ten_household_unit__isnull=False).update(
        subject_type=UNIT,
        subject_id=F("ten_household_unit_id"),
        link=Concat(Value(UNIT_LINK), Cast("ten_household_unit_id", CharField())),
    )
    rows.filter(incident__isnull=True, ten_household_unit__isnull=True).update(
        link=NO_SUBJECT_LINK
    )


def foreign_keys_from_subject(apps, schema_editor):
    Notification = apps.get_model("inbox", "Notification")
    Incident = apps.get_model("incidents", "Incident")
    TenHouseholdUnit = apps.get_model("households", "TenHouseholdUnit")
    db = schema_editor.connection.alias
    rows = Notification.objects.using(db)
    # Check the restored keys now, so no trigger event is pending at the next ALTER TABLE.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    rows.filter(
        subject_type=INCIDENT, subject_id__in=Incident.objects.using(db).values("pk")
    ).update(incident_id=F("subject_id"))
    rows.filter(
        subject_type=UNIT, subject_id__in=TenHouseholdUnit.objects.using(db).values("pk")
    ).update(ten_household_unit_id=F("subject_id"))
    schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0003_partymember_worker"),
        ("incidents", "0007_move_notification_to_inbox"),
        ("inbox", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="link",
            field=models.CharField(blank=True, max_length=200, verbose_name="link"),
        ),
        migrations.AddField(
            model_name="notification",
            name="subject_type",
            field=models.CharField(blank=True, max_length=30, verbose_name="subject type"),
        ),
        migrations.AddField(
            model_name="notification",
            name="subject_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="subject id"),
        ),
        migrations.RunPython(subject_from_foreign_keys, foreign_keys_from_subject),
        migrations.RemoveField(model_name="notification", name="incident"),
        migrations.RemoveField(model_name="notification", name="ten_household_unit"),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["subject_type", "subject_id"], name="notification_subject"),
        ),
    ]
