"""The weekly two-down-two-up: its pages and its API."""

from django.urls import path

from . import api, views

urlpatterns = [
    path("weekly/", views.WeeklyHomeView.as_view(), name="weekly"),
    path("weekly/towns/<str:code>/", views.TownWeekView.as_view(), name="weekly-town"),
    path("weekly/villages/<str:code>/", views.VillageWeekView.as_view(), name="weekly-village"),
    path("weekly/stations/<str:code>/", views.StationWeekView.as_view(), name="weekly-station"),
    # The API (under /api/ like the others; mounted here with the pages).
    path("api/weekly/towns/<str:code>/", api.TownWeekApi.as_view(), name="weekly-town-api"),
    path(
        "api/weekly/towns/<str:code>/task-list/",
        api.TaskListPublishApi.as_view(),
        name="weekly-task-list-api",
    ),
    path(
        "api/weekly/villages/<str:code>/report/",
        api.VillageReportApi.as_view(),
        name="weekly-village-report-api",
    ),
    path(
        "api/weekly/stations/<str:code>/summary/",
        api.StationSummaryApi.as_view(),
        name="weekly-station-summary-api",
    ),
]
