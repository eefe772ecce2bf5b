"""Compiled statements kept per login (issue 16 point 1: "SQL that is not recompiled per
request").

The ORM builds and compiles a list's filter on every request: the jurisdiction rule (``OR``
of place, owner, roles, reporter), then the request's own filters. For the API's incident
list that was 0.5-0.6 ms of a 3-4 ms answer whose statement costs 1.8 ms at city scale. The
SQL *text* of the rule depends only on who asks; the request's filters change it only by
which of them are present; their values are parameters.

``compiled(memo, key, build, values)`` keeps that text. On the first request of a shape it
builds the statement twice: once with a *sentinel* in place of each value, once with the
values themselves. The sentinels show which parameters are the values' (slots); the second
build proves it: the texts must be equal, and the values put into the slots must give the
very parameters the ORM gave. Only then is the template kept; otherwise the shape is marked
as one to compile every time. Later requests of the shape fill the slots and skip the ORM.

The ``memo`` is the caller's: for the lists it is the login's own
(``accounts.selectors.statement_memo``), kept with the login for the few seconds
``accounts.authentication`` caches it and thrown away with it (a role ended, a logout), so
what one login compiled is never another's and never outlives its jurisdiction. With no memo
(the login is not cached: ``GRIDMAP_AUTH_CACHE_SECONDS = 0``) every request compiles.

Values may be text (an exact match: ``status=``, ``category__code=``) or geometries (a spatial
lookup's argument); anything that shapes the SQL (a flag that adds a condition) belongs in
``key``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import GEOSGeometry, Point

Compiled = tuple[str, tuple[Any, ...]]

# Shapes kept per memo at most (a login asks a handful: which filters it sets).
MAX_SHAPES = 64


@dataclass(frozen=True)
class _Template:
    sql: str
    params: tuple[Any, ...]
    # (index of a parameter, name of the value that goes there)
    slots: tuple[tuple[int, str], ...]


# A shape whose values do not land as plain parameters (the ORM transformed or inlined
# them): compiled every time.
_UNUSABLE = object()


def compiled(
    memo: MutableMapping[Hashable, Any] | None,
    key: Hashable,
    build: Callable[[Mapping[str, Any]], tuple[str, Sequence[Any]]],
    values: Mapping[str, Any],
) -> Compiled:
    """``build(values)`` (a statement's SQL and parameters), from ``memo``'s template for
    ``key`` and the shape of ``values`` when there is one. ``build`` is called with
    ``values`` or with sentinels in their place; a value of None is absent (``build`` leaves
    its filter out) and is passed as None."""
    if memo is None:
        return _plain(build(values))
    present = {name: value for name, value in values.items() if value is not None}
    shape = (key, tuple(sorted((name, _kind(value)) for name, value in present.items())))
    template = memo.get(shape)
    if template is None:
        sentinels = {
            name: _sentinel(name, value, i) for i, (name, value) in enumerate(present.items())
        }
        marked = build({**values, **sentinels})
        real = _plain(build(values))
        template = _template(marked, real, sentinels, present) or _UNUSABLE
        if len(memo) >= MAX_SHAPES:
            memo.clear()
        memo[shape] = template
        return real
    if template is _UNUSABLE:
        return _plain(build(values))
    params = list(template.params)
    for index, name in template.slots:
        params[index] = _rebind(params[index], present[name])
    return template.sql, tuple(params)


def _plain(statement: tuple[str, Sequence[Any]]) -> Compiled:
    sql, params = statement
    return sql, tuple(params)


def _kind(value: Any) -> Hashable:
    if isinstance(value, str):
        return "text"
    if isinstance(value, GEOSGeometry):
        return ("geometry", value.srid)
    raise TypeError(f"Not a value a compiled statement can take: {type(value).__name__}")


def _sentinel(name: str, value: Any, index: int) -> Any:
    """A value of ``value``'s kind that no request sends (a NUL is refused at the door:
    ``gridmap.middleware.RefuseNulBytes``; no place lies at this point). The text holds
    what a lookup would escape, fold or trim (``%``, ``_``, a backslash, both cases, spaces),
    so that a lookup that changes some values but not a plain one finds no slot."""
    if isinstance(value, str):
        return f"\x00 {name} %_\\Aa \x00"
    return Point(-179.987654321, -89.123456789 + index * 1e-6, srid=value.srid)


def _is_sentinel(param: Any, sentinel: Any) -> bool:
    if isinstance(sentinel, str):
        return type(param) is str and param == sentinel
    return getattr(param, "ewkb", None) == bytes(sentinel.ewkb)


def _rebind(param: Any, value: Any) -> Any:
    """The parameter ``param`` (a sentinel's, as the ORM passed it) carrying ``value``."""
    if isinstance(value, str):
        return value
    if value.srid is None:
        # What the ORM does to a geometry without one: the field's (the sentinel got it).
        value.srid = param.srid
    clone = copy.copy(param)  # the backend's adapter, its options (geography) kept
    clone.ewkb = bytes(value.ewkb)
    clone.srid = value.srid
    return clone


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b and _vars(a) == _vars(b)


def _vars(value: Any) -> dict[str, Any]:
    """An object's attributes (an adapter's ``srid``, ``geography``), or none."""
    return dict(getattr(value, "__dict__", {}))


def _template(
    marked: tuple[str, Sequence[Any]],
    real: Compiled,
    sentinels: Mapping[str, Any],
    values: Mapping[str, Any],
) -> _Template | None:
    """The template of ``marked`` (built with ``sentinels``), when the values put into its
    slots give exactly ``real`` (built with ``values``); else None."""
    sql, params = marked
    if sql != real[0] or len(params) != len(real[1]):
        return None
    slots: list[tuple[int, str]] = []
    for index, param in enumerate(params):
        names = [name for name, s in sentinels.items() if _is_sentinel(param, s)]
        if len(names) > 1:
            return None
        if names:
            slots.append((index, names[0]))
            expected = _rebind(param, values[names[0]])
        else:
            expected = param
        if not _same(expected, real[1][index]):
            return None
    if {name for _, name in slots} != set(sentinels):
        return None  # a value that did not land as a parameter of its own
    return _Template(sql, tuple(params), tuple(slots))
