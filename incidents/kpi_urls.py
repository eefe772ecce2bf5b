"""API routes of the case KPIs (mounted under /api/)."""

from django.urls import path

from . import kpi_api

urlpatterns = [
    path("kpis/", kpi_api.KpiApi.as_view(), name="kpis"),
]
