"""python manage.py import_roads PATH [--crs ...] [--commit]: see coverage.roads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coverage.roads import SNAP_TOLERANCE_M, RoadImportError, import_roads


class Command(BaseCommand):
    help = (
        "Import a road network (lines) from a GeoJSON, Shapefile or GeoPackage file as a "
        "routable topology for the 15-minute service circle. Dry run unless --commit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="GeoJSON, Shapefile (.shp with its .prj) or GeoPackage.")
        parser.add_argument(
            "--crs",
            help="Coordinates of the file: EPSG:NNNN (any CRS pyproj knows), gcj02 or bd09 "
            "(AMap/Tencent or Baidu lon/lat, converted to WGS84). Default: the file's own CRS.",
        )
        parser.add_argument(
            "--name-field", default="name", help="Field with the road's name (if present)."
        )
        parser.add_argument("--village-field", help="Field with a 12-digit village code.")
        parser.add_argument(
            "--tolerance",
            type=float,
            default=SNAP_TOLERANCE_M,
            help="Segment ends closer than this (metres) become one node (default: 1).",
        )
        parser.add_argument(
            "--commit", action="store_true", help="Write to the database (default: dry run)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import_roads(
                path=options["path"],
                crs=options["crs"],
                name_field=options["name_field"],
                village_field=options["village_field"],
                tolerance_m=options["tolerance"],
                commit=options["commit"],
                out=self.stdout if options["verbosity"] > 0 else None,
            )
        except RoadImportError as exc:
            raise CommandError(str(exc)) from exc
