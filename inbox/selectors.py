"""Reads of the inbox: a user's entries and their unread counts.

An entry is shown only while its subject is still the user's to see: the app that owns a
subject type (an incident, a ten-household unit) registers which of its subjects a user may
see (``register_subject_scope``, in its ``AppConfig.ready``), because the inbox lies below
those apps. So a handover (a leader's assignment ends today) takes the grid's entries out of
the old leader's inbox on the day, with no other step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet

from .models import Delivery, Notification, RecipientKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


# subject type -> user -> a queryset of the primary keys of the subjects the user may see.
SubjectScope = Callable[[Any], QuerySet[Any]]
_subject_scopes: dict[str, SubjectScope] = {}


def register_subject_scope(subject_type: str, scope: SubjectScope) -> None:
    """Make ``scope(user)`` (a ``values("pk")`` queryset) decide which entries of
    ``subject_type`` the user's inbox shows (the owning app, once)."""
    _subject_scopes[subject_type] = scope


# subject type -> subject id -> the plain text the outbound channels add to a message (an
# incident's description), asked for when a background send runs ("" when none).
SubjectDetail = Callable[[int], str]
_subject_details: dict[str, SubjectDetail] = {}


def register_subject_detail(subject_type: str, detail: SubjectDetail) -> None:
    """Make ``detail(subject_id)`` the text sent under a message about ``subject_type``."""
    _subject_details[subject_type] = detail


def subject_detail(subject_type: str, subject_id: int | None) -> str:
    detail = _subject_details.get(subject_type)
    if detail is None or subject_id is None:
        return ""
    return detail(subject_id)


def deliveries_about(subject_type: str, subject_id: int) -> QuerySet[Delivery]:
    """The delivery records of every entry about a subject, with their entry and worker,
    oldest entry first."""
    return (
        Delivery.objects.filter(
            notification__subject_type=subject_type, notification__subject_id=subject_id
        )
        .select_related("notification__worker")
        .order_by("notification__created_at", "notification_id", "channel")
    )


def inbox(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Notification]:
    """The entries of the user's worker whose subject they may still see, newest first (none
    for a user without a worker)."""
    if not user.is_authenticated:
        return Notification.objects.none()
    qs = Notification.objects.filter(worker__user=user)
    for subject_type, scope in _subject_scopes.items():
        qs = qs.exclude(Q(subject_type=subject_type) & ~Q(subject_id__in=scope(user)))
    return qs.order_by("-created_at", "-id")


def inbox_unread_counts(user: AbstractBaseUser | AnonymousUser) -> dict[str, int]:
    """Unread entries per kind and in total, in one query."""
    unread = Q(read_at__isnull=True)
    agg = inbox(user).aggregate(
        total=Count("id", filter=unread),
        **{k.value: Count("id", filter=unread & Q(kind=k.value)) for k in RecipientKind},
    )
    return {**{k.value: agg[k.value] for k in RecipientKind}, "total": agg["total"]}
