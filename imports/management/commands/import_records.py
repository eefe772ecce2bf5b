"""python manage.py import_records KIND PATH [--sheet NAME] [--crs ...] [--commit] [--report X]
and python manage.py import_records KIND --template PATH.xlsx: see imports.sources and
imports.templates.

The work is ``imports.pipeline.run_import``: a dry run unless ``--commit`` (then one
transaction), every refused row listed with its sheet, row, column and reason, and the summary.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext, gettext_noop

from imports.kinds import KIND_NAMES, get_kind
from imports.pipeline import run_import
from imports.report import Refusal, write_error_workbook
from imports.sources import SourceError
from imports.templates import write_template

MSG_KIND_NOT_YET = gettext_noop("Importing %(kind)s is not available yet.")
MSG_PATH_OR_TEMPLATE = gettext_noop("Give the file to import, or --template PATH.xlsx.")
MSG_TEMPLATE_WRITTEN = gettext_noop("Template for %(kind)s written to %(path)s.")
MSG_HEADER_AT = gettext_noop("Sheet %(sheet)s: header in row %(row)s.")
MSG_UNKNOWN_COLUMNS = gettext_noop("Columns not used (unknown): %(columns)s.")
MSG_REFUSED_ROW = gettext_noop("Refused: sheet %(sheet)s, row %(row)s, %(column)s: %(reason)s")
MSG_MORE_REFUSED = gettext_noop("More refused rows are in the error workbook (--report).")
MSG_SUMMARY = gettext_noop(
    "%(rows)s rows read: %(new)s new, %(updated)s updated, %(unchanged)s unchanged, "
    "%(refused)s refused; %(normalised)s rows normalised."
)
MSG_NORMALISED = gettext_noop("Values normalised, by column: %(columns)s.")
MSG_NOTHING_CHANGES = gettext_noop("Nothing changes: every row is already recorded as it is.")
MSG_REPORT_WRITTEN = gettext_noop("Refused rows written to %(path)s.")
MSG_DRY_RUN = gettext_noop("Dry run: nothing was written. Add --commit to write.")
MSG_COMMITTED = gettext_noop("Written.")


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
        try:
            result = run_import(
                kind.name,
                options["path"],
                sheet=options["sheet"],
                crs=options["crs"],
                commit=options["commit"],
                report=options["report"],
            )
        except SourceError as exc:
            if options["report"]:
                write_error_workbook(
                    options["report"], None, [], file_errors=[Refusal(None, exc.message)]
                )
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            gettext(MSG_HEADER_AT) % {"sheet": result.sheet, "row": result.header_row}
        )
        if result.unknown_columns:
            self.stdout.write(
                gettext(MSG_UNKNOWN_COLUMNS) % {"columns": ", ".join(result.unknown_columns)}
            )
        for refused in result.refusals:
            self.stdout.write(
                gettext(MSG_REFUSED_ROW)
                % {
                    "sheet": refused.sheet,
                    "row": refused.row,
                    "column": refused.column or "-",
                    "reason": refused.message,
                }
            )
        if result.refusals_truncated:
            self.stdout.write(gettext(MSG_MORE_REFUSED))
        self.stdout.write(gettext(MSG_SUMMARY) % result.as_dict())
        if result.normalised_columns:
            columns = ", ".join(f"{k}: {v}" for k, v in result.normalised_columns.items())
            self.stdout.write(gettext(MSG_NORMALISED) % {"columns": columns})
        if result.new == result.updated == 0 and result.refused == 0:
            self.stdout.write(gettext(MSG_NOTHING_CHANGES))
        if options["report"]:
            self.stdout.write(gettext(MSG_REPORT_WRITTEN) % {"path": options["report"]})
        self.stdout.write(gettext(MSG_COMMITTED if result.committed else MSG_DRY_RUN))
