"""Pages of field presence. Each area keeps its own URL module (one owner each)."""

from django.urls import include, path

urlpatterns = [
    path("", include("presence.urls_field")),  # /field/today/: sign-in, patrol, visit (phone)
    path("", include("presence.urls_visits")),  # diary, household file, key persons
    path("", include("presence.urls_report")),  # duty rosters, presence report
]
