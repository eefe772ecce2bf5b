"""The desk's forms: a new service request (新办件) and the filters of the list.

The new request's form resolves what the user typed into rows the user may reach (the
household by its file key inside their jurisdiction, the village among theirs, the visit
among those they may see, an active item of their district); everything else (who may take
a request for the village, the item's district, the applicant's phone) is checked by
``services.service_request_create``, whose messages come back keyed by field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.selectors import jurisdiction_prefixes, scope_q
from gridmap.codes import overlaps
from gridmap.params import id_of
from grids.models import District, Village
from households.models import Household
from presence.household_file import household_for
from presence.models import Visit
from presence.visits import visits_visible_to

from .catalogue import district_items
from .kind import promise_for
from .models import Channel, ServiceItem, ServiceKind, ServiceStatus
from .selectors import local_date

MSG_NO_HOUSEHOLD = _("No household of your area has this number.")
MSG_HOUSEHOLD_OR_VILLAGE = _("Choose the household, or at least the village.")
MSG_NO_VISIT = _("No visit of yours has this number.")


def villages_for(user: Any) -> QuerySet[Village]:
    """The current villages of the user's jurisdiction, by name."""
    qs = Village.objects.current().select_related("town").order_by("town__name", "name")
    scope = scope_q(user, "code")
    return qs if scope is None else qs.filter(scope)


def items_for(user: Any) -> list[ServiceItem]:
    """The active items that can be taken at a village, of every district or of a district
    the user's jurisdiction touches (a village's staff: their own district's)."""
    prefixes = jurisdiction_prefixes(user)
    districts = District.objects.current()
    if prefixes is not None:
        districts = [d for d in districts if overlaps(prefixes, d.code)]
    ids: set[int] = set()
    for district in districts:  # each district's catalogue: its own item in place of the global
        ids |= set(district_items(district.pk).filter(at_village=True).values_list("id", flat=True))
    if not ids:
        ids = set(district_items(None).filter(at_village=True).values_list("id", flat=True))
    return list(ServiceItem.objects.filter(id__in=ids).select_related("district"))


def item_groups(items: list[ServiceItem], at: dt.datetime) -> list[dict[str, Any]]:
    """The items grouped by the six kinds, each with what the form shows beside it: what
    to bring and the date it would be promised for if taken at ``at``."""
    groups = []
    for kind, label in ServiceKind.choices:
        rows = [
            {
                "item": item,
                "promise": local_date(promise_for(item, at)),
                "materials": item.materials,
                "level": item.get_approving_level_display(),
            }
            for item in items
            if item.kind == kind
        ]
        if rows:
            groups.append({"kind": kind, "label": label, "items": rows})
    return groups


class NewRequestForm(forms.Form):
    household = forms.CharField(
        label=_("Household"),
        required=False,
        max_length=40,
        help_text=_("Its number, or search by address."),
    )
    village = forms.ModelChoiceField(
        label=_("Village"),
        queryset=Village.objects.none(),
        required=False,
        help_text=_("Only when the request is for no household in particular."),
    )
    item = forms.ModelChoiceField(
        label=pgettext_lazy("service item", "Item"), queryset=ServiceItem.objects.none()
    )
    applicant_name = forms.CharField(label=_("Applicant"), max_length=50)
    applicant_phone = forms.CharField(label=_("Applicant's phone"), max_length=20, required=False)
    matter = forms.CharField(
        label=_("The matter"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    channel = forms.ChoiceField(
        label=pgettext_lazy("service channel", "Taken"), choices=Channel.choices
    )
    visit = forms.CharField(required=False, widget=forms.HiddenInput)
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.items = items_for(user)
        self.fields["item"].queryset = ServiceItem.objects.filter(pk__in=[i.pk for i in self.items])
        self.fields["village"].queryset = villages_for(user)
        self.household_obj: Household | None = None
        self.visit_obj: Visit | None = None

    def clean_household(self) -> str:
        key = (self.cleaned_data.get("household") or "").strip()
        if key:
            self.household_obj = household_for(self.user, key)
            if self.household_obj is None:
                raise forms.ValidationError(MSG_NO_HOUSEHOLD)
        return key

    def clean_visit(self) -> str:
        raw = (self.cleaned_data.get("visit") or "").strip()
        if raw:
            pk = id_of(raw)
            self.visit_obj = visits_visible_to(self.user).filter(pk=pk or 0).first()
            if self.visit_obj is None:
                raise forms.ValidationError(MSG_NO_VISIT)
        return raw

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.household_obj is None and not data.get("village") and "household" in data:
            self.add_error("village", MSG_HOUSEHOLD_OR_VILLAGE)
        return data


class ListFilterForm(forms.Form):
    """The list's filters: state, item, village, overdue only."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("all"))] + list(ServiceStatus.choices)
    )
    item = forms.ModelChoiceField(
        label=pgettext_lazy("service item", "Item"),
        required=False,
        queryset=ServiceItem.objects.all(),
    )
    village = forms.CharField(label=_("Village"), required=False, max_length=15)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
