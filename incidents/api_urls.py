"""API routes of incidents: reports and their routing; cases and their actions."""

from django.urls import path

from . import api, case_api, todo_api

urlpatterns = [
    path("incidents/", api.IncidentListApi.as_view(), name="incident-list"),
    path("incidents/duplicates/", api.IncidentDuplicatesApi.as_view(), name="incident-duplicates"),
    path("incidents/<int:pk>/", api.IncidentDetailApi.as_view(), name="incident-detail"),
    path("incidents/<int:pk>/case/", case_api.CaseApi.as_view(), name="incident-case"),
    path("incidents/<int:pk>/actions/", case_api.CaseActionApi.as_view(), name="incident-actions"),
    path(
        "incidents/<int:pk>/public-text/",
        case_api.PublicTextApi.as_view(),
        name="incident-public-text",
    ),
    path("todo/", todo_api.TodoApi.as_view(), name="todo-api"),
    path("incident-categories/", api.CategoryListApi.as_view(), name="incident-category-list"),
]
