"""The default schemes (issue 15, data): Long'an's monthly assessment of village assistants,
Jian'an's quarterly assessment of grids and a monthly assessment of stations. Data like any
other: district administrators edit them (or make their district's own) in the admin."""

from decimal import Decimal

from django.db import migrations

SCHEMES = [
    {
        "name": "村级助理月考评",
        "level": "person",
        "role": "village_assistant",
        "kind": "monthly",
        "description": "隆安“一村一站一助理”：驻村天数、代办办结率和按时率、群众评价、"
        "党组织评价、党员干部评价（三评议）。",
        "indicators": [
            ("presence", "驻村天数（不少于20天）", "20", "min(100, days_present / 20 * 100)", 1),
            ("completion", "代办办结率", "20", "100 * service_completion_rate", 3),
            ("on_time", "代办按时办结率", "15", "100 * service_on_time_rate", 2),
            ("residents", "群众评价", "15", "(residents_rating - 1) / 4 * 100", 2),
            ("party_org", "党组织评价", "15", "party_org_score", 1),
            ("cadres", "党员干部评价", "15", "cadres_score", 1),
        ],
    },
    {
        "name": "网格工作季度考核",
        "level": "grid",
        "role": "",
        "kind": "quarterly",
        "description": "建安网格化服务管理季度考核：事件结案率、按期结案率、重点人员走访、巡查。",
        "indicators": [
            ("closure", "事件结案率", "30", "100 * case_closure_rate", 5),
            ("on_time", "按期结案率", "30", "100 * case_on_time_rate", 5),
            ("key_persons", "重点人员按时走访率", "20", "100 * key_person_visits", 1),
            ("patrol", "网格巡查（每季30公里）", "20", "min(100, patrol_km / 30 * 100)", 1),
        ],
    },
    {
        "name": "党建工作站月考评",
        "level": "station",
        "role": "",
        "kind": "monthly",
        "description": "工作站月考评：事件结案率、按期结案率、代办办结率、周报按时率、群众评价。",
        "indicators": [
            ("closure", "事件结案率", "25", "100 * case_closure_rate", 5),
            ("on_time", "按期结案率", "25", "100 * case_on_time_rate", 5),
            ("completion", "代办办结率", "20", "100 * service_completion_rate", 3),
            ("weekly", "周报按时率", "15", "100 * weekly_punctuality", 1),
            ("residents", "群众评价", "15", "(residents_rating - 1) / 4 * 100", 3),
        ],
    },
]


def load(apps, schema_editor):
    Scheme = apps.get_model("assessments", "Scheme")
    Indicator = apps.get_model("assessments", "Indicator")
    for data in SCHEMES:
        scheme, created = Scheme.objects.get_or_create(
            name=data["name"],
            district=None,
            defaults={
                "level": data["level"],
                "role": data["role"],
                "kind": data["kind"],
                "description": data["description"],
            },
        )
        if not created:
            continue
        for order, (key, name, weight, formula, min_samples) in enumerate(data["indicators"]):
            Indicator.objects.create(
                scheme=scheme, key=key, name=name, weight=Decimal(weight), formula=formula,
                min_samples=min_samples, order=order,
            )  # fmt: skip


def unload(apps, schema_editor):
    Scheme = apps.get_model("assessments", "Scheme")
    Scheme.objects.filter(
        name__in=[s["name"] for s in SCHEMES], district=None, cycles__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
