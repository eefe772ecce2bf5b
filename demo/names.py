"""Synthetic Chinese names, addresses and personal numbers for the demo (pure numpy).

The word lists live in ``fixtures/demo/`` (see its README). Nothing here touches Django.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "demo"

# GB 11643 (resident identity number): weights of the 17 digits and the ISO 7064 MOD 11-2
# check character for a weighted sum modulo 11.
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = np.array(list("10X98765432"))
# Mobile prefixes of the three operators.
PHONE_PREFIXES = np.array(
    [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158, 159,
     176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199],
    dtype=np.int64,
)  # fmt: skip


def _lines(name: str) -> list[str]:
    out: list[str] = []
    for raw in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and line not in out:
            out.append(line)
    return out


@dataclass(frozen=True)
class NameLists:
    surnames: np.ndarray
    surname_p: np.ndarray
    given_male: np.ndarray
    given_female: np.ndarray
    place_first: list[str]
    place_second: list[str]
    community_stems: list[str]
    roads: list[str]
    town_roads: list[str]
    qinzhou: dict[str, Any]


@lru_cache(maxsize=1)
def name_lists() -> NameLists:
    surnames, weights = [], []
    for line in _lines("surnames.txt"):
        name, weight = line.split()
        surnames.append(name)
        weights.append(float(weight))
    p = np.array(weights)
    return NameLists(
        surnames=np.array(surnames),
        surname_p=p / p.sum(),
        given_male=np.array(_lines("given_male.txt")),
        given_female=np.array(_lines("given_female.txt")),
        place_first=_lines("place_first.txt"),
        place_second=_lines("place_second.txt"),
        community_stems=_lines("community_stems.txt"),
        roads=_lines("roads.txt"),
        town_roads=_lines("town_roads.txt"),
        qinzhou=json.loads((FIXTURES / "qinzhou.json").read_text(encoding="utf-8")),
    )


class PlaceNamer:
    """Unique place stems, rural (那丽, 大垌) and urban (向阳, 建设), in a seeded order."""

    def __init__(self, rng: np.random.Generator) -> None:
        lists = name_lists()
        pool = [a + b for a in lists.place_first for b in lists.place_second if a != b]
        self._rural = [pool[i] for i in rng.permutation(len(pool))]
        urban = lists.community_stems
        self._urban = [urban[i] for i in rng.permutation(len(urban))]
        self.used: set[str] = set()

    def _take(self, pool: list[str]) -> str | None:
        while pool:
            stem = pool.pop()
            if stem not in self.used:
                self.used.add(stem)
                return stem
        return None

    def rural(self) -> str:
        stem = self._take(self._rural)
        if stem is None:
            raise ValueError("The demo ran out of place names; add syllables to fixtures/demo.")
        return stem

    def urban(self) -> str:
        return self._take(self._urban) or self.rural()

    def claim(self, stem: str) -> bool:
        """Mark ``stem`` used; False if it already was."""
        if stem in self.used:
            return False
        self.used.add(stem)
        return True


def person_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """A Chinese name for each entry of the boolean array ``male`` (surname + 1-2 characters)."""
    lists = name_lists()
    n = len(male)
    surname = lists.surnames[rng.choice(len(lists.surnames), size=n, p=lists.surname_p)]
    return given_names(rng, male, surname)


def given_names(rng: np.random.Generator, male: np.ndarray, surname: np.ndarray) -> np.ndarray:
    """``surname`` + a given name of one (25%) or two characters, by sex."""
    lists = name_lists()
    n = len(male)
    pools = (lists.given_female, lists.given_male)
    chars = []
    for _ in range(2):
        f = pools[0][rng.integers(len(pools[0]), size=n)]
        m = pools[1][rng.integers(len(pools[1]), size=n)]
        chars.append(np.where(male, m, f))
    two = rng.random(n) < 0.75
    second = np.where(two, chars[1], "")
    return np.char.add(np.char.add(surname.astype(str), chars[0]), second)


def surnames_of(names: np.ndarray) -> np.ndarray:
    """The surname (first character) of each name."""
    return np.array([s[:1] for s in names]) if len(names) else np.array([], dtype="<U1")


def id_numbers(
    rng: np.random.Generator, region: np.ndarray, birth: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """Well-formed, distinct 18-character resident ID numbers (GB 11643).

    ``region`` is the 6-digit area code (int), ``birth`` a datetime64[D] array. The 3-digit
    sequence is odd for men and even for women, unique per (region, birth date); the last
    character is the ISO 7064 MOD 11-2 check character.
    """
    n = len(region)
    if n == 0:
        return np.array([], dtype="<U18")
    day = birth.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    year = month.astype("datetime64[Y]").astype(np.int64) + 1970
    yyyymmdd = (
        year * 10000 + (month.astype(np.int64) % 12 + 1) * 100 + (day - month).astype(np.int64) + 1
    )
    key = region.astype(np.int64) * 100_000_000 + yyyymmdd
    order = np.lexsort((rng.random(n), key))
    sorted_key = key[order]
    starts = np.r_[0, np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1]
    run = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - run
    offset = rng.integers(0, 200, size=n)  # where each (region, day) starts numbering
    offset_by_key = np.empty(n, dtype=np.int64)
    offset_by_key[order] = offset[order][run]
    seq = ((offset_by_key + rank) % 500) * 2 + male.astype(np.int64)
    body = key * 1000 + seq  # 17 digits
    digits = (body[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64)) % 10
    check = ID_CHECK[(digits * ID_WEIGHTS).sum(1) % 11]
    return np.char.add(body.astype(str), check)


def id_number_valid(value: str) -> bool:
    """True when ``value`` is 17 digits and the right check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(c) * int(w) for c, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return value[17] == str(ID_CHECK[total % 11])


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` synthetic 11-digit mobile numbers."""
    prefix = PHONE_PREFIXES[rng.integers(len(PHONE_PREFIXES), size=n)]
    return (prefix * 100_000_000 + rng.integers(0, 100_000_000, size=n)).astype(str)


def birth_dates(rng: np.random.Generator, n: int, oldest: int, youngest: int) -> np.ndarray:
    """Birth dates of people aged ``youngest``..``oldest`` on 2025-01-01, datetime64[D]."""
    start = np.datetime64(f"{2025 - oldest}-01-01")
    days = int((np.datetime64(f"{2025 - youngest}-01-01") - start).astype(int))
    return start + rng.integers(0, days, size=n).astype("timedelta64[D]")
