"""Open311 answers as the specification shows them, in XML or JSON.

The same rows (lists of dicts) give both: JSON as they are, XML through
``xml.etree.ElementTree`` (the standard library: elements are built and serialised by it,
so every value is escaped; no string is ever concatenated with data). Lists inside a row
become a container element with one child per item (``attributes`` → ``attribute``);
datetimes are W3C (ISO 8601 with the offset, in the local time zone); booleans are
``true``/``false``; None is an empty element (and ``null`` in JSON).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from xml.etree import ElementTree as ET

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
# The element of each item of a list, by the list's name.
ITEM = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def w3c(value: dt.datetime) -> str:
    """A datetime in W3C format with its offset (local time), to the second."""
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def _plain(value: Any) -> Any:
    """``value`` with datetimes as W3C strings (for JSON)."""
    if isinstance(value, dt.datetime):
        return w3c(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return w3c(value)
    return str(value)


def _fill(element: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(element, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(child, key, item)
    elif isinstance(value, list):
        for item in value:
            _fill(child, ITEM[name], item)
    else:
        child.text = _text(value)


def xml_document(root: str, value: Any) -> bytes:
    """``value`` (a list of rows, or one dict) under the element ``root``."""
    element = ET.Element(root)
    if isinstance(value, list):
        for item in value:
            _fill(element, ITEM[root], item)
    else:
        for key, item in value.items():
            _fill(element, key, item)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def answer(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    """The answer in ``fmt`` (``xml`` or ``json``); ``root`` names the XML document."""
    if fmt == "xml":
        return HttpResponse(xml_document(root, value), content_type=XML_TYPE, status=status)
    body = json.dumps(_plain(value), cls=DjangoJSONEncoder, ensure_ascii=False)
    return HttpResponse(body, content_type=JSON_TYPE, status=status)


def errors(fmt: str, status: int, messages: list[str]) -> HttpResponse:
    """The specification's error list: ``code`` is the HTTP status."""
    rows = [{"code": status, "description": m} for m in messages]
    return answer(fmt, "errors", rows, status=status)
