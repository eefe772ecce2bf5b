"""Admin of the assessments: schemes with their indicators. A district administrator reads
the schemes of every district and edits their district's own (``DistrictDataAdmin``, as the
presence rules and care categories); the default schemes (every district) are edited by
superusers. A formula is checked against the metrics registry when it is saved."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from presence.admin_duty import DistrictDataAdmin

from .formulas import check_formula
from .metrics import METRICS
from .models import Indicator, Scheme


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = ["key", "name", "weight", "formula", "direction", "min_samples", "order"]

    def clean_formula(self) -> str:
        formula = self.cleaned_data["formula"]
        check_formula(formula, METRICS)
        return formula


class IndicatorInline(admin.TabularInline):
    model = Indicator
    form = IndicatorForm
    extra = 0


@admin.register(Scheme)
class SchemeAdmin(DistrictDataAdmin):
    list_display = ["name", "level", "role", "kind", "district", "active"]
    list_filter = ["level", "kind", "active"]
    search_fields = ["name"]
    raw_id_fields = ["district"]
    inlines = [IndicatorInline]
