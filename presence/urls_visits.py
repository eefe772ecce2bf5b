"""Pages of visits and the diary (helper B's block) and of the care area (helper C's block)."""

from django.urls import path

from . import views_care

urlpatterns: list = []

# --- care: the household file and the household search --------------------------------------
urlpatterns += [
    path("households/", views_care.HouseholdSearchView.as_view(), name="household-search"),
    path("households/<str:key>/", views_care.HouseholdFileView.as_view(), name="household-file"),
]
