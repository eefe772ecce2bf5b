"""Pages of incidents: the field page and its service worker (scope /field/), the to do."""

from django.urls import path

from . import todo_views, views

urlpatterns = [
    path("field/", views.FieldView.as_view(), name="field"),
    path("field/sw.js", views.service_worker, name="field-sw"),
    path("todo/", todo_views.TodoView.as_view(), name="todo"),
]
