"""``python manage.py load_demo_cases``: demo cases with histories over the loaded demo."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from demo.cases import DemoCasesError, delete_demo_cases, demo_case_count, load_demo_cases


class Command(BaseCommand):
    help = (
        "Generate demo cases (incidents with their case history: acknowledge, extensions, "
        "escalations, resolve, callback, rework, close-out) spread over the loaded demo's "
        "grids and the last --days days, written with COPY. A million over the city demo "
        "takes a few minutes; --no-events skips the history rows (the case fields are still "
        "filled in as the history would have left them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--days", type=int, default=365, help="Spread over these days.")
        parser.add_argument(
            "--end",
            type=dt.date.fromisoformat,
            help="Cases end before this date (YYYY-MM-DD; default: now).",
        )
        parser.add_argument(
            "--no-events", action="store_true", help="Do not write the case history rows."
        )
        when_loaded = parser.add_mutually_exclusive_group()
        when_loaded.add_argument(
            "--replace", action="store_true", help="Delete the demo cases loaded before."
        )
        when_loaded.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when demo cases are loaded already (what 'make demo' calls).",
        )
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Only delete the demo cases (e.g. before 'load_demo --replace', which refuses "
            "while cases point at the demo's grids).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["delete"]:
            with transaction.atomic():
                deleted = delete_demo_cases()
            if options["verbosity"]:
                self.stdout.write(f"Deleted {deleted:,} demo cases.")
            return
        if options["if_empty"] and demo_case_count():
            if options["verbosity"]:
                self.stdout.write("Demo cases are already loaded; nothing to do (--if-empty).")
            return
        end = options["end"]
        try:
            result = load_demo_cases(
                count=options["count"],
                seed=options["seed"],
                days=options["days"],
                end=(
                    dt.datetime.combine(end, dt.time(), tzinfo=timezone.get_current_timezone())
                    if end
                    else None
                ),
                events=not options["no_events"],
                replace=options["replace"],
                out=self.stdout if options["verbosity"] > 1 else None,
            )
        except DemoCasesError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"]:
            self.stdout.write("\n".join(result.lines()))
