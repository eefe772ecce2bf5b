"""Page routes of the grids app (the API lives under /api/, see gridmap/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("map/", views.MapView.as_view(), name="map"),
]
