"""Accounts: a login's role and jurisdiction.

A jurisdiction is a list of place codes. Codes nest (district 6 digits, town 9, village 12,
grid 15), so "inside my jurisdiction" is "code starts with one of my codes"; a station
jurisdiction stands for the villages of the station's current catchment. Codes are the stable
identity across boundary generations, so a jurisdiction survives a re-import.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AccountRole(models.TextChoices):
    GRID_WORKER = "grid_worker", _("grid worker")
    VILLAGE_STAFF = "village_staff", _("village staff")
    STATION_STAFF = "station_staff", _("station staff")
    TOWN_STAFF = "town_staff", _("street or town committee")
    PLANNER = "planner", _("planner")
    DISTRICT_ADMIN = "district_admin", _("district administrator")
    CITY_ADMIN = "city_admin", _("city administrator")


# Roles that see households' ID numbers and phone numbers: the people who visit them.
PERSONAL_DATA_ROLES = frozenset({AccountRole.GRID_WORKER, AccountRole.VILLAGE_STAFF})

# The jurisdiction level each role's codes must be at.
ROLE_LEVELS = {
    AccountRole.GRID_WORKER: "grid",
    AccountRole.VILLAGE_STAFF: "village",
    AccountRole.STATION_STAFF: "station",
    AccountRole.TOWN_STAFF: "town",
    AccountRole.PLANNER: "town",
    AccountRole.DISTRICT_ADMIN: "district",
    AccountRole.CITY_ADMIN: "city",
}
LEVEL_CODE_REGEX = {
    "grid": r"^\d{15}$",
    "village": r"^\d{12}$",
    "station": r"^\d{9}S\d{2}$",
    "town": r"^\d{9}$",
    "district": r"^\d{4}(0[1-9]|[1-9]\d)$",
    "city": r"^\d{4}00$",
}


class Account(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="account",
        verbose_name=_("login"),
    )
    role = models.CharField(_("role"), max_length=20, choices=AccountRole.choices)
    codes = ArrayField(
        models.CharField(max_length=15),
        verbose_name=_("jurisdiction"),
        help_text=_("Codes of the grids, village, station, town, district or city."),
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(condition=Q(codes__len__gte=1), name="account_has_jurisdiction"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in AccountRole]), name="account_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def level(self) -> str:
        return ROLE_LEVELS[AccountRole(self.role)]


# Rank: who may make whom. A user may create or change only accounts of a rank below their
# own, and only superusers make administrators (district or city): a district admin makes
# town-and-below accounts inside the district, never another admin, never their own.
ROLE_RANK = {
    AccountRole.GRID_WORKER: 0,
    AccountRole.VILLAGE_STAFF: 1,
    AccountRole.STATION_STAFF: 2,
    AccountRole.TOWN_STAFF: 3,
    AccountRole.PLANNER: 3,
    AccountRole.DISTRICT_ADMIN: 4,
    AccountRole.CITY_ADMIN: 5,
}
# Office roles without a place role: their accounts are explicit grants (made by someone above).
# Every other role's access follows the person's active role assignments (grids.RoleAssignment).
OFFICE_ROLES = frozenset({AccountRole.PLANNER, AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN})
ADMIN_ACCOUNT_ROLES = frozenset({AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN})


class PasswordChangeRequired(models.Model):
    """A login that must change its one-time password before anything else: pages redirect
    to the password change (``accounts.middleware.ForcePasswordChange``), API tokens are
    refused with a message (``accounts.authentication``). Deleted when the password is
    changed (``accounts.views.FirstPasswordChangeView``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="password_change_required",
        verbose_name=_("login"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("password change required")
        verbose_name_plural = _("password changes required")

    def __str__(self) -> str:
        return str(self.user)
