"""``manage.py link_logins [--dry-run]``: link existing place-level logins to their workers.

The switch to one identity (docs/architecture.md, "One identity"): a login linked to a worker
gets its access from the worker's active role assignments; its place-level account's codes no
longer count. Run it once after deploying; it prints one line per login and changes nothing
with ``--dry-run``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.services import link_logins


class Command(BaseCommand):
    help = "Link existing place-level logins to the workers whose role assignments they stand for."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report only; link nothing.")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        results = link_logins(dry_run=dry_run)
        for r in results:
            suffix = f" -> {r.worker}" if r.worker else ""
            self.stdout.write(f"{r.username}: {r.outcome}{suffix}")
        linked = sum(r.outcome == "linked" for r in results)
        verb = "would link" if dry_run else "linked"
        self.stdout.write(f"{verb} {linked} of {len(results)} logins")
