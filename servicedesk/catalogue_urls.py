"""The public service catalogue (no login): ``servicedesk.catalogue``."""

from django.urls import path

from . import catalogue

urlpatterns = [
    path(
        "public/<str:village_code>/services/",
        catalogue.public_catalogue,
        name="public-catalogue",
    ),
]
