"""Project-wide API plumbing: the one exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``).

Its contract, for every API view:

- A Django ``ValidationError`` (what services raise, ``full_clean()`` included) is a 400
  ``{"detail": <its first message>, "errors": {field: [messages]}}``: ``message_dict`` gives
  the fields, a message without a field goes under ``non_field_errors`` (the HackSoft
  styleguide's conversion). Views let it propagate; they do not catch it.
- ``Invalid(errors)`` (and ``gridmap.params.InputSerializer``) raise the same body for bad
  input found in the view.
- Django's ``PermissionDenied`` and ``Http404`` become 403 and 404 ``{"detail": <message>}``,
  as DRF does.
- Any other DRF error whose body is a dict without ``detail`` (a serializer's field errors) is
  wrapped as ``{"detail": "The request has invalid fields.", "errors": <the body>}``, the
  message in the reader's language.

A view that reads fields from the body takes them through ``object_body(request)``: a JSON
list, string, number or ``null`` is refused with a 400 instead of failing on ``.get`` (or
acting with every default). Bodies nested too deep or holding a NUL never reach a view
(``gridmap.parsers``).
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from gridmap.middleware import MSG_NUL_BYTE

MSG_INVALID = gettext_noop("The request has invalid fields.")
MSG_BODY_NOT_OBJECT = gettext_noop("Send the fields as a JSON object.")


def error_dict(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ``ValidationError`` as ``{field: [messages]}`` (``non_field_errors`` when it
    names no field)."""
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def first_message(errors: Any) -> str | None:
    """The first message of a (possibly nested) error structure: the one a user reads first."""
    if isinstance(errors, dict):
        errors = list(errors.values())
    if isinstance(errors, list | tuple):
        for item in errors:
            found = first_message(item)
            if found is not None:
                return found
        return None
    return str(errors)


class Invalid(ValidationError):
    """Bad input: a 400 ``{"detail": <the first message>, "errors": errors}``; ``default``
    (in the reader's language) when ``errors`` holds no message."""

    def __init__(self, errors: dict[str, Any], *, default: str | None = None) -> None:
        detail = first_message(errors) or default or _(MSG_INVALID)
        super().__init__({"detail": detail, "errors": errors})
        self.errors = errors


def object_body(request: Request) -> Any:
    """The request's fields (a JSON object, or a form's fields); a 400 under
    ``non_field_errors`` when the body is a JSON list, string, number or ``null``, or when a
    form field holds a NUL (JSON with one never gets here: ``gridmap.parsers``)."""
    data = request.data
    if not hasattr(data, "get"):
        raise Invalid({"non_field_errors": [_(MSG_BODY_NOT_OBJECT)]})
    if hasattr(data, "lists"):  # a form: multipart or urlencoded
        for name, values in data.lists():
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise Invalid({name: [_(MSG_NUL_BYTE)]})
    return data


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, also for Django's ``ValidationError``; every error body carries a
    top-level human ``detail`` message (see the module docstring)."""
    if isinstance(exc, DjangoValidationError):
        exc = Invalid(error_dict(exc))
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": _(MSG_INVALID), "errors": response.data}
    return response


def page_links(request: Request, page: int, has_next: bool) -> dict[str, str | None]:
    """``next`` and ``previous`` of a page-numbered list (DRF's ``PageNumberPagination``
    shape): the request's URL with ``page`` replaced; page 1 without the parameter."""
    url = request.build_absolute_uri()
    previous = None
    if page > 1:
        previous = (
            replace_query_param(url, "page", page - 1)
            if page > 2
            else remove_query_param(url, "page")
        )
    return {
        "next": replace_query_param(url, "page", page + 1) if has_next else None,
        "previous": previous,
    }
