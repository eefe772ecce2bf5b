"""Routes of coverage (api_urls): mounted under /api/."""

from django.urls import path

from . import api

urlpatterns = [
    path("coverage/", api.CoverageReportApi.as_view(), name="api-coverage"),
    path(
        "coverage/uncovered-households/",
        api.UncoveredHouseholdsApi.as_view(),
        name="api-coverage-uncovered-households",
    ),
    path(
        "coverage/uncovered-clusters/",
        api.UncoveredClustersApi.as_view(),
        name="api-coverage-uncovered-clusters",
    ),
]
