"""``python manage.py load_demo_assessments``: two closed monthly cycles of the village
assistants' assessment over the loaded demo (demo.assessments)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.assessments import demo_assessments_count, load_demo_assessments
from demo.loader import demo_loaded


class Command(BaseCommand):
    help = (
        "Make two closed monthly cycles of the village assistants' assessment (the two months "
        "before this one) over the loaded demo, with the party organisation's and cadres' "
        "scores and one open appeal. Closed cycles are frozen: they are never replaced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when they are already loaded."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not demo_loaded():
            raise CommandError("Load the demo first: manage.py load_demo")
        if demo_assessments_count():
            if options["if_empty"]:
                self.stdout.write("The demo assessments are already loaded.")
                return
            raise CommandError("The demo assessments are already loaded (closed cycles are kept).")
        cycles = load_demo_assessments(seed=options["seed"])
        for cycle in cycles:
            self.stdout.write(f"Closed {cycle}: {cycle.scores.count()} scores.")
