"""``python manage.py load_demo_catalogue``: the demo service catalogue (demo.servicedesk), 33
village-level items in Chinese across the six kinds, for every district."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.servicedesk import ITEMS, demo_catalogue_count, load_demo_catalogue


class Command(BaseCommand):
    help = (
        "Load the demo service catalogue (33 items a resident can ask for at the village "
        "service station). Items already there (by code) are brought up to date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the demo catalogue is already loaded.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and demo_catalogue_count() == len(ITEMS):
            if options["verbosity"]:
                self.stdout.write("The demo catalogue is already loaded; nothing to do.")
            return
        counts = load_demo_catalogue()
        if options["verbosity"]:
            self.stdout.write(
                f"Loaded the demo catalogue: {counts['new']} new, {counts['updated']} updated."
            )
