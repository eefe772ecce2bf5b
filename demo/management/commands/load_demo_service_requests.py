"""``python manage.py load_demo_service_requests``: six months of proxy service (代办) at the
demo villages, carried through the engine (demo.service_requests)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.loader import demo_loaded
from demo.service_requests import (
    DEFAULT_MONTHS,
    delete_demo_service_requests,
    demo_service_count,
    load_demo_service_requests,
)


class Command(BaseCommand):
    help = (
        "Make the demo's service requests over the last MONTHS months: taken at the village "
        "stations, handed to offices, done, delivered, rated; a few declined, withdrawn or "
        "escalated (deterministic; needs the demo catalogue)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months", type=int, default=DEFAULT_MONTHS)
        parser.add_argument("--seed", type=int, default=15)
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--if-empty", action="store_true", help="Do nothing when they are already loaded."
        )
        group.add_argument("--replace", action="store_true", help="Delete them first.")
        group.add_argument("--delete", action="store_true", help="Only delete them.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["delete"]:
            deleted = delete_demo_service_requests()
            self.stdout.write("Deleted: " + ", ".join(f"{v:,} {k}" for k, v in deleted.items()))
            return
        if not demo_loaded():
            raise CommandError("No demo is loaded: run 'python manage.py load_demo' first.")
        if demo_service_count():
            if options["if_empty"]:
                if options["verbosity"]:
                    self.stdout.write("The demo's service requests are already loaded.")
                return
            if not options["replace"]:
                raise CommandError(
                    "The demo's service requests are already loaded: use --replace to make "
                    "them again."
                )
            delete_demo_service_requests()
        if options["months"] < 1:
            raise CommandError("--months must be at least 1.")
        try:
            counts = load_demo_service_requests(months=options["months"], seed=options["seed"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"]:
            self.stdout.write(
                "Loaded the demo's service requests: "
                + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            )
