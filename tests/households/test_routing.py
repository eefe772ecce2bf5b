"""households.routing: the engine's own names (msgids, labels, rendering) and the routing of
a ten-household unit, on the world of tests/incidents/test_routing.py."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.utils import translation
from django.utils.translation import gettext

from gridmap.codes import Level
from grids.models import Role
from households import routing
from households.routing import Responder, render_explanation, route_unit
from inbox.models import RecipientKind
from tests.incidents.test_routing import end, now, routed

pytestmark = pytest.mark.django_db


def test_route_unit_names_the_leader_and_the_guide_both_routed(world):
    result = route_unit(point=Point(100.02, 0.05, srid=4326), at=now())
    assert routed(result) == {
        (RecipientKind.ROUTED, Responder.GRID_LEADER): "W leader",
        (RecipientKind.ROUTED, Responder.PARTY_GUIDE): "W guide",
    }
    assert result.responsible_level == Level.GRID


def test_route_unit_falls_back_on_vacancies(world):
    end(world.people["W leader"])
    world.people["W guide"].delete()
    result = route_unit(point=Point(100.02, 0.05, srid=4326), at=now())
    assert {(p.responder, p.role, p.name) for p in result.recipients} == {
        (Responder.GRID_LEADER, Role.VILLAGE_SECRETARY, "V1 secretary"),
        (Responder.PARTY_GUIDE, Role.STATION_HEAD, "S1 head"),
    }


# --- the engine's words ---------------------------------------------------------------------
def test_every_explanation_msgid_is_marked_for_translation():
    """Each EXPLAIN_ constant is a literal gettext_noop string with named placeholders only,
    so makemessages finds it and a translation can reorder the parameters."""
    import re

    with open(routing.__file__, encoding="utf-8") as f:
        source = f.read()
    constants = {k: v for k, v in vars(routing).items() if k.startswith("EXPLAIN")}
    assert len(constants) >= 15
    for name, msgid in constants.items():
        assert re.search(rf"{name} = gettext_noop\(", source), name
        assert not re.search(r"%[sd]", msgid), name


def test_the_role_labels_are_the_models_labels():
    with translation.override("en"):
        labels = {code: str(label) for code, label in Responder.choices}
        assert {k: gettext(v) for k, v in routing.LABELS.items()} == labels


def test_explanation_parts_render_without_a_database():
    parts = [
        {"msgid": routing.EXPLAIN_IN_GRID, "params": {"code": "1", "name": "G"}},
        {"msgid": routing.EXPLAIN_LEVEL, "params": {"level": {"msgid": "grid"}}},
    ]
    with translation.override("en"):
        assert render_explanation(parts) == "In grid 1 (G); responsible level: grid."
    assert render_explanation([]) == ""
