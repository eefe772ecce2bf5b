"""Compiled statements kept per login (``gridmap.statements``, issue 16 point 1): a kept
template gives exactly what the ORM gives for every value, builds nothing on a repeat, keeps
shapes apart, and refuses to keep what the ORM does not pass as a plain parameter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q

from gridmap import statements
from gridmap.params import bbox_of
from incidents.models import Incident
from tests.incidents.test_lists import (  # noqa: F401 (fixtures)
    EAST,
    V3,
    WEST,
    make_case,
    reporter,
    world,
)

pytestmark = pytest.mark.django_db


class Build:
    """A list's filter (the box, the status, a code), counting its compilations."""

    def __init__(self, lookup: str = "category__code") -> None:
        self.calls = 0
        self.lookup = lookup

    def __call__(self, values: Mapping[str, Any]) -> tuple[str, Any]:
        self.calls += 1
        qs = Incident.objects.all()
        if values.get("bbox") is not None:
            qs = qs.filter(location__intersects=values["bbox"])
        if values.get("status") is not None:
            qs = qs.filter(status=values["status"])
        if values.get("code") is not None:
            qs = qs.filter(**{self.lookup: values["code"]})
        return qs.order_by().values("pk", "reported_at").query.sql_with_params()


def plain(values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = Build()(values)
    return sql, tuple(params)


def rows(statement: tuple[str, Any]) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return {pk for pk, _ in cursor.fetchall()}


@pytest.fixture
def cases(world, reporter):  # noqa: F811
    return {
        "west": make_case(reporter, WEST, category="dispute"),
        "east": make_case(reporter, EAST, category="dispute"),
        "v3": make_case(reporter, V3, category="hazard"),
    }


BOXES = ["100.0,0.0,100.05,0.1", "100.05,0.0,100.1,0.1", "100.0,0.0,100.3,0.1", "0,0,1,1"]


def test_without_a_memo_each_request_compiles():
    build = Build()
    values = {"bbox": bbox_of(BOXES[0]), "status": "reported", "code": None}
    assert statements.compiled(None, "k", build, values) == plain(values)
    statements.compiled(None, "k", build, values)
    assert build.calls == 2


def test_a_kept_template_gives_what_the_orm_gives(cases):
    build, memo = Build(), {}
    for box in BOXES:
        for status in ("reported", "closed"):
            for code in ("dispute", "hazard"):
                values = {"bbox": bbox_of(box), "status": status, "code": code}
                got = statements.compiled(memo, "list", build, values)
                expected = plain({"bbox": bbox_of(box), "status": status, "code": code})
                assert got == expected
                assert rows(got) == rows(expected)
    # One shape: built twice the first time (with sentinels, then to prove them), then never.
    assert build.calls == 2
    assert len(memo) == 1


def test_the_kept_box_finds_the_cases_in_it(cases):
    build, memo = Build(), {}
    found = [rows(statements.compiled(memo, "list", build, {"bbox": bbox_of(b)})) for b in BOXES]
    assert found == [
        {cases["west"].pk},
        {cases["east"].pk},
        {cases["west"].pk, cases["east"].pk, cases["v3"].pk},
        set(),
    ]


def test_shapes_and_keys_are_kept_apart(cases):
    build, memo = Build(), {}

    def with_status() -> dict[str, Any]:
        return {"bbox": bbox_of(BOXES[2]), "status": "reported"}

    def without() -> dict[str, Any]:
        return {"bbox": bbox_of(BOXES[2]), "status": None}

    for _ in range(2):
        assert statements.compiled(memo, "a", build, with_status()) == plain(with_status())
        assert statements.compiled(memo, "a", build, without()) == plain(without())
        assert statements.compiled(memo, "b", build, without()) == plain(without())
    assert len(memo) == 3


def test_a_value_the_orm_changes_is_compiled_every_time(cases):
    """``__startswith`` passes ``code%``, not the value: no slot for it, nothing kept."""
    build, memo = Build(lookup="place_code__startswith"), {}
    for code in (cases["west"].place_code[:9], cases["v3"].place_code[:9]):
        values = {"code": code}
        got = statements.compiled(memo, "list", build, values)
        sql, params = Build(lookup="place_code__startswith")(values)
        assert got == (sql, tuple(params))
    assert build.calls == 3  # the first: sentinels and values; the second: the values


def test_a_value_of_another_kind_is_refused():
    with pytest.raises(TypeError):
        statements.compiled({}, "list", Build(), {"code": 7})


def test_the_memo_stays_bounded():
    build, memo = Build(), {}
    for n in range(statements.MAX_SHAPES + 5):
        statements.compiled(memo, ("list", n), build, {"status": "reported"})
    assert len(memo) <= statements.MAX_SHAPES


def test_a_lookup_that_changes_only_some_values_is_never_kept(cases):
    """A lookup that leaves a plain value alone but changes others (here: one that doubles
    backslashes and escapes ``%``, as a LIKE would) must not be kept on the strength of a
    plain first value: the sentinel carries such characters."""

    def escaping(values: Mapping[str, Any]) -> tuple[str, Any]:
        qs = Incident.objects.all()
        if values.get("code") is not None:
            escaped = values["code"].replace("\\", "\\\\").replace("%", "\\%")
            qs = qs.filter(Q(place_code=escaped))
        return qs.order_by().values("pk").query.sql_with_params()

    memo: dict[Any, Any] = {}
    statements.compiled(memo, "list", escaping, {"code": "plain"})
    got = statements.compiled(memo, "list", escaping, {"code": "50%"})
    sql, params = escaping({"code": "50%"})
    assert got == (sql, tuple(params))
