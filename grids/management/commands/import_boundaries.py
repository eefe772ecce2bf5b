"""python manage.py import_boundaries LEVEL PATH [--crs ...] [--commit]: see grids.importers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from grids.importers import LEVELS, BoundaryImportError, import_boundaries


class Command(BaseCommand):
    help = (
        "Import one level of boundaries from a GeoJSON, Shapefile or GeoPackage file into a "
        "new generation. Dry run unless --commit: the same checks run, nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("level", choices=LEVELS, help="Level of the boundaries in the file.")
        parser.add_argument("path", help="GeoJSON, Shapefile (.shp with its .prj) or GeoPackage.")
        parser.add_argument(
            "--crs",
            help="Coordinates of the file: EPSG:NNNN (any CRS pyproj knows), gcj02 or bd09 "
            "(AMap/Tencent or Baidu lon/lat, converted to WGS84). Default: the file's own CRS.",
        )
        parser.add_argument("--code-field", default="code", help="Field with the code.")
        parser.add_argument("--name-field", default="name", help="Field with the name.")
        parser.add_argument(
            "--parent-code-field",
            help="Field with the parent's code (default: derived from the code's prefix).",
        )
        parser.add_argument("--kind-field", help="Field with the kind (towns and villages).")
        parser.add_argument(
            "--generation",
            type=int,
            help="Import into this existing generation (default: a new generation).",
        )
        parser.add_argument(
            "--commit", action="store_true", help="Write to the database (default: dry run)."
        )
        parser.add_argument(
            "--tolerance",
            type=float,
            help="Metres a boundary may lie from its current version (Hausdorff distance) and "
            "still count as unchanged (default: GRIDMAP_BOUNDARY_TOLERANCE_M, 0.5).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import_boundaries(
                level=options["level"],
                path=options["path"],
                crs=options["crs"],
                code_field=options["code_field"],
                name_field=options["name_field"],
                parent_code_field=options["parent_code_field"],
                kind_field=options["kind_field"],
                generation=options["generation"],
                commit=options["commit"],
                tolerance=options["tolerance"],
                out=self.stdout if options["verbosity"] > 0 else None,
            )
        except BoundaryImportError as exc:
            raise CommandError(str(exc)) from exc
