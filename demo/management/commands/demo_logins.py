"""``manage.py demo_logins [--village CODE] [--role ROLE] [--worker NAME]``: sign-in details
for some of the demo's workers, on request (``demo.logins``).

Each asked-for worker with an active role gets a random one-time password, printed once and
to be changed at first sign-in; a login that already has its own password is listed without
one (``--reset`` issues a new one-time password, replacing it). The filters combine.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from demo.logins import demo_assignments, demo_logins_issue
from grids.models import CatchmentAssignment, Role

NOTHING_ASKED = "Say whose logins to print: --village CODE, --role ROLE and/or --worker NAME."
NOBODY = "No demo worker with an active role matches {asked}."


class Command(BaseCommand):
    help = (
        "Print demo logins (username = mobile, a one-time password to change at first "
        "sign-in) for the workers of a village, of a role or of a name."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--village",
            help="12-digit village code: its grids' workers, the village's own roles and the "
            "staff of the station whose catchment holds it.",
        )
        parser.add_argument("--role", choices=[r.value for r in Role], help="One role.")
        parser.add_argument("--worker", help="A worker's name (or part of it) or mobile.")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Issue a new one-time password even to logins that have a password already.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        village, role, name = options["village"], options["role"], options["worker"]
        if not (village or role or name):
            raise CommandError(NOTHING_ASKED)
        asked = demo_assignments()
        if village:
            stations = CatchmentAssignment.objects.active().filter(village__code=village)
            asked = asked.filter(
                Q(grid__village__code=village)
                | Q(village__code=village)
                | Q(station__in=stations.values("station"))
            )
        if role:
            asked = asked.filter(role=role)
        if name:
            asked = asked.filter(Q(worker__name__contains=name) | Q(worker__user__username=name))
        logins = demo_logins_issue(assignments=asked, reset=options["reset"])
        if not logins:
            given = (("village", village), ("role", role), ("worker", name))
            what = " ".join(f"--{k} {v}" for k, v in given if v)
            raise CommandError(NOBODY.format(asked=what))
        self.stdout.write("name\tusername\tone-time password\troles")
        for login in logins:
            password = login.password or "(has its own password; --reset for a new one)"
            self.stdout.write(f"{login.name}\t{login.username}\t{password}\t{login.roles}")
        issued = sum(1 for x in logins if x.password)
        self.stdout.write(
            f"{issued} one-time password(s) issued; each must be changed at first sign-in."
        )
