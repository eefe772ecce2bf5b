"""Page routes of accounts, included under ``/accounts/`` before Django's auth routes."""

from django.urls import path

from .views import FirstPasswordChangeView

urlpatterns = [
    path("password_change/", FirstPasswordChangeView.as_view(), name="password_change"),
]
