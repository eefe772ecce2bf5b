"""Pages of incidents: the field page and its service worker (scope /field/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("field/", views.FieldView.as_view(), name="field"),
    path("field/sw.js", views.service_worker, name="field-sw"),
]
