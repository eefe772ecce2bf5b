"""Joins the care area's defaults (0002) and the presence rules' defaults (0003), both made
from 0001 in parallel (issue 14)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("presence", "0002_care_defaults"), ("presence", "0003_rules_defaults")]

    operations: list = []
