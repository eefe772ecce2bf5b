"""The OpenAPI 3.0 definition of the OGC API (the landing page's ``service-desc``), written
by hand: it describes the OGC shapes and parameters (``limit`` with its default and maximum),
which clients look for by name."""

from __future__ import annotations

from typing import Any

from . import crs as crs_mod
from .collections import COLLECTIONS
from .params import DEFAULT_LIMIT, MAX_LIMIT


def _param(
    name: str,
    where: str,
    schema: dict[str, Any],
    description: str,
    *,
    required: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": schema,
        "description": description,
        **extra,
    }


def _json(description: str, media: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "object"}}}}


EXCEPTION = _json("An OGC exception: {code, description}.")
CRS_SCHEMA = {"type": "string", "format": "uri", "enum": list(crs_mod.SUPPORTED)}

PARAMETERS: dict[str, dict[str, Any]] = {
    "collectionId": _param(
        "collectionId",
        "path",
        {"type": "string", "enum": list(COLLECTIONS)},
        "The collection.",
        required=True,
    ),
    "featureId": _param(
        "featureId",
        "path",
        {"type": "string"},
        "The feature id (a code or a number).",
        required=True,
    ),
    "limit": _param(
        "limit",
        "query",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "Features per page.",
        style="form",
        explode=False,
    ),
    "bbox": _param(
        "bbox",
        "query",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        "Lower corner, upper corner, in the axis order of bbox-crs (CRS84: lon,lat).",
        style="form",
        explode=False,
    ),
    "bbox-crs": _param(
        "bbox-crs",
        "query",
        CRS_SCHEMA,
        "The CRS of bbox (CRS84 by default).",
        style="form",
        explode=False,
    ),
    "crs": _param(
        "crs",
        "query",
        CRS_SCHEMA,
        "The CRS of the answer (CRS84 by default).",
        style="form",
        explode=False,
    ),
    "datetime": _param(
        "datetime",
        "query",
        {"type": "string"},
        "Incidents: reported at an instant, on a date, or in start/end (.. is open).",
    ),
    "after": _param("after", "query", {"type": "string"}, "Paging: features after this id."),
    "before": _param("before", "query", {"type": "string"}, "Paging: features before this id."),
    "generation": _param(
        "generation",
        "query",
        {"type": "integer"},
        "Boundary collections: an older boundary generation.",
    ),
    "f": _param("f", "query", {"type": "string", "enum": ["json"]}, "The format (JSON only)."),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _get(summary: str, op: str, params: list[str], ok: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "operationId": op,
            "parameters": [_ref(p) for p in [*params, "f"]],
            "responses": {
                "200": ok,
                "400": EXCEPTION,
                "401": EXCEPTION,
                "403": EXCEPTION,
                "404": EXCEPTION,
            },
        }
    }


def document(base_url: str) -> dict[str, Any]:
    """The definition, with ``base_url`` (the landing page's absolute URL) as its server."""
    geojson = "application/geo+json"
    return {
        "openapi": "3.0.2",
        "info": {"title": "gridmap OGC API – Features", "version": "1.0.0"},
        "servers": [{"url": base_url.rstrip("/")}],
        "components": {
            "parameters": PARAMETERS,
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "Token <key> (POST /api/auth/token/)",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
        },
        "security": [{"token": []}, {"session": []}],
        "paths": {
            "/": _get("Landing page", "getLandingPage", [], _json("The landing page.")),
            "/api": _get(
                "This definition",
                "getAPI",
                [],
                _json("OpenAPI 3.0.", "application/vnd.oai.openapi+json;version=3.0"),
            ),
            "/conformance": _get(
                "Conformance classes", "getConformance", [], _json("The conformance classes.")
            ),
            "/collections": _get("Collections", "getCollections", [], _json("The collections.")),
            "/collections/{collectionId}": _get(
                "One collection", "describeCollection", ["collectionId"], _json("A collection.")
            ),
            "/collections/{collectionId}/items": _get(
                "Features of a collection",
                "getFeatures",
                [
                    "collectionId",
                    "limit",
                    "bbox",
                    "bbox-crs",
                    "crs",
                    "datetime",
                    "after",
                    "before",
                    "generation",
                ],
                _json("A page of features (FeatureCollection).", geojson),
            ),
            "/collections/{collectionId}/items/{featureId}": _get(
                "One feature",
                "getFeature",
                ["collectionId", "featureId", "crs", "generation"],
                _json("A feature.", geojson),
            ),
        },
    }
