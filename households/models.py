"""Households, party members, central households and ten-household units.

A household's grid is derived from its location (``households.services.households_assign_grids``),
never typed in. Personal fields (ID number, phone) are shown only to roles that need them
(``accounts.selectors.can_see_personal_data``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db.models import Q, Value
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from gridmap.crypto import EncryptedCharField, KeyedHashField
from grids.models import Building, Grid, Village, Worker

SRID = settings.GRIDMAP_SRID
# A resident identity card number: 17 digits and a check digit or X (GB 11643). Checked before
# encryption (the column holds a token, which a CHECK constraint cannot read).
ID_NUMBER_RE = r"^\d{17}[\dX]$"
MSG_ID_NUMBER_FORMAT = gettext_noop("An ID number is 17 digits and a final digit or X.")


class Tag(models.TextChoices):
    LEFT_BEHIND_ELDERLY = "left_behind_elderly", _("left-behind elderly")
    LEFT_BEHIND_CHILD = "left_behind_child", _("left-behind child")
    LOW_INCOME = "low_income", _("low-income (dibao)")
    SPECIAL_HARDSHIP = "special_hardship", _("special hardship")
    DISABILITY = "disability", _("person with disability")
    MILITARY_FAMILY = "military_family", _("military or veteran family")


class TenHouseholdUnit(models.Model):
    """Ten-household unit (十户联防): about ten neighbouring households with a head household."""

    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey(
        Grid,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ten_household_units",
        verbose_name=_("grid"),
        help_text=_("Derived from the head household's location."),
    )
    head_household = models.OneToOneField(
        "Household",
        on_delete=models.PROTECT,
        related_name="headed_unit",
        verbose_name=_("head household"),
    )
    central_household = models.ForeignKey(
        "CentralHousehold",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="units",
        verbose_name=_("central household"),
    )
    geom = models.PolygonField(
        _("area"),
        srid=SRID,
        null=True,
        blank=True,
        help_text=_("Drawn around the member households; recomputed when members change."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # Saved-with-warning conditions (size outside 8-15, spanning two grids), as
    # {"msgid": ..., "params": {...}} entries rendered in the reader's language.
    warnings = models.JSONField(
        _("warnings"),
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
    )

    class Meta:
        verbose_name = _("ten-household unit")
        verbose_name_plural = _("ten-household units")
        constraints = [
            models.CheckConstraint(
                condition=Q(geom__isnull=True) | Q(geom__isvalid=True), name="unit_geom_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    """A dwelling unit (户) at an address."""

    # The county's household number (户编号), the stable key of its records (imports); empty
    # for a household entered here and never imported.
    # (Unique by a constraint, not ``unique=True``: Django would add a second, LIKE index that
    # every insert of a county's import maintains and no lookup uses.)
    code = models.CharField(_("household number"), max_length=40, null=True, blank=True)
    address = models.CharField(_("address"), max_length=200)
    location = models.PointField(_("location"), srid=SRID)
    building = models.ForeignKey(
        Building,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="households",
        verbose_name=_("building"),
    )
    grid = models.ForeignKey(
        Grid,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="households",
        verbose_name=_("grid"),
        help_text=_("Derived from the location."),
    )
    size = models.PositiveSmallIntegerField(_("members"), default=1)
    tags = ArrayField(
        models.CharField(max_length=30, choices=Tag.choices),
        default=list,
        blank=True,
        verbose_name=_("tags"),
    )
    head_name = models.CharField(_("head of household"), max_length=50)
    # Personal data: only roles in accounts.PERSONAL_DATA_ROLES see these (through
    # gridmap.personal_data.show). Encrypted at rest; the keyed hashes serve exact search
    # (``households.selectors.households_by_number``), see gridmap.crypto.
    id_number = EncryptedCharField(
        _("ID number"),
        max_length=18,
        blank=True,
        validators=[RegexValidator(ID_NUMBER_RE, _(MSG_ID_NUMBER_FORMAT))],
    )
    phone = EncryptedCharField(_("phone"), max_length=20, blank=True)
    id_number_hash = KeyedHashField(source="id_number")
    phone_hash = KeyedHashField(source="phone")
    ten_household_unit = models.ForeignKey(
        TenHouseholdUnit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("ten-household unit"),
    )

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(fields=["code"], name="household_code_unique"),
            models.CheckConstraint(
                condition=Q(size__gte=1, size__lte=30), name="household_size_range"
            ),
            models.CheckConstraint(
                condition=Q(tags__contained_by=[t.value for t in Tag]), name="household_tags_known"
            ),
        ]

    def __str__(self) -> str:
        return self.address


class PartyBranch(models.Model):
    """Party branch (支部) of a village or community."""

    # The county's code for the branch, the stable key of its records (imports).
    code = models.CharField(_("code"), max_length=40, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=100)
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, related_name="party_branches", verbose_name=_("village")
    )

    class Meta:
        verbose_name = _("party branch")
        verbose_name_plural = _("party branches")

    def __str__(self) -> str:
        return self.name


class PartyMember(models.Model):
    name = models.CharField(_("name"), max_length=50)
    branch = models.ForeignKey(
        PartyBranch, on_delete=models.PROTECT, related_name="members", verbose_name=_("branch")
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        related_name="party_members",
        verbose_name=_("household"),
    )
    joined_on = models.DateField(_("joined on"), null=True, blank=True)
    # The member as a person of the governance network, when they are one: a central
    # household is notified of incidents through its party member's worker record.
    worker = models.OneToOneField(
        Worker,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="party_member",
        verbose_name=_("worker"),
    )

    class Meta:
        verbose_name = _("party member")
        verbose_name_plural = _("party members")

    def __str__(self) -> str:
        return self.name


class CentralHousehold(models.Model):
    """Party-member central household (党员中心户) serving its neighbours."""

    household = models.OneToOneField(
        Household,
        on_delete=models.PROTECT,
        related_name="central_household",
        verbose_name=_("household"),
    )
    party_member = models.ForeignKey(
        PartyMember,
        on_delete=models.PROTECT,
        related_name="central_households",
        verbose_name=_("party member"),
    )
    designated_on = models.DateField(_("designated on"))

    class Meta:
        verbose_name = _("central household")
        verbose_name_plural = _("central households")

    def __str__(self) -> str:
        return f"{self.party_member} · {self.household}"
