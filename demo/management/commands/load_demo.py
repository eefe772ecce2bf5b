"""``python manage.py load_demo``: the synthetic demo inside the real Qinzhou boundaries."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.loader import DemoError, demo_loaded, load_demo


class Command(BaseCommand):
    help = (
        "Load a deterministic synthetic demo (towns, villages, grids, buildings, households, "
        "party members, units, stations, workers) inside the real Qinzhou districts. "
        "small: one district, a few thousand households; city: four districts, 1,030 villages, "
        "244 stations, a million households (for benchmarks)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=["small", "city"], default="small")
        parser.add_argument("--seed", type=int, default=7)
        when_loaded = parser.add_mutually_exclusive_group()
        when_loaded.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when a demo is already loaded (what 'make run' calls).",
        )
        when_loaded.add_argument(
            "--replace",
            action="store_true",
            help="Delete the loaded demo first (in the same transaction).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        if options["if_empty"] and demo_loaded():
            if verbosity:
                self.stdout.write("The demo is already loaded; nothing to do (--if-empty).")
            return
        try:
            result = load_demo(
                scale=options["scale"],
                seed=options["seed"],
                replace=options["replace"],
                out=self.stdout if verbosity > 1 else None,
                import_out=self.stdout if verbosity > 1 else None,
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity:
            self.stdout.write("\n".join(result.lines()))
