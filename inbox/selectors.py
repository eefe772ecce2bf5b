"""Reads of the inbox: a user's entries and their unread counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from .models import Notification, RecipientKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def inbox(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Notification]:
    """The entries of the user's worker, newest first (none for a user without a worker)."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(worker__user=user).order_by("-created_at", "-id")


def inbox_unread_counts(user: AbstractBaseUser | AnonymousUser) -> dict[str, int]:
    """Unread entries per kind and in total, in one query."""
    unread = Q(read_at__isnull=True)
    agg = inbox(user).aggregate(
        total=Count("id", filter=unread),
        **{k.value: Count("id", filter=unread & Q(kind=k.value)) for k in RecipientKind},
    )
    return {**{k.value: agg[k.value] for k in RecipientKind}, "total": agg["total"]}
