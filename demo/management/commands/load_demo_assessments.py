"""``python manage.py load_demo_assessments``: two closed monthly cycles of the village
assistants' assessment over the loaded demo (demo.assessments)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.assessments import (
    delete_demo_assessments,
    demo_assessments_count,
    load_demo_assessments,
)
from demo.loader import demo_loaded


class Command(BaseCommand):
    help = (
        "Make two closed monthly cycles of the village assistants' assessment (the two months "
        "before this one) over the loaded demo, with the party organisation's and cadres' "
        "scores and one open appeal. Closed cycles are frozen: --replace removes the demo's "
        "and makes them again (maintenance: the demo only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--if-empty", action="store_true", help="Do nothing when they are already loaded."
        )
        group.add_argument("--replace", action="store_true", help="Delete them first.")
        group.add_argument("--delete", action="store_true", help="Only delete them.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["delete"]:
            deleted = delete_demo_assessments()
            self.stdout.write("Deleted: " + ", ".join(f"{v:,} {k}" for k, v in deleted.items()))
            return
        if not demo_loaded():
            raise CommandError("Load the demo first: manage.py load_demo")
        if demo_assessments_count():
            if options["if_empty"]:
                self.stdout.write("The demo assessments are already loaded.")
                return
            if not options["replace"]:
                raise CommandError(
                    "The demo assessments are already loaded: use --replace to make them again."
                )
            delete_demo_assessments()
        cycles = load_demo_assessments(seed=options["seed"])
        for cycle in cycles:
            self.stdout.write(f"Closed {cycle}: {cycle.scores.count()} scores.")
