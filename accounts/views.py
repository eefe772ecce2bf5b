"""Django's password change, which also lifts the first sign-in's forced change."""

from __future__ import annotations

from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpResponse

from .services import password_change_done


class FirstPasswordChangeView(PasswordChangeView):
    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        password_change_done(user=form.user)
        return response
