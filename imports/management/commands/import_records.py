"""python manage.py import_records KIND PATH [--sheet NAME] [--crs ...] [--commit] [--report X]
and python manage.py import_records KIND --template PATH.xlsx: see imports.sources and
imports.templates.

So far (issue 13, first step) the command writes templates and, for a file, reads it through:
the header matched, unknown columns listed, data rows counted. Validating and writing the
records is the next step; ``--commit`` is refused until then.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext, gettext_noop

from imports.kinds import KIND_NAMES, get_kind
from imports.report import Refusal, write_error_workbook
from imports.sources import SourceError, open_source
from imports.templates import write_template

MSG_KIND_NOT_YET = gettext_noop("Importing %(kind)s is not available yet.")
MSG_COMMIT_NOT_YET = gettext_noop(
    "Writing records is not available yet: this version reads the file and checks its columns."
)
MSG_PATH_OR_TEMPLATE = gettext_noop("Give the file to import, or --template PATH.xlsx.")
MSG_TEMPLATE_WRITTEN = gettext_noop("Template for %(kind)s written to %(path)s.")
MSG_HEADER_AT = gettext_noop("Sheet %(sheet)s: header in row %(row)s; columns: %(columns)s.")
MSG_UNKNOWN_COLUMNS = gettext_noop("Columns not used (unknown): %(columns)s.")
MSG_CRS = gettext_noop("Coordinate reference system of the file: %(crs)s.")
MSG_ROWS_READ = gettext_noop("%(rows)s data rows read, %(blank)s empty rows skipped.")
MSG_DRY_RUN = gettext_noop("Dry run: nothing was written.")


class Command(BaseCommand):
    help = (
        "Import records of one kind from XLSX, CSV (UTF-8 or GB18030), GeoPackage, Shapefile "
        "or GeoJSON, or write the kind's template with --template. Dry run unless --commit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KIND_NAMES, help="The kind of record.")
        parser.add_argument("path", nargs="?", help="The file to import.")
        parser.add_argument("--sheet", help="The sheet (XLSX) or layer (GeoPackage) to read.")
        parser.add_argument(
            "--crs",
            help="Coordinates of the file: EPSG:NNNN, gcj02 or bd09 (default: the file's own, "
            "else WGS84 lon/lat).",
        )
        parser.add_argument("--report", help="Write the refused rows to this .xlsx.")
        parser.add_argument("--template", help="Write the kind's template to this .xlsx.")
        parser.add_argument(
            "--commit", action="store_true", help="Write to the database (default: dry run)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = get_kind(options["kind"])
        if kind is None:
            raise CommandError(gettext(MSG_KIND_NOT_YET) % {"kind": options["kind"]})
        if options["template"]:
            path = write_template(kind, options["template"])
            self.stdout.write(gettext(MSG_TEMPLATE_WRITTEN) % {"kind": kind.name, "path": path})
            return
        if not options["path"]:
            raise CommandError(gettext(MSG_PATH_OR_TEMPLATE))
        if options["commit"]:
            raise CommandError(gettext(MSG_COMMIT_NOT_YET))
        try:
            source = open_source(options["path"], kind, sheet=options["sheet"])
            for _record in source:
                pass
        except SourceError as exc:
            if options["report"]:
                write_error_workbook(
                    options["report"], None, [], file_errors=[Refusal(None, exc.message)]
                )
            raise CommandError(str(exc)) from exc
        header = source.header
        columns = ", ".join(header.label(key) for key in header.keys.values())
        self.stdout.write(
            gettext(MSG_HEADER_AT)
            % {"sheet": header.sheet, "row": header.number, "columns": columns}
        )
        if header.unknown:
            self.stdout.write(gettext(MSG_UNKNOWN_COLUMNS) % {"columns": ", ".join(header.unknown)})
        if source.crs:
            self.stdout.write(gettext(MSG_CRS) % {"crs": source.crs})
        self.stdout.write(
            gettext(MSG_ROWS_READ) % {"rows": source.rows, "blank": source.blank_rows}
        )
        self.stdout.write(gettext(MSG_DRY_RUN))
