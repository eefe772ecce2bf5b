"""``/ogc/``: OGC API – Features (the prefix QGIS and GDAL are given)."""

from django.urls import path
from drf_spectacular.views import SpectacularSwaggerSplitView

from . import views

urlpatterns = [
    path("", views.LandingApi.as_view(), name="ogc-landing"),
    path("api", views.OpenApiDocument.as_view(), name="ogc-openapi"),
    path("api.html", SpectacularSwaggerSplitView.as_view(url_name="ogc-openapi"), name="ogc-docs"),
    path("conformance", views.ConformanceApi.as_view(), name="ogc-conformance"),
    path("collections", views.CollectionsApi.as_view(), name="ogc-collections"),
    path("collections/<str:collection_id>", views.CollectionApi.as_view(), name="ogc-collection"),
    path("collections/<str:collection_id>/items", views.ItemsApi.as_view(), name="ogc-items"),
    path(
        "collections/<str:collection_id>/items/<str:feature_id>",
        views.ItemApi.as_view(),
        name="ogc-item",
    ),
]
