"""Pages of reports: the KPI dashboard and the public notice board (no login)."""

from django.urls import path

from . import kpi_views, public_views

urlpatterns = [
    path("dashboard/", kpi_views.DashboardView.as_view(), name="dashboard"),
    path("public/", public_views.public_index, name="public-index"),
    path(
        "public/villages/<str:village_code>/",
        public_views.public_notice,
        name="public-notice",
    ),
]
