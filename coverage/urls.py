"""Page routes of coverage (the API lives in api_urls)."""

from django.urls import path

from . import views

urlpatterns = [
    path("coverage/", views.CoverageView.as_view(), name="coverage"),
    path("coverage/export.csv", views.CoverageCsvView.as_view(), name="coverage-export-csv"),
    path("coverage/export.pdf", views.CoveragePdfView.as_view(), name="coverage-export-pdf"),
    path(
        "coverage/households/",
        views.CoverageHouseholdsView.as_view(),
        name="coverage-households",
    ),
]
