"""Forms of the weekly pages: they parse; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import MAX_TEXT


class TaskListForm(forms.Form):
    items = forms.CharField(
        label=_("Tasks, one per line"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20_000,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=MAX_TEXT,
    )

    def item_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["items"].splitlines() if line.strip()]


class ReportForm(forms.Form):
    text = forms.CharField(
        label=_("Report"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MAX_TEXT,
    )
