"""API of field presence, mounted under /api/. Each area keeps its own URL module."""

from django.urls import include, path

urlpatterns = [
    path("", include("presence.api_urls_field")),  # sign-ins, patrols
    path("", include("presence.api_urls_visits")),  # visits, household file, key persons
    path("", include("presence.api_urls_report")),  # duty, presence report
]
