"""API routes of visits (helper B's block) and of the care area (helper C's block)."""

from django.urls import path

from . import api_care

urlpatterns: list = []

# --- care: the household file, search, the map's building households ------------------------
urlpatterns += [
    path(
        "households/search/",
        api_care.HouseholdSearchApi.as_view(),
        name="household-search-api",
    ),
    path(
        "households/<str:key>/file/",
        api_care.HouseholdFileApi.as_view(),
        name="household-file-api",
    ),
    path(
        "buildings/<int:pk>/households/",
        api_care.BuildingHouseholdsApi.as_view(),
        name="building-households",
    ),
]
