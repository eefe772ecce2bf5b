"""The OpenAPI schema documents every answer an operation can give, errors included
(``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``).

drf-spectacular documents what a view's serializers and ``@extend_schema`` say: the success
body, and an error only where a view names one. The errors come from the kernel, the same for
every view, so they are documented here once, for every operation, with the one error body
``gridmap.api.exception_handler`` (and the kernel's middleware and ``handler404``) answers
with: ``{"detail": <a message for a person>, "errors": {<field>: [<messages>]}}``.

Which statuses an operation lists (``error_statuses``), and why it can answer each:

- 400, every operation: a NUL byte in the path or query string (``gridmap.middleware``),
  a malformed or too deeply nested JSON body (``gridmap.parsers``), invalid fields or query
  parameters (``gridmap.api``);
- 401, when the view's first authentication class asks for credentials in a
  ``WWW-Authenticate`` header; otherwise DRF answers a missing or bad login with
- 403, every operation that needs a login: no login, an expired token
  (``gridmap.authentication``), or a role that may not do this;
- 404, every operation: an id, a code or a page that does not exist or lies outside the
  user's jurisdiction (``handler404`` answers non-integer ids on ``/api/`` the same way);
- 415, every operation that takes a body: a content type none of its parsers reads;
- 429, the login endpoints guarded by django-axes (``gridmap.auth``: they name it
  themselves with ``@extend_schema``).

A status a view documents itself keeps its own schema, except a free-form object, which is
the error body (``409`` on case actions adds the case to it). ``tests/security/
test_schema_fuzz.py`` holds the answers to this document with schemathesis.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

ERROR_DESCRIPTIONS = {
    400: "Bad input: a malformed or too deeply nested body, a NUL byte, invalid fields or "
    "parameters. `detail` says what in the reader's language; `errors` lists it by field.",
    401: "Not signed in, or the credentials are wrong or have expired.",
    403: "Not signed in, the sign-in has expired, or the user's role may not do this.",
    404: "Nothing at this address: the id, code or page does not exist or lies outside the "
    "user's jurisdiction.",
    409: "Someone else changed it first: reload and try again.",
    413: "The upload is too large.",
    415: "The body's content type is not one this operation reads.",
    429: "Too many wrong passwords: this account or address is locked for a while.",
}

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# What drf-spectacular writes for ``OpenApiTypes.OBJECT``: a response named without a body.
FREE_FORM = {"type": "object", "additionalProperties": {}}


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer of the API."""

    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Messages by field (`non_field_errors` for the request as a whole).",
    )


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with the errors every operation can answer (module doc)."""

    def error_statuses(self) -> set[int]:
        statuses = {400, 404}
        permissions = self.view.get_permissions()
        if any(not isinstance(p, AllowAny) for p in permissions):
            statuses.add(403)
            if self.view.get_authenticate_header(self.view.request):
                statuses.add(401)
        if self.method in BODY_METHODS:
            statuses.add(415)
        return statuses

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: Any,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        responses = operation.setdefault("responses", {})
        documented = {int(code) for code in responses if str(code).isdigit()}
        for status in sorted(self.error_statuses() | {c for c in documented if c >= 400}):
            response = responses.setdefault(str(status), {})
            if not response.get("description"):
                response["description"] = ERROR_DESCRIPTIONS.get(status, "")
            content = response.setdefault("content", {})
            body = content.setdefault("application/json", {})
            if not body.get("schema") or body["schema"] == FREE_FORM:
                body["schema"] = error
        operation["responses"] = dict(sorted(responses.items()))
        return operation
