from django.urls import path

from . import views

urlpatterns = [
    path("privacy/access-log/", views.access_log, name="access-log"),
]
