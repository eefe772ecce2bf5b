"""The tile endpoint: parse, render in one statement, answer with an ETag.

Caching: a tile depends on who asks (their jurisdiction, and for incidents the cases they
reported), and the URL does not say who, so the answer is ``Cache-Control: private,
no-cache`` with ``Vary: Cookie, Authorization``: the browser keeps it and revalidates with
``If-None-Match``; a shared cache (nginx, a CDN) must not serve it to someone else. The
ETag is a hash of the tile's bytes, so it is exactly as scoped as the tile: two viewers
with the same scope get the same ETag, and any change of the data changes it. A 304 saves
the transfer and the client's decoding, not the statement (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from cases.models import Status

from .layers import LAYERS, MAX_ZOOM, Filters, in_range, render_tile

CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
MAX_DAYS = 3650

MSG_UNKNOWN_LAYER = gettext_noop("Unknown tile layer %(layer)s; choose one of: %(layers)s.")
MSG_OUT_OF_RANGE = gettext_noop(
    "There is no tile %(z)s/%(x)s/%(y)s: zoom runs from 0 to %(max)s, x and y from 0 to "
    "2 to the power of the zoom, minus 1."
)
MSG_DAYS = gettext_noop("days must be a whole number from 1 to %(max)s.")
MSG_STATUS = gettext_noop("Unknown state %(status)s; choose from: %(statuses)s.")
MSG_CATEGORY = gettext_noop("category must be a category code (letters, digits, - and _).")

_CATEGORY = re.compile(r"^[\w-]{1,50}$")


def parse_filters(params: Any) -> Filters:
    """The incident layer's ``category``, ``status`` (comma-separated) and ``days``; a 400
    with a message for anything else."""
    days = None
    raw = params.get("days", "")
    if raw != "":
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_DAYS:
            raise ValidationError({"days": [_(MSG_DAYS) % {"max": MAX_DAYS}]})
        days = int(raw)
    statuses = tuple(s for s in params.get("status", "").split(",") if s)
    for status in statuses:
        if status not in Status.values:
            raise ValidationError(
                {
                    "status": [
                        _(MSG_STATUS) % {"status": status, "statuses": ", ".join(Status.values)}
                    ]
                }
            )
    category = params.get("category") or None
    if category is not None and not _CATEGORY.match(category):
        raise ValidationError({"category": [_(MSG_CATEGORY)]})
    return Filters(category=category, statuses=statuses, days=days)


def etag_of(body: bytes) -> str:
    """A strong ETag of the tile's bytes."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags or "*" in tags


class TileView(APIView):
    """``GET /tiles/<layer>/<z>/<x>/<y>.mvt``: the layer's features in the tile that the
    viewer may see (session or token; no anonymous access). 204 when nothing is drawn."""

    schema = None  # binary tiles: documented in docs/architecture.md, not in the JSON API

    def get(self, request: Request, layer: str, z: int, x: int, y: int) -> HttpResponse:
        spec = LAYERS.get(layer)
        if spec is None:
            raise NotFound(
                _(MSG_UNKNOWN_LAYER) % {"layer": layer, "layers": ", ".join(sorted(LAYERS))}
            )
        if not in_range(z, x, y):
            raise ValidationError(
                {"tile": [_(MSG_OUT_OF_RANGE) % {"z": z, "x": x, "y": y, "max": MAX_ZOOM}]}
            )
        filters = parse_filters(request.query_params) if spec.takes_filters else None
        body = render_tile(spec, request.user, z, x, y, filters)
        etag = etag_of(body)
        if _matches(request.headers.get("If-None-Match", ""), etag):
            response = HttpResponse(status=304)
        elif not body:
            response = HttpResponse(status=204)
        else:
            response = HttpResponse(body, content_type=CONTENT_TYPE)
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Cookie, Authorization"
        return response


tile_view = TileView.as_view()
