"""``/tiles/<layer>/<z>/<x>/<y>.mvt``."""

from django.urls import path

from . import views

urlpatterns = [
    path("tiles/<str:layer>/<int:z>/<int:x>/<int:y>.mvt", views.tile_view, name="tile"),
]
