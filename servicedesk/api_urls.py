"""API routes of service requests."""

from django.urls import path

from . import api

urlpatterns = [
    path("service-requests/", api.ServiceRequestListApi.as_view(), name="service-request-list"),
    path(
        "service-requests/<int:pk>/",
        api.ServiceRequestDetailApi.as_view(),
        name="service-request-detail",
    ),
    path(
        "service-requests/<int:pk>/actions/",
        api.ServiceRequestActionApi.as_view(),
        name="service-request-actions",
    ),
]
