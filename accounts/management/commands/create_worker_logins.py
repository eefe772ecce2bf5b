"""``manage.py create_worker_logins (--village CODE | --all-active) [--print]``: logins for the
workers who hold an active role (in a village: on its grids, the village itself or a station
whose catchment holds it) and have none yet.

Username = the worker's mobile number (normalised); a random one-time password that must be
changed at first sign-in. The password exists only in this command's output: without
``--print`` nothing is created and the command lists whom it would give a login.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from accounts.services import worker_login_create
from grids.models import CatchmentAssignment, RoleAssignment, Worker


class Command(BaseCommand):
    help = "Create logins (username = mobile, one-time password) for workers with active roles."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--village", help="12-digit code of a village.")
        which.add_argument("--all-active", action="store_true", help="Every active worker.")
        parser.add_argument(
            "--print",
            action="store_true",
            help="Create the logins and print each one-time password once.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        active = RoleAssignment.objects.active()
        village = options["village"]
        if village:
            stations = CatchmentAssignment.objects.active().filter(village__code=village)
            active = active.filter(
                Q(grid__village__code=village)
                | Q(village__code=village)
                | Q(station__in=stations.values("station"))
            )
            if not active.exists():
                raise CommandError(f"No active role in village {village}.")
        workers = Worker.objects.filter(pk__in=active.values("worker"), user__isnull=True).order_by(
            "name", "pk"
        )
        created = 0
        for worker in workers:
            if not options["print"]:
                self.stdout.write(f"would create: {worker.name}")
                continue
            try:
                username, password = worker_login_create(worker=worker)
            except ValidationError as e:
                self.stderr.write(f"skipped: {'; '.join(e.messages)}")
                continue
            created += 1
            self.stdout.write(f"{worker.name}\t{username}\t{password}")
        if options["print"]:
            self.stdout.write(f"created {created} logins; each must change its password first")
        else:
            self.stdout.write("nothing created: add --print to create and print the passwords")
