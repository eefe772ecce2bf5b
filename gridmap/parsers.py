"""JSON input with limits: the API's default JSON parser and ``loads`` for JSON sent as text.

Python's ``json`` module recurses once per level of nesting, so a body of 100,000 ``[``
exhausts the stack (a ``RecursionError``, a server error) before any view sees it. Nothing
the API accepts is nested more than a few levels (a GeoJSON polygon is four), so a document
nested deeper than ``settings.GRIDMAP_JSON_MAX_DEPTH`` levels (32 by default) is refused
before it is parsed: the nesting is measured by one linear scan of the text that skips
strings, so brackets inside text do not count.

A NUL character in a string (``"\\u0000"``) is refused too: PostgreSQL text and jsonb cannot
store one, and it is never meaningful here (``gridmap.middleware`` refuses it in URLs).

``JSONParser`` is ``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``'s JSON parser; a view that sets
its own ``parser_classes`` must use it too (tests/security/test_bad_input.py checks every
URL). ``loads`` is for JSON inside a form field (the ``feature`` of a multipart report, a case
action's ``data``); it raises ``ValueError`` as ``json.loads`` does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from gridmap.middleware import MSG_NUL_BYTE

MSG_TOO_DEEP = gettext_noop(
    "The JSON is nested more than %(max)s levels deep. Send a flatter document."
)
MSG_BAD_JSON = gettext_noop("The request body is not valid JSON: %(error)s")

# A string (its closing quote optional, so an unterminated one ends the scan instead of being
# retried from every later quote: the scan stays linear) or a bracket.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


class JSONRefused(ValueError):
    """JSON that is well formed but refused (too deep, a NUL); its text is the message."""


def json_depth(text: str, *, stop: int | None = None) -> int:
    """How deeply ``text``'s arrays and objects nest (0 for a scalar); the scan ends as soon
    as the depth passes ``stop``."""
    depth = deepest = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop is not None and deepest > stop:
                    break
        else:
            depth -= 1
    return deepest


def _has_nul(value: Any) -> bool:
    """A NUL in any string or key of a parsed document (not deeper than the limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(text: str | bytes, *, allow_nan: bool = False) -> Any:
    """``json.loads`` within the limits (see the module docstring). Raises ``JSONRefused``
    (a ``ValueError``) with the message for a document nested too deep or holding a NUL, and
    ``ValueError`` for text that is not JSON. NaN and Infinity are refused unless allowed."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    limit = settings.GRIDMAP_JSON_MAX_DEPTH
    if json_depth(text, stop=limit) > limit:
        raise JSONRefused(_(MSG_TOO_DEEP) % {"max": limit})
    value = json.loads(text, parse_constant=None if allow_nan else _refuse_constant)
    if _has_nul(value):
        raise JSONRefused(_(MSG_NUL_BYTE))
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser within the limits: 400 ``{"detail"}`` for a body nested too deep,
    holding a NUL, or not JSON at all."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads(stream.read().decode(encoding), allow_nan=not self.strict)
        except JSONRefused as exc:
            raise ParseError(str(exc)) from None
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(_(MSG_BAD_JSON) % {"error": exc}) from None
