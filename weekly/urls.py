"""Reporting pages: the KPI dashboard and the weekly two-down-two-up."""

from django.urls import path

from incidents import kpi_views

from . import views

urlpatterns = [
    path("dashboard/", kpi_views.DashboardView.as_view(), name="dashboard"),
    path("weekly/", views.WeeklyHomeView.as_view(), name="weekly"),
    path("weekly/towns/<str:code>/", views.TownWeekView.as_view(), name="weekly-town"),
    path("weekly/villages/<str:code>/", views.VillageWeekView.as_view(), name="weekly-village"),
    path("weekly/stations/<str:code>/", views.StationWeekView.as_view(), name="weekly-station"),
]
