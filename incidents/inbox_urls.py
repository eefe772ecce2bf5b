"""API routes of the inbox and ten-household units (owned by the notifications work).

Included under ``/api/`` by ``gridmap/urls.py``.
"""

from django.urls import path

from households import api as households_api

from . import inbox_api

urlpatterns = [
    path("inbox/", inbox_api.InboxApi.as_view(), name="inbox"),
    path("inbox/read-all/", inbox_api.InboxReadAllApi.as_view(), name="inbox-read-all"),
    path("inbox/<int:pk>/read/", inbox_api.InboxReadApi.as_view(), name="inbox-read"),
    path(
        "ten-household-units/",
        households_api.TenHouseholdUnitApi.as_view(),
        name="ten-household-unit-list",
    ),
]
