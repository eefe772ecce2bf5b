"""The assessments' pages (考核评议)."""

from django.urls import path

from . import views

urlpatterns = [
    path("assessments/", views.cycle_list, name="assessments"),
    path("assessments/<int:pk>/", views.cycle_page, name="assessment-cycle"),
    path("assessments/<int:pk>/export.xlsx", views.cycle_export, name="assessment-export"),
    path("assessments/<int:pk>/<int:score>/", views.score_report, name="assessment-report"),
]
