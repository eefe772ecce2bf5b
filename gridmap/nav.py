"""The header's section links (``{% section_links %}`` in ``base.html``), written once per
language, script prefix, role and page rather than on every request.

The links are the same for everyone with the same role on the same page: rendered through
the template engine (``gridmap/_nav.html``) they cost ~2.5 ms of every page (a dozen URL
reversals, translations and role tests); kept, a page pays a dictionary lookup. Nothing in
them is the person's own (their name, the to-do badge and the forms with their CSRF token
stay in ``base.html``)."""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag(takes_context=True)
def section_links(context: template.Context) -> SafeString:
    """The section links for the signed-in person of ``context['request']``."""
    request = context["request"]
    user = request.user
    account = getattr(user, "account", None)
    match = request.resolver_match
    return _links(
        get_language(),
        get_script_prefix(),
        bool(user.is_superuser),
        account.role if account is not None else "",
        match.url_name if match is not None else None,
    )


@functools.lru_cache(maxsize=1024)
def _links(
    language: str | None, prefix: str, superuser: bool, role: str, here: str | None
) -> SafeString:
    # The language and the prefix are part of the key only: render_to_string uses the active
    # ones, which they are.
    context: dict[str, Any] = {"superuser": superuser, "role": role, "here": here}
    return mark_safe(render_to_string("gridmap/_nav.html", context))  # noqa: S308 (a template's output)
