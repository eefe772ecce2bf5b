from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """KPIs (the dashboard and ``GET /api/kpis/``) and the public notice board: reads over
    the cases of every kind. No models of its own."""

    name = "reports"
