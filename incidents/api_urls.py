"""API routes of incidents (owned by the routing work)."""

from django.urls import path

from . import api

urlpatterns = [
    path("incidents/", api.IncidentListApi.as_view(), name="incident-list"),
    path("incidents/duplicates/", api.IncidentDuplicatesApi.as_view(), name="incident-duplicates"),
    path("incidents/<int:pk>/", api.IncidentDetailApi.as_view(), name="incident-detail"),
    path("incident-categories/", api.CategoryListApi.as_view(), name="incident-category-list"),
]
