"""The OGC API – Features endpoints (read-only). Views parse the parameters
(``ogcapi.params``), read through ``ogcapi.selectors`` and answer JSON in the OGC shapes;
every error is ``{"code", "description"}`` (the OGC exception) with its HTTP status.

Authentication is the rest of the API's (a session, or ``Authorization: Token <key>``), and
every endpoint needs it: even the collections' list and extents say where the viewer's area
lies. See docs/architecture.md, "OGC API – Features".
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework.exceptions import APIException
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from . import crs as crs_mod
from . import openapi, params, selectors
from .collections import COLLECTIONS, Collection
from .params import OgcError

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]

MSG_UNKNOWN_COLLECTION = gettext_noop("There is no collection %(id)s; see %(url)s.")
MSG_NO_FEATURE = gettext_noop("There is no feature %(id)s in %(collection)s within your area.")

# OGC exception codes by HTTP status (the description says what happened).
_CODES = {
    400: "InvalidParameterValue",
    401: "NotAuthenticated",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
}


class _AnyAccept(BaseContentNegotiation):
    """The OGC API answers JSON whatever ``Accept`` says (GDAL asks for geo+json)."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


def answer(
    body: Any, content_type: str = JSON, *, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    data = json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False)
    return HttpResponse(data, content_type=content_type, status=status, headers=headers)


def link(request: Request, href: str, rel: str, media: str, title: str = "") -> dict[str, str]:
    out = {"href": request.build_absolute_uri(href), "rel": rel, "type": media}
    if title:
        out["title"] = title
    return out


class OgcView(APIView):
    """The base of every endpoint: JSON whatever the ``Accept`` header, ``f`` checked, OGC
    exceptions. Left out of the project's API schema (``/api/schema/``): the OGC API
    describes itself at ``/ogc/api``."""

    schema = None
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _AnyAccept

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        params.format_param(request.query_params)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, OgcError):
            return Response({"code": exc.code, "description": exc.description}, status=exc.status)
        response = super().handle_exception(exc)
        if isinstance(exc, APIException):
            detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            response.data = {
                "code": _CODES.get(response.status_code, exc.default_code),
                "description": detail,
            }
        return response

    def collection(self, collection_id: str) -> Collection:
        found = COLLECTIONS.get(collection_id)
        if found is None:
            url = self.request.build_absolute_uri(reverse("ogc-collections"))
            raise OgcError(
                404, "NotFound", _(MSG_UNKNOWN_COLLECTION) % {"id": collection_id, "url": url}
            )
        return found


class LandingApi(OgcView):
    def get(self, request: Request) -> HttpResponse:
        return answer(
            {
                "title": _("gridmap: OGC API – Features"),
                "description": _(
                    "The layers of gridmap inside your area: boundaries, stations, service "
                    "centres, buildings, households and incidents."
                ),
                "links": [
                    link(request, reverse("ogc-landing"), "self", JSON, _("This document")),
                    link(
                        request,
                        reverse("ogc-openapi"),
                        "service-desc",
                        OPENAPI,
                        _("The API definition (OpenAPI 3.0)"),
                    ),
                    link(
                        request,
                        reverse("ogc-docs"),
                        "service-doc",
                        "text/html",
                        _("The API documentation"),
                    ),
                    link(
                        request,
                        reverse("ogc-conformance"),
                        "conformance",
                        JSON,
                        _("Conformance classes"),
                    ),
                    link(request, reverse("ogc-collections"), "data", JSON, _("Collections")),
                ],
            }
        )


class ConformanceApi(OgcView):
    def get(self, request: Request) -> HttpResponse:
        return answer({"conformsTo": CONFORMANCE})


class OpenApiDocument(OgcView):
    def get(self, request: Request) -> HttpResponse:
        return answer(openapi.document(request.build_absolute_uri(reverse("ogc-landing"))), OPENAPI)


def collection_body(request: Request, collection: Collection) -> dict[str, Any]:
    items = reverse("ogc-items", args=[collection.id])
    body: dict[str, Any] = {
        "id": collection.id,
        "title": str(collection.title),
        "description": str(collection.description),
        "itemType": "feature",
        "crs": list(crs_mod.SUPPORTED),
        "storageCrs": crs_mod.STORAGE.uri,
        "links": [
            link(request, reverse("ogc-collection", args=[collection.id]), "self", JSON),
            link(request, items, "items", GEOJSON, str(collection.title)),
        ],
    }
    box = selectors.extent(collection, request.user)
    if box is not None:
        body["extent"] = {"spatial": {"bbox": [box], "crs": crs_mod.CRS84}}
    return body


class CollectionsApi(OgcView):
    def get(self, request: Request) -> HttpResponse:
        return answer(
            {
                "links": [link(request, reverse("ogc-collections"), "self", JSON)],
                "crs": list(crs_mod.SUPPORTED),
                "collections": [collection_body(request, c) for c in COLLECTIONS.values()],
            }
        )


class CollectionApi(OgcView):
    def get(self, request: Request, collection_id: str) -> HttpResponse:
        return answer(collection_body(request, self.collection(collection_id)))


def _content_crs(crs: crs_mod.Crs) -> dict[str, str]:
    return {"Content-Crs": f"<{crs.uri}>"}


class ItemsApi(OgcView):
    """A page of features: ``limit``, ``bbox`` (+ ``bbox-crs``), ``crs``, ``datetime``
    (incidents), ``generation`` (boundaries), and the keyset cursors ``after``/``before``
    that the ``next``/``prev`` links carry."""

    def get(self, request: Request, collection_id: str) -> HttpResponse:
        collection = self.collection(collection_id)
        query = request.query_params
        limit = params.limit_param(query)
        out_crs = params.crs_param(query, "crs")
        bbox = params.bbox_param(query)
        box_srid = params.crs_param(query, "bbox-crs").srid
        cursor = params.cursor_param(query, collection)
        generation = params.generation_param(query, collection)
        interval = params.datetime_param(query, collection)
        qs = selectors.matching(
            collection,
            request.user,
            generation=generation,
            bbox=bbox,
            bbox_srid=box_srid,
            interval=interval,
        )
        found = selectors.page(
            collection, qs, cursor=cursor, limit=limit, crs=out_crs, user=request.user
        )
        url = request.build_absolute_uri()
        links = [{"href": url, "rel": "self", "type": GEOJSON}]
        if found.next_after is not None:
            href = replace_query_param(remove_query_param(url, "before"), "after", found.next_after)
            links.append({"href": href, "rel": "next", "type": GEOJSON})
        if found.prev_before is not None:
            href = replace_query_param(
                remove_query_param(url, "after"), "before", found.prev_before
            )
            links.append({"href": href, "rel": "prev", "type": GEOJSON})
        links.append(
            link(request, reverse("ogc-collection", args=[collection.id]), "collection", JSON)
        )
        body: dict[str, Any] = {
            "type": "FeatureCollection",
            "timeStamp": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        }
        if collection.count_matched:
            body["numberMatched"] = qs.count()
        body["numberReturned"] = len(found.features)
        body["links"] = links
        body["features"] = found.features
        return answer(body, GEOJSON, headers=_content_crs(out_crs))


class ItemApi(OgcView):
    def get(self, request: Request, collection_id: str, feature_id: str) -> HttpResponse:
        collection = self.collection(collection_id)
        query = request.query_params
        out_crs = params.crs_param(query, "crs")
        generation = params.generation_param(query, collection)
        key = params.key_of(feature_id, collection)
        rows = []
        if key is not None:
            qs = collection.rows(request.user, generation).filter(**{collection.key: key})
            rows = selectors.rows_of(collection, qs, out_crs, 1)
        if not rows:
            message = _(MSG_NO_FEATURE) % {"id": feature_id, "collection": collection.id}
            raise OgcError(404, "NotFound", message)
        feature = selectors.features(collection, rows, request.user)[0]
        feature["links"] = [
            {"href": request.build_absolute_uri(), "rel": "self", "type": GEOJSON},
            link(request, reverse("ogc-collection", args=[collection.id]), "collection", JSON),
        ]
        return answer(feature, GEOJSON, headers=_content_crs(out_crs))
