"""Place codes and levels: the one module of the rule.

Codes nest (GB/T 2260 and its extension below the county): a district or county has 6
digits, a town 9, a village or community 12, a grid 15. A city is a 6-digit code ending in
``00`` whose districts share its first four digits. Because codes nest, "inside" is "starts
with": a place lies inside another when its code starts with the other's code, except that a
city's code covers the codes starting with its first four digits.

One level has two names. Its places are *districts* (the ``District`` model, the
``/api/layers/district/`` URL, the KPI level ``district``); a case owned there is at the
*county* level (the stored value ``county`` of ``owner_level``). ``as_level`` takes either.

Stations are not a level of this nesting: a station's code is its town's code, ``S`` and
two digits (``450702100S01``), and it stands for the villages of its catchment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """The administrative levels, bottom up (the order of ``LEVEL_ORDER``)."""

    GRID = "grid", _("grid")
    VILLAGE = "village", _("village")
    TOWN = "town", _("town")
    COUNTY = "county", _("county")
    CITY = "city", _("city")


# Bottom up: a case escalates along this order.
LEVEL_ORDER: list[Level] = [Level.GRID, Level.VILLAGE, Level.TOWN, Level.COUNTY, Level.CITY]
# The place name of the county level (see the module docstring).
DISTRICT = "district"
CODE_LENGTH: dict[str, int] = {
    Level.GRID: 15,
    Level.VILLAGE: 12,
    Level.TOWN: 9,
    Level.COUNTY: 6,
    DISTRICT: 6,
    Level.CITY: 6,
}
STATION_CODE_RE = re.compile(r"^[0-9]{9}S[0-9]{2}$")


def as_level(name: str) -> Level:
    """The level called ``name`` (``district`` is the county level). ValueError if unknown."""
    return Level.COUNTY if name == DISTRICT else Level(name)


def place_name(level: str) -> str:
    """The name of the places of ``level``: ``district`` for the county level (the model, the
    URL, the importer's ``--level``), the level's own name otherwise."""
    level = as_level(level)
    return DISTRICT if level == Level.COUNTY else str(level.value)


def is_province(code: str) -> bool:
    """Whether ``code`` is a province's (``NN0000``): above every level of this nesting."""
    return code.isascii() and code.isdigit() and len(code) == 6 and code.endswith("0000")


def is_code(level: str, code: str) -> bool:
    """Whether ``code`` has the shape of a code of ``level`` (a city ends in ``00``, a
    district does not)."""
    level = as_level(level)
    if not (code.isascii() and code.isdigit() and len(code) == CODE_LENGTH[level]):
        return False
    if level == Level.CITY:
        return code.endswith("00")
    if level == Level.COUNTY:
        return not code.endswith("00")
    return True


def level_of(code: str) -> Level | None:
    """The level of a code by its shape, or None for a code of no level (a station, a
    province ``NN0000``, anything malformed)."""
    if not (code.isascii() and code.isdigit()):
        return None
    if len(code) == 6:
        if code.endswith("0000"):
            return None
        return Level.CITY if code.endswith("00") else Level.COUNTY
    return {9: Level.TOWN, 12: Level.VILLAGE, 15: Level.GRID}.get(len(code))


def code_at(level: str, code: str) -> str:
    """The code of the place at ``level`` that contains the place ``code`` (the place itself
    at its own level)."""
    level = as_level(level)
    if level == Level.CITY:
        return code[:4] + "00"
    return code[: CODE_LENGTH[level]]


def level_above(level: str) -> Level | None:
    """The next level up, or None above the city."""
    index = LEVEL_ORDER.index(as_level(level))
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def parent_of(code: str) -> str | None:
    """The code of the place one level up (a district's city: ``code[:4] + "00"``), or None
    for a city and for a code of no level."""
    level = level_of(code)
    above = None if level is None else level_above(level)
    return None if above is None else code_at(above, code)


def prefix_of(code: str) -> str:
    """The prefix a code stands for in "starts with" matching (a city: its first four
    digits)."""
    return code[:4] if level_of(code) == Level.CITY else code


def covers(prefixes: Iterable[str] | None, code: str) -> bool:
    """Whether ``code`` lies inside one of ``prefixes`` (None: everything; an empty list:
    nothing). A prefix is a code or the first digits of one; a city code stands for its
    districts."""
    if prefixes is None:
        return True
    return any(p and code.startswith(prefix_of(p)) for p in prefixes)


def overlaps(prefixes: Iterable[str] | None, code: str) -> bool:
    """Whether the area ``code`` and one of ``prefixes`` meet: one lies inside the other (a
    town overlaps the jurisdiction of a village in it)."""
    if prefixes is None:
        return True
    code = prefix_of(code)
    return any(
        p and (code.startswith(prefix_of(p)) or prefix_of(p).startswith(code)) for p in prefixes
    )


def covering_codes(code: str) -> list[str]:
    """The codes of the places that contain ``code``, itself included, bottom up (a grid:
    grid, village, town, district, city)."""
    codes = []
    current: str | None = code
    while current is not None:
        codes.append(current)
        current = parent_of(current)
    return codes
