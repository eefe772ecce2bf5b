"""API routes of reports (mounted under /api/): the case KPIs."""

from django.urls import path

from . import kpi_api

urlpatterns = [
    path("kpis/", kpi_api.KpiApi.as_view(), name="kpis"),
]
