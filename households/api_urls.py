"""API routes of households and ten-household units (under /api/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("households/", api.HouseholdListApi.as_view(), name="household-list"),
    path(
        "ten-household-units/",
        api.TenHouseholdUnitApi.as_view(),
        name="ten-household-unit-list",
    ),
]
