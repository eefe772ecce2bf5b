"""The import page's upload form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext, gettext_lazy

from .exports import EXPORT_KIND_NAMES, FORMATS, export_kind
from .models import ALLOWED_SUFFIXES, CRS_CHOICES
from .selectors import export_areas, importable_kinds


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


FORMAT_LABELS = {
    "xlsx": gettext_lazy("Excel workbook (.xlsx)"),
    "csv": gettext_lazy("CSV (UTF-8)"),
    "gpkg": gettext_lazy("GeoPackage (.gpkg)"),
    "shp": gettext_lazy("Shapefile (zipped)"),
}


class ExportForm(forms.Form):
    """Which records to take out: a kind (or a boundary level), a format and an area of the
    administrator's jurisdiction (empty: all of it)."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind of record"))
    format = forms.ChoiceField(
        label=gettext_lazy("Format"), choices=[(f, FORMAT_LABELS[f]) for f in FORMATS]
    )
    area = forms.ChoiceField(label=gettext_lazy("Area"), required=False)

    def __init__(self, *args: object, user: object, **kwargs: object) -> None:
        kwargs.setdefault("auto_id", "export_%s")  # beside the upload form's fields
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (name, gettext(export_kind(name).label)) for name in EXPORT_KIND_NAMES
        ]
        self.fields["area"].choices = [
            ("", gettext("All of my jurisdiction")),
            *export_areas(user),
        ]
