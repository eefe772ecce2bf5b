"""Seed the standard categories and Xiangzhou's red / yellow / blue responders.

Blue reaches the grid leader, the party-building guide, the central household of the
ten-household unit and the village mediation director; yellow adds the village mediation
team; red goes to the town platform's dispatcher. (The guide is copied on every incident in
the grid by the router itself, whatever the category says.) Admins edit these as data.
"""

from django.db import migrations

CATEGORIES = [
    # code, zh, en, default severity
    ("dispute", "矛盾纠纷", "Dispute", "blue"),
    ("hazard", "安全隐患", "Safety hazard", "yellow"),
    ("service_request", "民生诉求", "Public-service request", "blue"),
    ("opinion", "社情民意", "Opinion", "blue"),
    ("environment", "环境卫生", "Environment", "blue"),
    ("other", "其他", "Other", "blue"),
]
BLUE = ["grid_leader", "party_guide", "central_household", "mediation_director"]
TIERS = {"blue": BLUE, "yellow": [*BLUE, "mediation_team"], "red": ["town_dispatcher"]}


def seed(apps, schema_editor):
    Category = apps.get_model("incidents", "Category")
    CategoryResponder = apps.get_model("incidents", "CategoryResponder")
    for order, (code, zh, en, severity) in enumerate(CATEGORIES):
        category, _ = Category.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": zh,
                "name_en": en,
                "default_severity": severity,
                "ordering": order,
            },
        )
        for tier, responders in TIERS.items():
            for responder in responders:
                CategoryResponder.objects.get_or_create(
                    category=category, severity=tier, responder=responder
                )


def unseed(apps, schema_editor):
    apps.get_model("incidents", "Category").objects.filter(
        code__in=[c[0] for c in CATEGORIES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
