from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.index, name="imports"),
    path("imports/templates/<str:kind>/", views.template, name="import-template"),
    path("imports/export/", views.export_download, name="import-export"),
    path("imports/<int:pk>/", views.job_page, name="import-job"),
    path("imports/<int:pk>/status/", views.job_status, name="import-job-status"),
    path("imports/<int:pk>/report/", views.job_report, name="import-job-report"),
    path("imports/<int:pk>/confirm/", views.job_confirm, name="import-job-confirm"),
    path("imports/<int:pk>/cancel/", views.job_cancel, name="import-job-cancel"),
]
