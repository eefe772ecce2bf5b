"""incidents.services.incident_create and selectors.duplicates_nearby."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image

from grids.models import Role
from grids.services import boundary_supersede
from inbox.models import Notification
from incidents import notifications, routing, services
from incidents.models import (
    Category,
    Incident,
    IncidentPhoto,
    IncidentRecipient,
    IncidentReport,
    RecipientKind,
    Responder,
)
from incidents.selectors import duplicates_nearby, incident_details
from tests.factories import GenerationFactory, RoleAssignmentFactory, UserFactory, WorkerFactory
from tests.incidents.test_routing import World, _since, build_world, end, rect, world_generation

pytestmark = pytest.mark.django_db

WEST = Point(100.02, 0.05, srid=4326)


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture
def dispute() -> Category:
    return Category.objects.get(code="dispute")


@pytest.fixture
def reporter():
    return UserFactory(username="reporter")


def image(
    fmt: str = "JPEG", size: tuple[int, int] = (8, 8), name: str = "p.jpg"
) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, "red").save(buf, format=fmt)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="application/octet-stream")


def counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count()
        for m in (Incident, IncidentReport, IncidentRecipient, IncidentPhoto, Notification)
    )


def create(reporter, category, **kwargs):
    args = {"point": WEST, "severity": None, "description": "Two neighbours quarrel"}
    return services.incident_create(actor=reporter, category=category, **{**args, **kwargs})


# --- creating ---------------------------------------------------------------------------------
def test_create_records_the_routing_and_a_snapshot_of_each_recipient(world, dispute, reporter):
    incident, created = create(reporter, dispute, severity="yellow")

    assert created
    incident.refresh_from_db()
    assert incident.grid_id == world.west.pk
    assert incident.village_id == world.v1.pk
    assert incident.town_id == world.t1.pk
    assert incident.generation_id == world.generation.pk
    assert incident.place_code == world.west.code
    assert incident.responsible_level == "village"
    assert incident.severity == "yellow"
    assert incident.explanation[0]["msgid"] == routing.EXPLAIN_IN_GRID
    stored = {
        (r.kind, r.responder, r.role, r.name, r.phone, r.worker_id)
        for r in incident.recipients.all()
    }
    leader = world.people["W leader"].worker
    assert (
        RecipientKind.ROUTED,
        Responder.GRID_LEADER,
        Role.GRID_LEADER,
        leader.name,
        leader.phone,
        leader.pk,
    ) in stored
    # Yellow: the blue tier, the mediation team and the village team (issue 12: the party
    # secretary; the world has no legal adviser or auxiliary police officer).
    assert {r[3] for r in stored} == {
        "W leader", "W guide", "Central member", "V1 director", "V1 team A", "V1 team B",
        "V1 secretary",
    }  # fmt: skip
    report = incident.reports.get()
    assert (report.reporter, report.description) == (reporter, "Two neighbours quarrel")


def test_create_without_severity_takes_the_categorys_default(world, reporter):
    hazard = Category.objects.get(code="hazard")
    incident, _ = create(reporter, hazard)
    assert incident.severity == hazard.default_severity == "yellow"


def test_create_notifies_inside_the_same_transaction(world, dispute, reporter, monkeypatch):
    seen = []

    def fake_notify(incident):
        seen.append((incident.pk, sorted(r.name for r in incident.recipients.all())))

    monkeypatch.setattr(notifications, "notify_incident", fake_notify)
    incident, _ = create(reporter, dispute)
    assert seen == [(incident.pk, sorted(incident.recipients.values_list("name", flat=True)))]


def test_the_returned_incident_renders_without_queries(
    world, dispute, reporter, django_assert_num_queries
):
    incident, _ = create(reporter, dispute)
    with django_assert_num_queries(0):
        assert incident.reporter_count == 1
        assert incident.grid.code == world.west.code
        assert len(incident.recipients.all()) == 4
        assert [list(r.photos.all()) for r in incident.reports.all()] == [[]]


def test_create_is_a_few_statements(world, dispute, reporter, django_assert_max_num_queries):
    # routing 1, time limits 1, incident 1, first history event 1, report 1, recipients 1,
    # notifications 1, their delivery records 2 (the workers' addresses, one insert),
    # savepoints 2
    with django_assert_max_num_queries(11):
        create(reporter, dispute)


# --- nothing half-written -----------------------------------------------------------------------
def test_outside_every_district_stores_nothing(world, dispute, reporter):
    before = counts()
    with pytest.raises(routing.OutsideEveryDistrict):
        create(reporter, dispute, point=Point(101.5, 0.5, srid=4326))
    assert counts() == before


def test_a_failure_after_routing_rolls_everything_back(world, dispute, reporter, monkeypatch):
    def broken(incident):
        raise RuntimeError("channel down")

    monkeypatch.setattr(notifications, "notify_incident", broken)
    before = counts()
    with pytest.raises(RuntimeError):
        create(reporter, dispute)
    assert counts() == before


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"description": "   "}, "description", services.MSG_DESCRIPTION_REQUIRED),
        ({"severity": "purple"}, "severity", services.MSG_BAD_SEVERITY),
        (
            {"reported_at": timezone.now() + dt.timedelta(hours=1)},
            "reported_at",
            services.MSG_REPORTED_IN_FUTURE,
        ),
    ],
)
def test_bad_input_raises_field_errors_and_stores_nothing(
    world, dispute, reporter, kwargs, field, message
):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        create(reporter, dispute, **kwargs)
    assert caught.value.message_dict[field] == [gettext(message)]
    assert counts() == before


# --- photos -------------------------------------------------------------------------------------
def test_photos_are_stored_with_their_type_judged_by_content(world, dispute, reporter):
    png_named_txt = image("PNG", name="notes.txt")
    webp = image("WEBP", name="w.webp")
    incident, _ = create(reporter, dispute, photos=[image(), png_named_txt, webp])

    photos = IncidentPhoto.objects.filter(report__incident=incident).order_by("id")
    assert [p.content_type for p in photos] == ["image/jpeg", "image/png", "image/webp"]
    assert all(p.size > 0 and p.image.name.startswith(f"incidents/{incident.pk}/") for p in photos)


def test_more_than_three_photos_are_refused(world, dispute, reporter):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        create(reporter, dispute, photos=[image() for _ in range(4)])
    assert caught.value.message_dict["photos"] == [
        gettext(services.MSG_TOO_MANY_PHOTOS) % {"max": 3}
    ]
    assert counts() == before


def test_a_photo_over_5_mb_is_refused(world, dispute, reporter):
    big = SimpleUploadedFile("big.jpg", image().read() + b"\0" * (5 * 1024 * 1024))
    with pytest.raises(ValidationError) as caught:
        create(reporter, dispute, photos=[big])
    assert caught.value.message_dict["photos"] == [
        gettext(services.MSG_PHOTO_TOO_BIG) % {"name": "big.jpg", "max_mb": 5}
    ]


@pytest.mark.parametrize(
    "photo",
    [
        SimpleUploadedFile("fake.jpg", b"this is not an image", content_type="image/jpeg"),
        SimpleUploadedFile("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    ],
    ids=["text-named-jpg", "gif"],
)
def test_a_file_that_is_not_jpeg_png_or_webp_is_refused(world, dispute, reporter, photo):
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    if photo.name == "anim.gif":
        photo = SimpleUploadedFile("anim.gif", gif.getvalue())
    before = counts()
    with pytest.raises(ValidationError) as caught:
        create(reporter, dispute, photos=[photo])
    assert caught.value.message_dict["photos"] == [
        gettext(services.MSG_PHOTO_TYPE) % {"name": photo.name}
    ]
    assert counts() == before


# --- idempotence and duplicates ---------------------------------------------------------------
def test_a_resent_client_uuid_returns_the_same_incident_and_stores_nothing(
    world, dispute, reporter
):
    key = uuid.uuid4()
    first, created = create(reporter, dispute, client_uuid=key)
    before = counts()
    again, created_again = create(reporter, dispute, client_uuid=key, description="resent")

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert counts() == before
    assert again.reporter_count == 1


def test_attach_to_adds_a_report_and_raises_the_reporter_count_only(world, dispute, reporter):
    incident, _ = create(reporter, dispute)
    recipients = list(incident.recipients.values_list("id", flat=True))
    other = UserFactory(username="second")
    notified = Notification.objects.count()

    attached, created = services.incident_create(
        actor=other,
        point=Point(100.0201, 0.0501, srid=4326),
        category=dispute,
        severity="red",
        description="I saw it too",
        attach_to=incident,
    )

    assert created and attached.pk == incident.pk
    assert attached.reporter_count == 2
    assert list(attached.recipients.values_list("id", flat=True)) == recipients
    fresh = Incident.objects.get(pk=incident.pk)
    assert (fresh.severity, fresh.description) == ("blue", "Two neighbours quarrel")
    assert [r.reporter for r in fresh.reports.order_by("id")] == [reporter, other]
    assert Notification.objects.count() == notified


def test_attach_to_a_closed_incident_is_refused(world, dispute, reporter):
    incident, _ = create(reporter, dispute)
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    with pytest.raises(ValidationError) as caught:
        create(reporter, dispute, attach_to=incident)
    assert "attach_to" in caught.value.message_dict


# --- routing is recorded, never recomputed ------------------------------------------------------
def test_a_handover_and_a_boundary_change_do_not_rewrite_a_recorded_incident(
    world, dispute, reporter
):
    incident, _ = create(reporter, dispute)
    recorded = list(
        incident.recipients.order_by("id").values_list("worker_id", "role", "name", "phone")
    )
    old_grid = incident.grid_id

    end(world.people["W leader"], days_ago=0)
    RoleAssignmentFactory(
        grid=world.west, role=Role.GRID_LEADER, worker=WorkerFactory(name="New"), period=_since(0)
    )
    boundary_supersede(
        world.west, generation=GenerationFactory(), geom=rect(100.0, 0.0, 100.04, 0.1)
    )
    world.people["W guide"].worker.name = "Renamed"
    world.people["W guide"].worker.save()

    fresh = incident_details().get(pk=incident.pk)
    assert (
        list(fresh.recipients.order_by("id").values_list("worker_id", "role", "name", "phone"))
        == recorded
    )
    assert fresh.grid_id == old_grid
    assert not [name for name in dir(services) if "route" in name and name != "route"]


# --- duplicates ---------------------------------------------------------------------------------
def test_duplicates_are_open_same_category_within_100_m_and_7_days_nearest_first(
    world, dispute, reporter
):
    now = timezone.now()
    m = 1 / 111_320

    def at(metres_east: float, **kwargs):
        point = Point(100.02 + metres_east * m, 0.05, srid=4326)
        incident, _ = create(reporter, kwargs.pop("category", dispute), point=point, **kwargs)
        return incident

    far = at(90)
    near = at(30)
    at(120)  # too far
    at(10, category=Category.objects.get(code="hazard"))  # another category
    old = at(5, reported_at=now - dt.timedelta(days=8))  # too old
    closed = at(5)
    Incident.objects.filter(pk=closed.pk).update(status="closed")
    services.incident_create(
        actor=reporter,
        point=WEST,
        category=dispute,
        severity=None,
        description="again",
        attach_to=near,
    )

    found = list(duplicates_nearby(point=WEST, category=dispute, at=now + dt.timedelta(seconds=1)))

    assert [i.pk for i in found] == [near.pk, far.pk]
    assert [round(i.distance.m) for i in found] == [30, 90]
    assert [i.reporter_count for i in found] == [2, 1]
    assert old.pk not in {i.pk for i in found}
