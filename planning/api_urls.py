"""Routes of planning (api_urls): mounted under /api/."""

from django.urls import path

from . import catchments_api

urlpatterns = [
    path("catchments/", catchments_api.CatchmentsApi.as_view(), name="api-catchments"),
]
