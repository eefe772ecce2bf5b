"""Routes of planning (api_urls): mounted under /api/."""

from django.urls import path

from . import api, catchments_api

plan = "plans/<int:pk>/"
station = plan + "stations/<str:code>/"

urlpatterns = [
    path("catchments/", catchments_api.CatchmentsApi.as_view(), name="api-catchments"),
    path("plans/", api.PlanListApi.as_view(), name="api-plan-list"),
    path(plan, api.PlanDetailApi.as_view(), name="api-plan-detail"),
    path(plan + "villages/", api.PlanVillagesApi.as_view(), name="api-plan-villages"),
    path(plan + "assign/", api.PlanAssignApi.as_view(), name="api-plan-assign"),
    path(plan + "undo/", api.PlanUndoApi.as_view(), name="api-plan-undo"),
    path(plan + "redo/", api.PlanRedoApi.as_view(), name="api-plan-redo"),
    path(plan + "stations/", api.PlanStationAddApi.as_view(), name="api-plan-station-add"),
    path(station + "move/", api.PlanStationMoveApi.as_view(), name="api-plan-station-move"),
    path(station + "retire/", api.PlanStationRetireApi.as_view(), name="api-plan-station-retire"),
    path(station + "lock/", api.PlanStationLockApi.as_view(), name="api-plan-station-lock"),
    path(plan + "solve/", api.PlanSolveApi.as_view(), name="api-plan-solve"),
    path(plan + "publish/", api.PlanPublishApi.as_view(), name="api-plan-publish"),
    path(plan + "export.csv", api.PlanExportCsvApi.as_view(), name="api-plan-export-csv"),
    path(plan + "import/", api.PlanImportCsvApi.as_view(), name="api-plan-import-csv"),
    path(plan + "catchments.geojson", api.PlanCatchmentsApi.as_view(), name="api-plan-catchments"),
    path(plan + "diff/", api.PlanDiffApi.as_view(), name="api-plan-diff"),
]
