"""The weekly reports in the admin: read-only, limited to the jurisdiction. Task lists,
reports and summaries are written on the weekly pages or through the API, where
``weekly.services`` checks who may."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_mixins import JurisdictionAdminMixin, ViewOnlyAdminMixin, town_filter

from .models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList


class ReadOnlyAdmin(ViewOnlyAdminMixin, JurisdictionAdminMixin, admin.ModelAdmin):
    date_hierarchy = "week"


@admin.register(WeeklyTaskList)
class WeeklyTaskListAdmin(ReadOnlyAdmin):
    jurisdiction_code_path = "town_code"
    list_display = ["town_code", "week", "published_at", "published_by"]
    list_filter = [town_filter("town_code")]
    list_select_related = ["published_by"]


@admin.register(VillageWeeklyReport)
class VillageWeeklyReportAdmin(ReadOnlyAdmin):
    jurisdiction_code_path = "village_code"
    list_display = ["village_code", "station_code", "week", "submitted_at", "submitted_by"]
    list_filter = [town_filter("village_code")]
    list_select_related = ["submitted_by"]


@admin.register(StationWeeklySummary)
class StationWeeklySummaryAdmin(ReadOnlyAdmin):
    jurisdiction_code_path = "town_code"
    list_display = ["station_code", "town_code", "week", "submitted_at", "submitted_by"]
    list_filter = [town_filter("town_code")]
    list_select_related = ["submitted_by"]
