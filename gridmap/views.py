"""Error pages of the whole site (the root URLconf's handlers).

``not_found`` (``handler404``): an address that matches no URL pattern, or a view's
``Http404``, under ``/api/`` is answered as the API answers every error, ``{"detail":
<message>}`` in JSON (a non-integer id, ``/api/incidents/abc/``, matches no pattern); pages
keep Django's HTML 404. With ``DEBUG`` on, Django shows its technical page instead.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views import defaults

from gridmap.middleware import error_response, is_api_path

MSG_NOT_FOUND = gettext_noop("There is nothing at this address. Check the link.")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_path(request):
        return defaults.page_not_found(request, exception)
    message = _(MSG_NOT_FOUND)
    # A view's own Http404 may say what is missing; the resolver's only lists patterns.
    if isinstance(exception, Http404) and not isinstance(exception, Resolver404):
        text = exception.args[0] if exception.args else None
        if isinstance(text, str) and text:
            message = text
    return error_response(request, message, status=404)
