"""gridmap.codes: the one rule of place codes and levels (pure functions, no database)."""

from __future__ import annotations

import pytest

from gridmap.codes import (
    CODE_LENGTH,
    DISTRICT,
    LEVEL_ORDER,
    Level,
    as_level,
    code_at,
    covering_codes,
    covers,
    is_code,
    is_province,
    level_above,
    level_of,
    overlaps,
    parent_of,
    place_name,
    prefix_of,
)

PROVINCE = "450000"
CITY = "450700"
DISTRICT_CODE = "450702"
TOWN = "450702100"
VILLAGE = "450702100001"
GRID = "450702100001001"
STATION = "450702100S01"
MALFORMED = [
    "",
    "4507",
    "45070",
    "4507021",
    "45070210",
    "45070a",
    "450702100001001001",
    "４５０７０２",  # full-width digits
]


def test_levels_bottom_up_with_their_code_lengths():
    assert LEVEL_ORDER == [Level.GRID, Level.VILLAGE, Level.TOWN, Level.COUNTY, Level.CITY]
    assert [CODE_LENGTH[level] for level in LEVEL_ORDER] == [15, 12, 9, 6, 6]
    assert CODE_LENGTH[DISTRICT] == CODE_LENGTH[Level.COUNTY] == 6
    # Plain strings find the same lengths (the importer's levels are names).
    assert CODE_LENGTH["town"] == 9


def test_as_level_takes_district_for_the_county_level():
    assert as_level(DISTRICT) is Level.COUNTY
    assert as_level("county") is Level.COUNTY
    assert as_level("grid") is Level.GRID
    with pytest.raises(ValueError):
        as_level("province")


@pytest.mark.parametrize(
    ("level", "name"),
    [
        (Level.GRID, "grid"),
        (Level.VILLAGE, "village"),
        (Level.TOWN, "town"),
        (Level.COUNTY, "district"),
        ("district", "district"),
        (Level.CITY, "city"),
    ],
)
def test_place_name_calls_the_county_level_district(level, name):
    assert place_name(level) == name


@pytest.mark.parametrize(
    ("code", "level"),
    [
        (CITY, Level.CITY),
        (DISTRICT_CODE, Level.COUNTY),
        (TOWN, Level.TOWN),
        (VILLAGE, Level.VILLAGE),
        (GRID, Level.GRID),
        (PROVINCE, None),
        (STATION, None),
        *[(code, None) for code in MALFORMED],
    ],
)
def test_level_of_reads_the_shape_of_a_code(code, level):
    assert level_of(code) == level


def test_is_province_only_for_nn0000():
    assert is_province(PROVINCE)
    assert not any(is_province(c) for c in [CITY, DISTRICT_CODE, TOWN, STATION, *MALFORMED])


@pytest.mark.parametrize(
    ("level", "code", "expected"),
    [
        ("city", CITY, True),
        ("city", DISTRICT_CODE, False),  # a city ends in 00, a district does not
        ("district", DISTRICT_CODE, True),
        ("county", DISTRICT_CODE, True),
        ("district", CITY, False),
        ("town", TOWN, True),
        ("town", STATION, False),
        ("village", VILLAGE, True),
        ("grid", GRID, True),
        ("grid", VILLAGE, False),
        ("town", "45070210a", False),
        ("town", "４５０７０２１００", False),  # full-width digits are not ASCII
    ],
)
def test_is_code(level, code, expected):
    assert is_code(level, code) is expected


@pytest.mark.parametrize(
    ("level", "code", "expected"),
    [
        (Level.CITY, GRID, CITY),
        (Level.CITY, DISTRICT_CODE, CITY),
        (Level.CITY, CITY, CITY),
        (DISTRICT, GRID, DISTRICT_CODE),
        (Level.TOWN, GRID, TOWN),
        (Level.TOWN, STATION, TOWN),  # a station's town
        (Level.VILLAGE, GRID, VILLAGE),
        (Level.GRID, GRID, GRID),
    ],
)
def test_code_at_finds_the_containing_place(level, code, expected):
    assert code_at(level, code) == expected


def test_level_above_goes_up_to_the_city_and_stops():
    assert level_above(Level.GRID) is Level.VILLAGE
    assert level_above("village") is Level.TOWN
    assert level_above("town") is Level.COUNTY
    assert level_above(DISTRICT) is Level.CITY
    assert level_above(Level.CITY) is None


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        (GRID, VILLAGE),
        (VILLAGE, TOWN),
        (TOWN, DISTRICT_CODE),
        (DISTRICT_CODE, CITY),  # code[:4] + "00"
        (CITY, None),
        (PROVINCE, None),
        (STATION, None),
        ("4507", None),
        ("", None),
    ],
)
def test_parent_of(code, parent):
    assert parent_of(code) == parent


def test_covering_codes_bottom_up():
    assert covering_codes(GRID) == [GRID, VILLAGE, TOWN, DISTRICT_CODE, CITY]
    assert covering_codes(CITY) == [CITY]
    assert covering_codes(STATION) == [STATION]


def test_prefix_of_a_city_is_its_first_four_digits():
    assert prefix_of(CITY) == "4507"
    assert [prefix_of(c) for c in (DISTRICT_CODE, TOWN, STATION, PROVINCE, "4507")] == [
        DISTRICT_CODE,
        TOWN,
        STATION,
        PROVINCE,
        "4507",
    ]


def test_covers_by_prefix():
    assert covers(None, GRID)  # no restriction
    assert not covers([], GRID)  # no jurisdiction
    assert covers([TOWN], GRID)
    assert covers([TOWN], TOWN)
    assert covers([TOWN], STATION)
    assert not covers([TOWN], DISTRICT_CODE)  # a town does not cover its district
    assert not covers(["450702101"], GRID)  # a neighbouring town
    # A city code stands for its districts, as does the prefix it stands for.
    assert covers([CITY], GRID)
    assert covers(["4507"], DISTRICT_CODE)
    assert not covers([CITY], "450802100001001")
    assert covers(["450801", VILLAGE], GRID)  # any of the prefixes
    assert not covers([""], GRID)  # an empty prefix covers nothing


def test_overlaps_either_way():
    assert overlaps(None, TOWN)
    assert not overlaps([], TOWN)
    assert overlaps([VILLAGE], TOWN)  # a town overlaps a village in it
    assert overlaps([TOWN], VILLAGE)
    assert overlaps([VILLAGE], CITY)  # a city by its prefix
    assert not overlaps([VILLAGE], "450702101")
    assert not overlaps([""], TOWN)
