"""Admin of the assessments: schemes with their indicators. A district administrator reads
the schemes of every district and edits their district's own (``DistrictDataAdmin``, as the
presence rules and care categories); the default schemes (every district) are edited by
superusers. A formula is checked against the metrics registry when it is saved; a scheme's
kind (its cycles' period) is fixed once it has cycles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

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

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """A scheme's kind is its cycles' (a foreign key in the database): fixed once it
        has cycles."""
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk is not None and obj.cycles.exists():
            fields.append("kind")
        return fields
