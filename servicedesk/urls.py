"""Pages of the service desk (代办): the desk, a request, its receipt; the resident's lookup
and status pages (no login)."""

from django.urls import path

from . import views, views_public

urlpatterns = [
    path("services/", views.DeskView.as_view(), name="services"),
    path("services/new/", views.NewRequestView.as_view(), name="service-new"),
    path("services/<int:pk>/", views.RequestView.as_view(), name="service-request"),
    path("services/<int:pk>/receipt.pdf", views.receipt_view, name="service-receipt"),
    path("service/", views_public.service_lookup, name="service-lookup"),
    path("service/<str:short_code>/", views_public.service_status, name="service-status"),
]
