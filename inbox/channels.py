"""Outbound notification channels.

A channel gets the inbox entries just created (after the transaction that created them has
committed) and delivers them elsewhere: email today, SMS or WeCom later. Channels are listed by
dotted path in ``settings.GRIDMAP_NOTIFICATION_CHANNELS``; ``inbox.services`` loads and calls
them, and logs (never raises) what a channel fails at.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mass_mail
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from gridmap.messages import render_message
from grids.models import Worker

if TYPE_CHECKING:
    from .models import Notification

logger = logging.getLogger(__name__)

MSG_EMAIL_SUBJECT = gettext_noop("[gridmap] %(message)s")
MSG_EMAIL_OPEN = gettext_noop("Open: %(url)s")
MSG_EMAIL_FOOTER = gettext_noop(
    "You receive this because you hold a role in this place on the grid-management platform."
)


class Channel:
    """Base class of an outbound channel: deliver the given inbox entries.

    Each entry has its ``message``, its ``link`` and a ``detail`` (plain text to add, maybe
    empty). ``send`` may raise; the caller logs the failure and goes on with the next channel.
    """

    def send(self, notifications: list[Notification]) -> None:
        raise NotImplementedError


def notification_url(notification: Notification) -> str:
    """The entry's link, absolute when ``settings.GRIDMAP_SITE_URL`` (optional, e.g.
    ``https://grid.example``) is set, otherwise a path."""
    base = getattr(settings, "GRIDMAP_SITE_URL", "").rstrip("/")
    return base + notification.link


class EmailChannel(Channel):
    """Email through Django's email backend, in the site's default language (zh-hans).

    One query for the recipients' addresses; workers without an email are skipped. All
    messages go out over one connection (``send_mass_mail``).
    """

    def send(self, notifications: list[Notification]) -> None:
        if not notifications:
            return
        emails = dict(
            Worker.objects.filter(pk__in={n.worker_id for n in notifications})
            .exclude(email="")
            .values_list("pk", "email")
        )
        messages = [
            (*self.render(n), settings.DEFAULT_FROM_EMAIL, [emails[n.worker_id]])
            for n in notifications
            if n.worker_id in emails
        ]
        if messages:
            send_mass_mail(messages, fail_silently=False)

    def render(self, notification: Notification) -> tuple[str, str]:
        """Subject and body in the default language, whatever language is active now."""
        with translation.override(settings.LANGUAGE_CODE):
            text = render_message(notification.message)
            subject = _(MSG_EMAIL_SUBJECT) % {"message": text}
            lines = [text, ""]
            if notification.detail:
                lines += [notification.detail, ""]
            lines += [_(MSG_EMAIL_OPEN) % {"url": notification_url(notification)}, ""]
            lines.append(_(MSG_EMAIL_FOOTER))
        # Header injection guard: a subject is one line.
        return " ".join(subject.split()), "\n".join(lines)
