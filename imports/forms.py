"""The import page's upload form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext, gettext_lazy

from .models import ALLOWED_SUFFIXES, CRS_CHOICES
from .selectors import importable_kinds


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of record"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "Excel (.xlsx), CSV (UTF-8 or GB18030), GeoPackage, GeoJSON or a zipped Shapefile."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ALLOWED_SUFFIXES)}),
    )
    sheet = forms.CharField(
        label=gettext_lazy("Sheet"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Empty: the first sheet (or layer)."),
    )
    crs = forms.ChoiceField(
        label=gettext_lazy("Coordinate system"), choices=CRS_CHOICES, required=False
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, gettext(k.label)) for k in importable_kinds()]
