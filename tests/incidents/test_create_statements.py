"""POST /api/incidents/ with a known API token (issue 16, point 1): the login and its
jurisdiction come from the token cache, the covering grid, its role holders, the category's
tier and its time limits from the one routing statement; what remains are the inserts."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from incidents.models import Incident
from incidents.time_limits import time_limit
from tests.factories import UserFactory, WorkerFactory
from tests.incidents.test_api import feature, post
from tests.incidents.test_routing import World, build_world, world_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


def test_a_report_with_a_known_token_is_its_statements_and_no_more(
    api_client, world, django_assert_num_queries, settings
):
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10
    user = UserFactory()
    WorkerFactory(user=user)
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert post(api_client, feature()).status_code == 201
    # The routing statement (grid, holders, tier, time limits); the incident, its history
    # event, its report, its recipients, the workers' addresses, their inbox entries with
    # their delivery records (one statement); two savepoints (the service's transaction).
    # The category comes from the cache of active categories, the delivery jobs from the
    # records in hand.
    with django_assert_num_queries(9):
        res = post(api_client, feature())
    assert res.status_code == 201


def test_a_report_from_a_known_session_is_the_same_statements(
    client, world, django_assert_num_queries, settings
):
    """The field page reports with its session: the login and its jurisdiction come from
    the session cache (accounts.authentication.session_user), nothing is read twice."""
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10
    user = UserFactory()
    WorkerFactory(user=user)
    client.force_login(user)
    headers = {"content_type": "application/json"}
    assert client.post("/api/incidents/", feature(), **headers).status_code == 201
    with django_assert_num_queries(9):
        res = client.post("/api/incidents/", feature(), **headers)
    assert res.status_code == 201


@pytest.mark.parametrize("severity", ["red", "yellow", "blue"])
def test_the_deadlines_are_those_of_the_category_time_limits(api_client, world, severity):
    """The limits read in the routing statement are those ``time_limit`` reads."""
    from cases.deadlines import deadlines_from

    user = UserFactory(is_superuser=True)
    api_client.force_authenticate(user)
    res = post(api_client, feature(severity=severity))
    assert res.status_code == 201, res.content
    incident = Incident.objects.get(pk=res.json()["id"])
    expected = deadlines_from(
        incident.reported_at, time_limit(incident.category_id, incident.severity)
    )
    assert (incident.acknowledge_due_at, incident.resolve_due_at) == expected


def test_a_category_turned_off_is_refused_at_once_with_the_cache_on(api_client, world, settings):
    """The cache of active categories is cleared by the category's save in this process."""
    from incidents.models import Category

    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10
    user = UserFactory(is_superuser=True)
    api_client.force_authenticate(user)
    assert post(api_client, feature()).status_code == 201
    category = Category.objects.get(code="dispute")
    category.is_active = False
    category.save()
    res = post(api_client, feature())
    assert res.status_code == 400
    assert "category" in res.json()["errors"] or "category" in str(res.json())
    category.is_active = True
    category.save()
    assert post(api_client, feature()).status_code == 201
