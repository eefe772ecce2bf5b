"""Pages of planning: mounted at the site root (the API lives in api_urls)."""

from django.urls import path

from . import views

urlpatterns = [
    path("plans/", views.PlanListView.as_view(), name="plans"),
    path("plans/<int:pk>/", views.PlanEditorView.as_view(), name="plan-editor"),
    path("plans/<int:pk>/compare/", views.PlanCompareView.as_view(), name="plan-compare"),
]
