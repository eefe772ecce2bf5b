"""``python manage.py load_demo_roads``: a synthetic road network for the loaded demo."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coverage.models import RoadSegment
from demo.roads import DemoRoadsError, delete_demo_roads, load_demo_roads


class Command(BaseCommand):
    help = (
        "Generate a deterministic synthetic road network for the loaded demo (streets linking "
        "each village's buildings and service centre, links between neighbouring villages; "
        "two villages left without roads). Replaces the demo roads already loaded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--delete", action="store_true", help="Only delete the demo roads.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when road segments exist already."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["delete"]:
            deleted = delete_demo_roads()
            if options["verbosity"]:
                self.stdout.write(f"Deleted {deleted} demo road segments.")
            return
        if options["if_empty"] and RoadSegment.objects.exists():
            if options["verbosity"]:
                self.stdout.write("Roads are already loaded; nothing to do (--if-empty).")
            return
        try:
            result = load_demo_roads(seed=options["seed"])
        except DemoRoadsError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"]:
            self.stdout.write("\n".join(result.lines()))
