"""API of visits (helper B's block) and of the household file and key persons (helper C's
block): each block kept together."""

from django.urls import path

from . import api_care, api_visits

# --- visits and the diary (presence.api_visits) ---------------------------------------------
urlpatterns = [
    path("visits/", api_visits.VisitListApi.as_view(), name="visit-list"),
    path(
        "visits/households/",
        api_visits.VisitHouseholdSearchApi.as_view(),
        name="visit-household-search",
    ),
    path("visits/<int:pk>/", api_visits.VisitDetailApi.as_view(), name="visit-detail"),
    path(
        "visits/<int:pk>/follow-up-done/",
        api_visits.VisitFollowUpDoneApi.as_view(),
        name="visit-follow-up-done",
    ),
]

# --- the household file, search, the map's building households (presence.api_care) --------
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
