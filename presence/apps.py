from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from incidents.field_pages import FieldPage, register_field_page
from incidents.todo_extra import TodoSource
from incidents.todo_extra import register as register_todo_source


class PresenceConfig(AppConfig):
    name = "presence"
    verbose_name = _("field presence")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # care: key persons due for a visit join the responsible person's to do (incidents
        # lies below presence and offers the registry).
        from . import care

        register_todo_source(
            TodoSource(
                key=care.TODO_KIND,
                label=_(care.TODO_LABEL),
                items=care.todo_items,
                count_queryset=care.todo_count_queryset,
            )
        )
        # The day and the visit form open offline like the field page (its service worker).
        register_field_page(FieldPage("field-today", ("presence/today.css", "presence/today.js")))
        register_field_page(FieldPage("field-visit", ("presence/visit.css", "presence/visit.js")))
