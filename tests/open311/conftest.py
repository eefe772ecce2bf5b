"""Open311 fixtures: two districts side by side (A: the incidents routing world, B: one grid
east of it), a key for each, and a client that checks EVERY answer against the schemas
written from the GeoReport v2 specification (tests/open311/schemas: JSON Schema for JSON,
XSD for XML; an error answer against the error schemas)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import xmlschema
from django.test import Client

from open311.models import ApiKey
from open311.services import api_key_issue
from tests.factories import DistrictFactory, GridFactory, TownFactory, VillageFactory, rect
from tests.incidents.test_routing import World, build_world, world_generation

SCHEMAS = Path(__file__).parent / "schemas"
KINDS = ("discovery", "services", "service_definition", "post_request", "requests", "token")


@cache
def json_schema(kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / f"{kind}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@cache
def xml_schema(kind: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / f"{kind}.xsd"))


@dataclass
class Answer:
    status: int
    fmt: str
    body: Any  # the parsed JSON, or the XML root element
    raw: bytes


def check(response: Any, fmt: str, kind: str) -> Answer:
    """The answer parsed, after validating it: ``kind``'s schema for a 2xx, the error schema
    otherwise (the content type must match the format)."""
    kind = kind if response.status_code < 400 else "errors"
    raw = response.content
    if fmt == "json":
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
        body = json.loads(raw)
        json_schema(kind).validate(body)
    else:
        assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
        xml_schema(kind).validate(raw.decode())
        body = ET.fromstring(raw)
    return Answer(response.status_code, fmt, body, raw)


class Open311Client:
    """Requests to /open311/v2/, each answer checked against its schema."""

    def __init__(self, language: str = "en") -> None:
        self.client = Client(HTTP_ACCEPT_LANGUAGE=language)
        self.answers: list[Answer] = []

    def get(self, path: str, kind: str, **params: Any) -> Answer:
        fmt = path.rsplit(".", 1)[1]
        answer = check(self.client.get(f"/open311/v2/{path}", params), fmt, kind)
        self.answers.append(answer)
        return answer

    def post(self, path: str, data: dict[str, Any]) -> Answer:
        fmt = path.rsplit(".", 1)[1]
        answer = check(self.client.post(f"/open311/v2/{path}", data), fmt, "post_request")
        self.answers.append(answer)
        return answer


@dataclass
class Areas:
    world: World
    b_grid: Any
    key_a: ApiKey
    raw_a: str
    key_b: ApiKey
    raw_b: str

    @property
    def a(self) -> Any:
        return self.world.district

    @property
    def b(self) -> Any:
        return self.b_grid.village.town.district


@pytest.fixture
def areas(db) -> Areas:
    generation = world_generation()
    world = build_world(generation)
    b = DistrictFactory(geom=rect(100.4, 0.0, 100.5, 0.1), generation_low=generation)
    town = TownFactory(district=b, generation_low=generation)
    village = VillageFactory(town=town, generation_low=generation)
    grid = GridFactory(village=village, name="East gate grid", generation_low=generation)
    key_a = ApiKey(name="12345 hotline A", scope_code=world.district.code)
    raw_a = api_key_issue(api_key=key_a, actor=None)
    key_b = ApiKey(name="FixMyStreet B", scope_code=b.code)
    raw_b = api_key_issue(api_key=key_b, actor=None)
    return Areas(world, grid, key_a, raw_a, key_b, raw_b)


@pytest.fixture
def o311() -> Open311Client:
    return Open311Client()
