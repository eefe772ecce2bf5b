"""The desk's places on lower apps' pages, registered from ``ServicedeskConfig.ready()``
(those apps do not know servicedesk): the household file's 代办记录 section (presence), the
link from a saved visit to a new request for its household (presence's visit form) and the
field page's link to a new request taken in the field (incidents)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from households.models import Household
from incidents.field_pages import FieldLink, register_field_link
from presence.care import household_key
from presence.household_file import register_file_section
from presence.views_visits import VisitLink, register_visit_link

from .models import Channel
from .selectors import local_date, requests_visible_to, takes_requests

SHOWN = 20


def household_section(user: Any, household: Household) -> dict[str, Any]:
    """The household's service requests the user may see, newest first, and the link to take
    a new one for it."""
    rows = (
        requests_visible_to(user)
        .filter(household=household)
        .select_related("item")
        .only("id", "status", "reported_at", "resolve_due_at", "short_code", "item__name")
        .order_by("-reported_at", "-id")[:SHOWN]
    )
    items = [
        {
            "text": f"{r.item.name} · {r.get_status_display()}",
            "url": reverse("service-request", kwargs={"pk": r.pk}),
            "meta": gettext("%(code)s · received %(on)s, promised by %(by)s")
            % {
                "code": r.short_code,
                "on": f"{local_date(r.reported_at):%Y-%m-%d}",
                "by": f"{local_date(r.resolve_due_at):%Y-%m-%d}",
            },
        }
        for r in rows
    ]
    query = urlencode({"household": household_key(household)})
    return {
        "key": "service_requests",
        "title": gettext("Service requests (代办记录)"),
        "items": items,
        "empty": gettext("No service request yet."),
        "link": {"url": reverse("service-new") + "?" + query, "text": gettext("New request")},
    }


def register() -> None:
    register_file_section(household_section)
    # Offered to those who take requests (grid leaders and members hand residents to them).
    register_visit_link(VisitLink("service-new", _("Proxy service (代办)"), takes_requests))
    register_field_link(
        FieldLink(
            "service-new",
            _("Proxy service (代办)"),
            "?" + urlencode({"channel": Channel.FIELD}),
            takes_requests,
        )
    )
