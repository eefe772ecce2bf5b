"""Pages of visits and the diary (helper B's block), and of the household file and key
persons (helper C's block): each block kept together."""

from django.urls import path

from . import views_care, views_visits

# --- visits and the diary (presence.views_visits) -------------------------------------------
urlpatterns = [
    path("field/visit/", views_visits.VisitFormView.as_view(), name="field-visit"),
    path("diary/", views_visits.DiaryView.as_view(), name="diary"),
    path("visits/<int:pk>/photos/<int:photo>/", views_visits.visit_photo, name="visit-photo"),
]

# --- the household file and the household search (presence.views_care) ---------------------
urlpatterns += [
    path("households/", views_care.HouseholdSearchView.as_view(), name="household-search"),
    path("households/<str:key>/", views_care.HouseholdFileView.as_view(), name="household-file"),
]
