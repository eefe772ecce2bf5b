"""python manage.py export_records KIND PATH [--area CODE] [--format xlsx|csv|gpkg|shp]
[--user USERNAME] [--unmasked]: see imports.exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext, gettext_noop

from imports.exports import (
    EXPORT_KIND_NAMES,
    FORMATS,
    PERSONAL_KINDS,
    ExportError,
    export,
    export_kind,
)

MSG_WRITTEN = gettext_noop("%(rows)s rows of %(kind)s written to %(path)s.")
MSG_MASKED = gettext_noop(
    "ID numbers and residents' phones are masked (--unmasked or --user with a role that sees "
    "them writes them in full)."
)
MSG_NO_USER = gettext_noop("No user %(username)s.")


class Command(BaseCommand):
    help = (
        "Export the records of one kind (or a boundary level) as XLSX (the import template's "
        "columns: it re-imports unchanged), CSV (UTF-8 with BOM), GeoPackage or Shapefile. "
        "Personal fields (ID numbers, residents' phones) are MASKED unless --unmasked (an "
        "operator on the server, for a migration or a round trip) or --user names a user whose "
        "role may see them; --user also limits the rows to that user's jurisdiction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=EXPORT_KIND_NAMES, help="The kind of record.")
        parser.add_argument(
            "path",
            help="The file to write: .xlsx, .csv, .gpkg, .shp (or .zip: a zipped Shapefile).",
        )
        parser.add_argument(
            "--area", help="A boundary code: only the records inside it (a city: its districts)."
        )
        parser.add_argument(
            "--format", choices=FORMATS, help="The format (default: from PATH's suffix)."
        )
        parser.add_argument(
            "--user",
            help="Export as this user: rows inside their jurisdiction, masked unless their "
            "role may see personal data.",
        )
        parser.add_argument(
            "--unmasked",
            action="store_true",
            help="Without --user: write ID numbers and phones in full (default: masked).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            model = get_user_model()
            try:
                user = model.objects.get(**{model.USERNAME_FIELD: options["user"]})
            except model.DoesNotExist as exc:
                raise CommandError(gettext(MSG_NO_USER) % {"username": options["user"]}) from exc
        path = Path(options["path"])
        try:
            rows = export(
                options["kind"],
                path,
                fmt=options["format"],
                area=options["area"],
                user=user,
                unmasked=options["unmasked"],
            )
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            gettext(MSG_WRITTEN)
            % {"rows": rows, "kind": gettext(export_kind(options["kind"]).label), "path": path}
        )
        if user is None and not options["unmasked"] and options["kind"] in PERSONAL_KINDS:
            self.stdout.write(gettext(MSG_MASKED))
