"""The resident's pages (no login): ``/service/`` asks for the lookup code printed on the
receipt, ``/service/<code>/`` shows the request's state without personal data
(``servicedesk.public``) and, once it is done, takes the resident's rating (a POST with the
CSRF token, answered by ``services.service_request_rate_public``).

Guessing codes: a code is long and random, and a client that looks up too many unknown codes
in a short time (``LOOKUP_MISSES`` in ``LOOKUP_WINDOW`` seconds, by address) is answered 429
until the window has passed; counted in the database, shared by every worker process
(``servicedesk.lookup_limit``).
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_http_methods

from cases.pages import CaseInputError, rating_data, validation_messages
from cases.workflow import ActionNotAllowed

from . import lookup_limit, public, services

MSG_UNKNOWN_CODE = gettext_noop(
    "There is no request with the code %(code)s. Check the code on your receipt and try again."
)
MSG_TOO_MANY = gettext_noop("Too many codes tried. Wait ten minutes, then try again.")
MSG_THANKS = gettext_noop("Thank you for your rating.")
TEMPLATE = "servicedesk/public_status.html"
LOOKUP_TEMPLATE = "servicedesk/public_lookup.html"


def _address(request: HttpRequest) -> str:
    # The visitor's address as the login lockout reads it (django-axes: behind the documented
    # proxy, the setting that names its header applies to both).
    return get_client_ip_address(request) or ""


def _unknown(request: HttpRequest, code: str) -> HttpResponse:
    """A code that is no request's: counted, and refused with 429 after too many misses from
    one address (a known code is always shown: residents sharing an address, behind one
    proxy or one village network, are never locked out of their own request)."""
    if lookup_limit.too_many(_address(request)):
        return render(
            request, LOOKUP_TEMPLATE, {"code": code, "error": gettext(MSG_TOO_MANY)}, status=429
        )
    lookup_limit.record_miss(_address(request))
    error = gettext(MSG_UNKNOWN_CODE) % {"code": code}
    return render(request, LOOKUP_TEMPLATE, {"code": code, "error": error}, status=404)


@require_http_methods(["GET"])
def service_lookup(request: HttpRequest) -> HttpResponse:
    """``/service/``: the form asking for the lookup code; ``?code=`` goes to its page."""
    code = (request.GET.get("code") or "").strip()
    if not code:
        return render(request, LOOKUP_TEMPLATE, {"code": "", "error": ""})
    shown = public.status_page(code)
    if shown is None:
        return _unknown(request, code)
    url = reverse("service-status", kwargs={"short_code": shown["short_code"]})
    return HttpResponseRedirect(url)


@require_http_methods(["GET", "POST"])
def service_status(request: HttpRequest, short_code: str) -> HttpResponse:
    """``/service/<code>/``: the request's state for the resident; POST: their rating."""
    shown = public.status_page(short_code)
    if shown is None:
        return _unknown(request, short_code)
    if request.method == "POST":
        return _rate(request, shown)
    return render(request, TEMPLATE, {"status": shown, "ratings": [5, 4, 3, 2, 1]})


def _rate(request: HttpRequest, shown: dict[str, Any]) -> HttpResponse:
    posted = {"rating": request.POST.get("rating", ""), "note": request.POST.get("note", "")}
    try:
        rating = rating_data(request.POST)["rating"]
        services.service_request_rate_public(
            short_code=shown["short_code"], rating=rating, comment=posted["note"]
        )
    except CaseInputError as exc:
        return _again(request, shown, posted, exc.message)
    except ActionNotAllowed as exc:
        return _again(request, shown, posted, exc.message, status=403)
    except ValidationError as exc:
        return _again(request, shown, posted, validation_messages(exc)[0])
    messages.success(request, gettext(MSG_THANKS))
    url = reverse("service-status", kwargs={"short_code": shown["short_code"]})
    return HttpResponseRedirect(url, status=303)


def _again(
    request: HttpRequest,
    shown: dict[str, Any],
    posted: dict[str, str],
    error: str,
    *,
    status: int = 400,
) -> HttpResponse:
    context = {"status": shown, "ratings": [5, 4, 3, 2, 1], "posted": posted, "error": error}
    return render(request, TEMPLATE, context, status=status)
