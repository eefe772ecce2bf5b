"""The coordinate reference systems the OGC API serves (OGC API – Features Part 2).

Each CRS is named by its URI; the database stores CRS84 (EPSG:4326 with longitude first) and
every other CRS is made by PostGIS (``ST_Transform``). Coordinates are written in the
**authority's axis order**, as Part 2 asks: EPSG:4326 and EPSG:4490 are latitude, longitude;
EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger CM 108E) is northing, easting; CRS84 and
EPSG:3857 are x, y. A north-first CRS is answered with ``ST_FlipCoordinates``.
"""

from __future__ import annotations

from dataclasses import dataclass

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def epsg_uri(code: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


@dataclass(frozen=True)
class Crs:
    """One served CRS: its URI, its PostGIS SRID, whether its first axis is north, and the
    decimals worth writing (degrees: 7, about 1 cm; metres: 2)."""

    uri: str
    srid: int
    north_first: bool
    precision: int


SUPPORTED: dict[str, Crs] = {
    c.uri: c
    for c in (
        Crs(CRS84, 4326, north_first=False, precision=7),
        Crs(epsg_uri(4326), 4326, north_first=True, precision=7),
        Crs(epsg_uri(3857), 3857, north_first=False, precision=2),
        Crs(epsg_uri(4490), 4490, north_first=True, precision=7),
        Crs(epsg_uri(4545), 4545, north_first=True, precision=2),
    )
}
DEFAULT = SUPPORTED[CRS84]
# The CRS the features are stored in (settings.GRIDMAP_SRID, longitude first).
STORAGE = DEFAULT

# Short names clients also send (``EPSG:4326``, ``[EPSG:4326]`` as a safe CURIE).
_ALIASES = {"CRS84": CRS84, "OGC:CRS84": CRS84} | {
    name: epsg_uri(code)
    for code in (4326, 3857, 4490, 4545)
    for name in (f"EPSG:{code}", f"[EPSG:{code}]")
}


def crs_of(text: str) -> Crs | None:
    """The served CRS named by ``text`` (a URI or ``EPSG:<code>``), or None."""
    text = text.strip()
    uri = _ALIASES.get(text, text)
    if uri.startswith("https://"):
        uri = "http://" + uri.removeprefix("https://")
    return SUPPORTED.get(uri)
