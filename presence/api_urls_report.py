"""API routes of the presence report (``/api/presence/``)."""

from django.urls import path

from . import api_report

urlpatterns = [
    path("presence/", api_report.PresenceReportApi.as_view(), name="api-presence-report"),
]
