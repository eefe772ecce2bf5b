"""API routes of the inbox, included under ``/api/`` by ``gridmap/urls.py``."""

from django.urls import path

from . import api

urlpatterns = [
    path("inbox/", api.InboxApi.as_view(), name="inbox"),
    path("inbox/read-all/", api.InboxReadAllApi.as_view(), name="inbox-read-all"),
    path("inbox/<int:pk>/read/", api.InboxReadApi.as_view(), name="inbox-read"),
]
