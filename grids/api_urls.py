"""API routes of places: the point lookup, a grid, the boundary layers (under /api/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("grids/at", api.GridAtPointApi.as_view(), name="grid-at"),
    path("grids/<str:code>/", api.GridDetailApi.as_view(), name="grid-detail"),
    path("layers/<str:level>/", api.LayerApi.as_view(), name="layer"),
]
