"""API routes of the field area of presence: sign-ins and patrol tracks."""

from django.urls import path

from . import api_field

urlpatterns = [
    path("presence/sign-ins/", api_field.SignInListApi.as_view(), name="presence-sign-ins"),
    path("patrols/", api_field.PatrolListApi.as_view(), name="patrol-list"),
    path("patrols/coverage/", api_field.PatrolCoverageApi.as_view(), name="patrol-coverage"),
    path("patrols/<int:pk>/", api_field.PatrolDetailApi.as_view(), name="patrol-detail"),
]
