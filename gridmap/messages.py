"""Stored messages, rendered in the reader's language: the one rule.

A message is stored as ``{"msgid": ..., "params": {...}}`` (an inbox entry, a ten-household
unit's warning, one part of a routing explanation) and rendered when read, so one entry reads
in Chinese for one worker and in English for another. The msgid is the English text, marked
with ``gettext_noop`` where it is defined so ``makemessages`` finds it.

A parameter is a plain value, a nested message (``{"msgid": "yellow"}``: a severity or role
label, itself rendered) or a value per language (``{"zh-hans": "矛盾纠纷", "en": "dispute"}``:
a category name kept in the data). A translation that lost a placeholder falls back to the
English msgid rather than breaking the page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, gettext, gettext_noop

logger = logging.getLogger(__name__)

# How the parts of a list (a routing explanation) make one sentence.
PARTS_JOINER = gettext_noop("; ")
PARTS_SENTENCE = gettext_noop("%(parts)s.")


def render_param(value: Any) -> Any:
    """One parameter of a message in the active language (see the module docstring)."""
    if isinstance(value, dict):
        if "msgid" in value:
            return render_message(value)
        lang = get_language() or settings.LANGUAGE_CODE
        if lang in value:
            return value[lang]
        short = lang.split("-")[0]
        for key, text in value.items():
            if key.split("-")[0] == short:
                return text
        return value.get("en", next(iter(value.values()), ""))
    return value


def render_message(message: dict[str, Any]) -> str:
    """A stored ``{"msgid", "params"}`` message in the active language ("" without a msgid)."""
    msgid = message.get("msgid", "")
    if not msgid:
        return ""
    params = message.get("params") or {}
    text = gettext(msgid)
    if not params:
        return text
    rendered = {k: render_param(v) for k, v in params.items()}
    try:
        return text % rendered
    except (KeyError, TypeError, ValueError):
        # A translation that lost a placeholder must not break the page.
        logger.warning("Cannot render message %r", message)
        return msgid % rendered


def render_messages(messages: Iterable[dict[str, Any]] | None) -> list[str]:
    """Each stored message in the active language (a unit's warnings, say)."""
    return [render_message(m) for m in messages or []]


def render_parts(parts: Iterable[dict[str, Any]] | None) -> str:
    """Stored messages as one sentence in the active language ("" for none): the parts joined
    by ``PARTS_JOINER`` and closed by ``PARTS_SENTENCE`` (a routing explanation)."""
    rendered = render_messages(parts)
    if not rendered:
        return ""
    return gettext(PARTS_SENTENCE) % {"parts": gettext(PARTS_JOINER).join(rendered)}
