"""Admin helpers shared by every app: the jurisdiction rule in the admin, and read-only
admins for records written only by services.

Jurisdiction in the admin (issue 11, item 3): a user who is not a superuser reaches, in every
admin, only what lies inside their jurisdiction (``accounts.selectors.jurisdiction_prefixes``,
registered in ``gridmap.jurisdiction``, so ``grids`` can use this without importing
``accounts``). ``JurisdictionAdminMixin`` does it once for four doors:

- the changelist, the change form, history and delete (all through ``get_queryset``);
- the choices of every foreign key and many-to-many field, plain select, raw id or
  autocomplete: a choice is offered, and accepted when posted, only if the related model's
  own admin would show it (``jurisdiction_choices``); the autocomplete view searches the
  related admin's ``get_queryset``, which is limited the same way;
- the save: the form refuses, with a translated message, an object whose place codes
  (``jurisdiction_code_path``, read on the unsaved object) lie outside, plus whatever a model
  adds (``jurisdiction_errors``: an account's rank);
- after the save and its inlines (one transaction), the object must still be found by the
  limited queryset, or the whole save is undone (``PermissionDenied``): a worker added with no
  role inside the jurisdiction, a building whose grid is computed outside.

Each admin only declares its code path. The town list filter is
``grids.admin_filters.town_filter`` (it lists towns, a grids model).
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop

from .codes import covers
from .jurisdiction import Prefixes, prefixes_of, scope_q

MSG_OUTSIDE = gettext_noop("%(codes)s lies outside your jurisdiction.")
MSG_NO_GRID_HERE = gettext_noop("This location lies in no grid of your jurisdiction.")
MSG_NO_PLACE = gettext_noop(
    "Give this record a place inside your jurisdiction, or you could not reach it again."
)


def jurisdiction_choices(site: admin.AdminSite, model: type[Model], request: HttpRequest) -> Any:
    """The rows of ``model`` that ``request.user`` may choose in a form: those its admin's
    ``jurisdiction_queryset`` keeps (None when that admin has no jurisdiction rule)."""
    if not site.is_registered(model):
        return None
    model_admin = site.get_model_admin(model)
    limit = getattr(model_admin, "jurisdiction_queryset", None)
    if limit is None:
        return None
    qs = limit(request, model._default_manager.all())
    ordering = model_admin.get_ordering(request)
    return qs.order_by(*ordering) if ordering else qs


def codes_on(obj: Any, path: str) -> list[str]:
    """The codes at ``path`` (``grid__code``) of an unsaved object, following its foreign
    keys in memory; [] where a link is empty."""
    value = obj
    for name in path.split("__"):
        try:
            value = getattr(value, name)
        except ObjectDoesNotExist:
            return []
        if value is None:
            return []
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if v]


class JurisdictionAdminMixin:
    """Limit an admin (``ModelAdmin`` or inline) to the user's jurisdiction.

    ``jurisdiction_code_path`` is the path from the model to a place code (``code`` for a
    grid, ``grid__code`` for a household, ``town__code`` for a station), or a tuple of paths
    of which any may match (a role assignment is held on a grid, village, station or town).
    ``jurisdiction_form_paths`` are the paths checked on the unsaved object when a form is
    saved (default: the code paths; () where the place is only known after the save).
    """

    jurisdiction_code_path: str | tuple[str, ...] = "code"
    jurisdiction_form_paths: tuple[str, ...] | None = None

    # --- reading --------------------------------------------------------------------------
    def jurisdiction_paths(self) -> tuple[str, ...]:
        path = self.jurisdiction_code_path
        return (path,) if isinstance(path, str) else tuple(path)

    def jurisdiction_q(self, prefixes: Prefixes) -> Q | None:
        """The rows inside ``prefixes`` (None: no restriction)."""
        if prefixes is None:
            return None
        return reduce(or_, (scope_q(prefixes, p) for p in self.jurisdiction_paths()))  # type: ignore[arg-type]

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        q = self.jurisdiction_q(prefixes_of(request.user))
        if q is None:
            return qs
        if len(self.jurisdiction_paths()) > 1:
            # Several joins may repeat a row: match by id instead.
            return qs.filter(pk__in=qs.model._default_manager.filter(q).values("pk"))
        return qs.filter(q)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)  # type: ignore[misc]
        return self.jurisdiction_queryset(request, qs)

    # --- choices ----------------------------------------------------------------------------
    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            qs = jurisdiction_choices(self.admin_site, db_field.remote_field.model, request)  # type: ignore[attr-defined]
            if qs is not None:
                kwargs["queryset"] = qs
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            qs = jurisdiction_choices(self.admin_site, db_field.remote_field.model, request)  # type: ignore[attr-defined]
            if qs is not None:
                kwargs["queryset"] = qs
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]

    # --- saving -----------------------------------------------------------------------------
    def jurisdiction_errors(self, request: HttpRequest, obj: Any) -> list[str]:
        """Why ``obj`` (unsaved, built from the form) may not be saved by the user."""
        prefixes = prefixes_of(request.user)
        if prefixes is None:
            return []
        paths = self.jurisdiction_form_paths
        paths = self.jurisdiction_paths() if paths is None else paths
        codes = [c for p in paths for c in codes_on(obj, p)]
        outside = [c for c in codes if not covers(prefixes, c)]
        if outside:
            return [gettext(MSG_OUTSIDE) % {"codes": ", ".join(sorted(set(outside)))}]
        return []

    def jurisdiction_form(self, form_class: type[forms.BaseForm], request: HttpRequest) -> Any:
        """``form_class`` refusing, after the instance is built, what ``jurisdiction_errors``
        finds."""
        model_admin = self

        class JurisdictionForm(form_class):  # type: ignore[valid-type,misc]
            def _post_clean(self) -> None:
                super()._post_clean()
                if getattr(self, "cleaned_data", None) is None or not self.has_changed():
                    return
                if self.cleaned_data.get("DELETE"):
                    return
                for message in model_admin.jurisdiction_errors(request, self.instance):
                    self.add_error(None, message)

        JurisdictionForm.__name__ = form_class.__name__
        return JurisdictionForm

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)  # type: ignore[misc]
        return self.jurisdiction_form(form, request)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        """For an inline: its forms are checked like a model admin's."""
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
        formset.form = self.jurisdiction_form(formset.form, request)
        return formset

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        if prefixes_of(request.user) is None:
            return
        obj = form.instance
        if not self.jurisdiction_queryset(request, type(obj)._default_manager.filter(pk=obj.pk)):
            # Inside the admin's transaction: raising undoes the save.
            raise PermissionDenied(gettext(MSG_NO_PLACE))


class ViewOnlyAdminMixin:
    """An admin that lists and shows but never adds, changes or deletes: for records written
    only by services (the case history, the weekly reports)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ViewOnlyAdminMixin, admin.TabularInline):
    """An inline that shows related records and never adds, changes or deletes them."""

    extra = 0
    can_delete = False


# Admins without a jurisdiction rule (third-party ones: tokens, lockouts, jobs, groups; and
# the global data of every area: boundary generations, incident categories) are for
# superusers: ``superuser_only_unless_scoped`` is run once the registry is complete
# (``accounts/apps.py``), so an admin added later without a rule is closed by default.
# ``readable`` names the global models any permitted staff user may still read.
def _superuser(request: HttpRequest, obj: Any = None) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def superuser_only_unless_scoped(site: admin.AdminSite, readable: set[str]) -> list[str]:
    """Close every admin of ``site`` that has no ``jurisdiction_queryset`` to all but
    superusers (viewing stays open for ``readable`` ``app_label.model`` labels). Returns the
    labels closed."""
    closed = []
    for model in apps.get_models():
        if not site.is_registered(model):
            continue
        model_admin = site.get_model_admin(model)
        if hasattr(model_admin, "jurisdiction_queryset"):
            continue
        label = model._meta.label_lower
        for name in ("has_add_permission", "has_change_permission", "has_delete_permission"):
            setattr(model_admin, name, _superuser)
        if label not in readable:
            model_admin.has_view_permission = _superuser
            model_admin.has_module_permission = _superuser
        closed.append(label)
    return sorted(closed)
