"""The access log's filters: who, when, which record."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import RECORD_TYPES

RECORD = re.compile(r"^\s*([a-z_]+)\s*[: ]\s*(\d{1,12})\s*$")


class AccessLogFilter(forms.Form):
    login = forms.CharField(label=_("login"), max_length=150, required=False)
    since = forms.DateField(
        label=pgettext_lazy("period start", "from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=pgettext_lazy("period end", "to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    record_type = forms.ChoiceField(
        label=_("record"), required=False, choices=[("", "—"), *RECORD_TYPES.items()]
    )
    record_id = forms.IntegerField(
        label=_("record number"), required=False, min_value=1, max_value=2**31 - 1
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        if data.get("record_id") and not data.get("record_type"):
            self.add_error("record_type", _("Choose the kind of record the number belongs to."))
        return data
