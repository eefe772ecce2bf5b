from django.apps import AppConfig

from cases.kinds import register


class CaseKindTestConfig(AppConfig):
    """A second kind of case, for tests only: proves that a kind is one module and a
    migration, with nothing from incidents/."""

    name = "tests.casekind"
    label = "casekind"

    def ready(self) -> None:
        from .models import ErrandKind

        register(ErrandKind())
