from django.contrib import admin

from .models import Account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "codes"]
    list_filter = ["role"]
    search_fields = ["user__username", "codes"]
    autocomplete_fields = ["user"]
