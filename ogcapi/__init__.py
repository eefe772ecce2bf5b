"""OGC API – Features (Part 1 Core, GeoJSON; Part 2 CRS), read-only, under ``/ogc/``.

See docs/architecture.md, "OGC API – Features".
"""
