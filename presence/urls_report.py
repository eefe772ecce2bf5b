"""Pages of the duty rosters (``/duty/``) and the presence report (``/presence/``)."""

from django.urls import path

from . import views_report

urlpatterns = [
    path("duty/", views_report.duty_roster, name="duty"),
    path("presence/", views_report.presence_report, name="presence-report"),
]
