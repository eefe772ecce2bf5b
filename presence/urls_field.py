"""Pages of the field area of presence: the day on the phone and the tracks map."""

from django.urls import path

from . import views_field

urlpatterns = [
    path("field/today/", views_field.FieldTodayView.as_view(), name="field-today"),
    path("patrols/", views_field.PatrolsView.as_view(), name="patrols"),
]
