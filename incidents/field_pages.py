"""The other phone pages under the field page's scope, which its service worker serves like
``/field/`` (``incidents.views.service_worker``): network first, their last good copy offline,
their static files precached. Apps above incidents register theirs in ``AppConfig.ready()``
(presence: the day and the visit form); incidents does not know their routes. Likewise the
links of the field page's header to other apps' pages (``FIELD_LINKS``). No model is
imported here, so an app's ``apps.py`` may import it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldPage:
    """A page by its URL name, and its own static files."""

    url_name: str
    static: tuple[str, ...]


FIELD_PAGES: list[FieldPage] = []


def register_field_page(page: FieldPage) -> None:
    if page not in FIELD_PAGES:
        FIELD_PAGES.append(page)


@dataclass(frozen=True)
class FieldLink:
    """A link in the field page's header to a page of an app above incidents (servicedesk:
    take a service request in the field), by URL name, with its label and query."""

    url_name: str
    label: str
    query: str = ""
    # Whether the user is offered the link (None: everyone on the field page).
    shown_to: Callable[[Any], bool] | None = None


FIELD_LINKS: list[FieldLink] = []


def register_field_link(link: FieldLink) -> None:
    if link not in FIELD_LINKS:
        FIELD_LINKS.append(link)
