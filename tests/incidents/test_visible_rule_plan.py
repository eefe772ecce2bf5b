"""The one rule's "reported by the user" part as an array (``gridmap.db.expressions.InArray``)
rather than ``EXISTS`` per row: the same cases, inside a subquery too, and planned once
(an InitPlan, no subplan per row), so PostgreSQL can combine the rule's indexes and estimate
it. At city scale a grid worker's 290 cases were planned as 500,931 (``EXISTS`` in an ``OR``
passes half the table, to the planner), and a town's staff's map box away from the town
walked the whole date index (1.3 s; 34 ms now)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from accounts.models import AccountRole
from gridmap.db.expressions import InArray
from incidents.models import Incident, IncidentReport
from incidents.selectors import incidents_visible_to
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_lists import (  # noqa: F401 (fixtures)
    EAST,
    V3,
    WEST,
    make_case,
    reporter,
    world,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(world, reporter):  # noqa: F811
    other = UserFactory(username="other-reporter")
    made = {
        "west": make_case(reporter, WEST),
        "east": make_case(other, EAST),
        "v3": make_case(other, V3),
    }
    # A second report of the east case by the first reporter (a duplicate attached to it).
    first = made["east"].reports.first()
    IncidentReport.objects.create(
        incident=made["east"],
        reporter=reporter,
        location=first.location,
        reported_at=first.reported_at,
        description="Seen again",
    )
    return made


def test_in_array_is_the_same_set_as_exists(cases, reporter):  # noqa: F811
    reported = IncidentReport.objects.filter(reporter=reporter).values("incident_id")
    by_array = set(Incident.objects.filter(InArray(F("pk"), reported)).values_list("pk", flat=True))
    by_exists = set(
        Incident.objects.filter(
            Exists(IncidentReport.objects.filter(incident=OuterRef("pk"), reporter=reporter))
        ).values_list("pk", flat=True)
    )
    assert by_array == by_exists == {cases["west"].pk, cases["east"].pk}


def test_the_rule_inside_a_subquery_keeps_its_meaning(cases, reporter, world):  # noqa: F811
    """Django renames the tables of a subquery; the array's column follows."""
    AccountFactory(user=reporter, role=AccountRole.TOWN_STAFF, codes=[world.t2.code])
    visible = incidents_visible_to(reporter)
    direct = set(visible.values_list("pk", flat=True))
    nested = set(
        Incident.objects.filter(Q(pk__in=visible.values("pk")) | Q(pk=-1)).values_list(
            "pk", flat=True
        )
    )
    # Town 2's case, and the two the user reported (one of them as a duplicate's reporter).
    assert direct == nested == {cases["west"].pk, cases["east"].pk, cases["v3"].pk}


def test_the_rule_is_planned_once_not_per_row(cases, reporter, world):  # noqa: F811
    AccountFactory(user=reporter, role=AccountRole.VILLAGE_STAFF, codes=[world.v2.code])
    sql, params = incidents_visible_to(reporter).order_by().values("pk").query.sql_with_params()
    assert "EXISTS" not in sql.upper()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "InitPlan" in plan and "SubPlan" not in plan, plan
