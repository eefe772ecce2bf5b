"""Page routes of the closed loop: the case page, the lists and the public notice board."""

from django.urls import path

from . import case_views, public_views

urlpatterns = [
    path("cases/<int:pk>/", case_views.CaseView.as_view(), name="case"),
    path("cases/<int:pk>/photos/<int:photo>/", case_views.case_photo, name="case-photo"),
    path(
        "cases/<int:pk>/attachments/<int:attachment>/",
        case_views.case_attachment,
        name="case-attachment",
    ),
    path("lists/", case_views.ListsView.as_view(), name="lists"),
    path("public/", public_views.public_index, name="public-index"),
    path(
        "public/villages/<str:village_code>/",
        public_views.public_notice,
        name="public-notice",
    ),
]
