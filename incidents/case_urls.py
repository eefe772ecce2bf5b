"""Page routes of the closed loop: the case page and the lists."""

from django.urls import path

from . import case_views

urlpatterns = [
    path("cases/<int:pk>/", case_views.CaseView.as_view(), name="case"),
    path("cases/<int:pk>/photos/<int:photo>/", case_views.case_photo, name="case-photo"),
    path(
        "cases/<int:pk>/attachments/<int:attachment>/",
        case_views.case_attachment,
        name="case-attachment",
    ),
    path("lists/", case_views.ListsView.as_view(), name="lists"),
]
