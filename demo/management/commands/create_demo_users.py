"""Create one demo login per role, inside the loaded demo, and print them; give every demo
worker with an active role a login without a password (``demo.logins``: passwords on request,
``manage.py demo_logins``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from accounts.models import AccountRole
from accounts.services import account_upsert
from demo.logins import demo_logins_ensure
from gridmap.codes import Level, code_at
from grids.models import District, Grid, Role, RoleAssignment, Station, Town, Village

DEMO_PASSWORD = "gridmap-demo"
HOW_TO_GET_LOGINS = (
    "Every demo worker with an active role has a login (username = mobile); print one-time "
    "passwords with: .venv/bin/python manage.py demo_logins --village CODE | --role ROLE | "
    "--worker NAME"
)


def planner_town(district: District) -> Town:
    """The district's town with the most stations (ties: the first code): the planner's."""
    return (
        Town.objects.current()
        .filter(district=district)
        .annotate(n=Count("stations"))
        .order_by("-n", "code")
        .first()
    )


class Command(BaseCommand):
    help = "Create (or reset) a demo login for each role and print the logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        district = District.objects.current().filter(towns__isnull=False).order_by("code").first()
        if district is None:
            raise CommandError("No demo is loaded: run 'python manage.py load_demo' first.")
        member = (
            RoleAssignment.objects.active()
            .filter(role=Role.GRID_MEMBER, grid__generation_high__isnull=True)
            .filter(grid__village__town__district=district)
            .select_related("grid__village__town", "worker")
            .order_by("grid__code")
            .first()
        )
        grid: Grid = member.grid if member else Grid.objects.current().order_by("code").first()
        village: Village = grid.village
        town: Town = village.town
        station = (
            Station.objects.filter(catchment_assignments__village__code=village.code)
            .order_by("code")
            .first()
        )
        city_code = district.city.code if district.city_id else code_at(Level.CITY, district.code)
        logins = [
            ("grid_worker", AccountRole.GRID_WORKER, [grid.code], member and member.worker),
            ("village_staff", AccountRole.VILLAGE_STAFF, [village.code], None),
            ("station_staff", AccountRole.STATION_STAFF, [station.code] if station else [], None),
            ("town_staff", AccountRole.TOWN_STAFF, [town.code], None),
            ("planner", AccountRole.PLANNER, [planner_town(district).code], None),
            ("district_admin", AccountRole.DISTRICT_ADMIN, [district.code], None),
            ("city_admin", AccountRole.CITY_ADMIN, [city_code], None),
        ]
        rows = []
        for username, role, codes, worker in logins:
            if not codes:
                continue
            account_upsert(
                username=username, password=password, role=role, codes=codes, worker=worker
            )
            rows.append((username, role.label, ", ".join(codes)))
        admin, _ = get_user_model().objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        rows.append(("admin", "superuser", "all"))

        logins = demo_logins_ensure()

        self.stdout.write(f"Demo logins (password for all: {password}):")
        for username, label, codes in rows:
            self.stdout.write(f"  {username:<15} {str(label):<28} {codes}")
        for why in logins.skipped:
            self.stderr.write(f"No login for {why}")
        self.stdout.write(HOW_TO_GET_LOGINS)
