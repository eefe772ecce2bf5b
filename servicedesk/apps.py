from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from cases.kinds import register
from cases.list_registry import register as register_lists
from incidents.todo_extra import TodoSource
from incidents.todo_extra import register as register_todo_source


class ServicedeskConfig(AppConfig):
    name = "servicedesk"
    verbose_name = _("service to residents")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The engine serves service requests as a second kind of case (servicedesk.kind).
        from . import hooks, todo
        from .kind import ServiceRequestKind
        from .notifications import register_inbox_scope

        register(ServiceRequestKind())
        # The three lists (/lists/?case=service) beside the incidents' (servicedesk.lists).
        from .lists import LISTS

        register_lists(LISTS)
        register_inbox_scope()
        # The requests waiting on a person join their to do and the header's badge.
        register_todo_source(
            TodoSource(
                key=todo.TODO_KIND,
                label=todo.TODO_LABEL,
                items=todo.todo_items,
                count_queryset=todo.todo_count_queryset,
            )
        )
        # The desk's places on presence's and incidents' pages (servicedesk.hooks).
        hooks.register()
