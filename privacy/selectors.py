"""Reads of the personal-data access log: who may read it, and the rows they may read."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AccountRole
from accounts.selectors import User, granted_account, scope_q

from .models import AccessLogEntry

# Who reads the log: the district's administrators (their district), superusers (all). A city
# administrator reads the log of the districts of their city.
LOG_READER_ROLES = frozenset({AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN})


def can_read_access_log(user: User) -> bool:
    if user.is_authenticated and user.is_superuser:
        return True
    account = granted_account(user)
    return account is not None and account.role in LOG_READER_ROLES


def access_log_visible_to(user: User) -> QuerySet[AccessLogEntry]:
    """The log rows of the user's jurisdiction (by the records' district), newest first."""
    if not can_read_access_log(user):
        return AccessLogEntry.objects.none()
    qs = AccessLogEntry.objects.all()
    scope = scope_q(user, "district_code")
    return qs if scope is None else qs.filter(scope)


def access_log_filtered(
    qs: QuerySet[AccessLogEntry],
    *,
    login: str = "",
    since: date | None = None,
    until: date | None = None,
    record_type: str = "",
    record_id: int | None = None,
) -> QuerySet[AccessLogEntry]:
    """Rows of one login, between two days (both included, local time), about one record."""
    if login:
        qs = qs.filter(username=login)
    if since:
        qs = qs.filter(at__gte=timezone.make_aware(datetime.combine(since, time.min)))
    if until:
        day_after = datetime.combine(until + timedelta(days=1), time.min)
        qs = qs.filter(at__lt=timezone.make_aware(day_after))
    if record_type and record_id:
        qs = qs.filter(records__contains=[f"{record_type}:{record_id}"])
    return qs
