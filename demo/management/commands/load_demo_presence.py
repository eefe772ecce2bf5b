"""``python manage.py load_demo_presence``: three months of duty, sign-ins, visits and patrols
over the loaded demo (demo.presence)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.loader import demo_loaded
from demo.presence import (
    DEFAULT_DAYS,
    delete_demo_presence,
    demo_presence_count,
    load_demo_presence,
)


class Command(BaseCommand):
    help = (
        "Make the presence demo over the loaded demo: village assistants, key persons, duty "
        "rosters, sign-ins, visits and patrols over the last DAYS days (deterministic)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
        parser.add_argument("--seed", type=int, default=7)
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--if-empty", action="store_true", help="Do nothing when it is already loaded."
        )
        group.add_argument("--replace", action="store_true", help="Delete it first.")
        group.add_argument("--delete", action="store_true", help="Only delete it.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["delete"]:
            deleted = delete_demo_presence()
            self.stdout.write("Deleted: " + ", ".join(f"{v:,} {k}" for k, v in deleted.items()))
            return
        if not demo_loaded():
            raise CommandError("No demo is loaded: run 'python manage.py load_demo' first.")
        if demo_presence_count():
            if options["if_empty"]:
                if options["verbosity"]:
                    self.stdout.write("The presence demo is already loaded; nothing to do.")
                return
            if not options["replace"]:
                raise CommandError(
                    "The presence demo is already loaded: use --replace to make it again."
                )
            delete_demo_presence()
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        counts = load_demo_presence(
            days=options["days"],
            seed=options["seed"],
            out=self.stdout if options["verbosity"] > 1 else None,
        )
        if options["verbosity"]:
            self.stdout.write(
                "Loaded the presence demo: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            )
