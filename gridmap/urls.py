from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from grids import api as grids_api
from households import api as households_api

api_patterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("grids/at", grids_api.GridAtPointApi.as_view(), name="grid-at"),
    path("grids/<str:code>/", grids_api.GridDetailApi.as_view(), name="grid-detail"),
    path("layers/<str:level>/", grids_api.LayerApi.as_view(), name="layer"),
    path("households/", households_api.HouseholdListApi.as_view(), name="household-list"),
    path(
        "ten-household-units/",
        households_api.TenHouseholdUnitApi.as_view(),
        name="ten-household-unit-list",
    ),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/map/", permanent=False)),
    path("admin/", admin.site.urls),
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
]
