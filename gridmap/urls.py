from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from gridmap.auth import ObtainExpiringAuthToken

# Not found: JSON {"detail"} under /api/, Django's page elsewhere.
handler404 = "gridmap.views.not_found"

api_patterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("auth/token/", ObtainExpiringAuthToken.as_view(), name="api-token"),
    path("", include("grids.api_urls")),
    path("", include("households.api_urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/map/", permanent=False)),
    path("admin/", admin.site.urls),
    # Django's password change, which also lifts the first sign-in's forced change.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include(api_patterns)),
    path("api/", include("incidents.api_urls")),
    path("api/", include("inbox.urls")),
    path("api/", include("reports.api_urls")),
    path("", include("grids.urls")),
    path("", include("incidents.urls")),
    path("api/", include("coverage.api_urls")),
    path("", include("coverage.urls")),
    path("", include("incidents.case_urls")),
    path("", include("reports.urls")),
    path("", include("weekly.urls")),
    path("api/", include("planning.api_urls")),
    path("", include("planning.urls")),
    path("", include("privacy.urls")),
    path("", include("imports.urls")),
    path("api/", include("presence.api_urls")),
    path("", include("presence.urls")),
    path("", include("servicedesk.urls")),
    path("api/", include("servicedesk.api_urls")),
    path("", include("servicedesk.catalogue_urls")),
    path("", include("assessments.urls")),
    path("ogc/", include("ogcapi.urls")),
    # Open311 GeoReport v2 (client systems with an API key; open311/views.py).
    path("open311/v2/", include("open311.urls")),
    path("", include("tiles.urls")),
]
