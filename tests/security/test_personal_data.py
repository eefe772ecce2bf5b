"""Threat: residents' ID numbers and phone numbers read by people who have no need of them, or
by anyone who gets a copy of the database, a cache or a log.

Found before the fix: a central household's phone (its household's phone, which the households
API masked) appeared unmasked in the routing recipients of ``/api/incidents/<id>/`` and
``/cases/<id>/`` for station, town and planner roles and on ``/admin/grids/worker/`` for
district and city administrators; nobody could tell who had read a number; the numbers stood
in plain text in the database; admin search terms (ID numbers) went into the server log.

What fixed it:

- one rule, ``gridmap.personal_data.show``: unmasked only for the roles that visit households
  (``accounts.selectors.can_see_personal_data``), masked for everyone else, everywhere
  (households API, incidents API, case page, ten-household unit answer, admin);
- every unmasked view is written to the append-only access log (``privacy``), one row per
  request; district administrators read and export the log of their district;
- ``Cache-Control: no-store`` on every answer that carries personal data (the middleware);
- ID numbers and phones are encrypted at rest (``gridmap.crypto``, MultiFernet), with a keyed
  hash for exact search and ``manage.py rotate_field_keys``;
- a logging filter takes ID numbers and phones out of log lines.
"""

from __future__ import annotations

import csv
import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import Client, override_settings
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from accounts.models import AccountRole
from accounts.services import account_upsert
from gridmap import crypto, personal_data
from gridmap.logfilters import RedactPersonalNumbers
from households.models import Household
from households.selectors import households_by_number_q
from incidents.models import Category, Responder
from incidents.services import incident_create
from privacy.models import AccessLogEntry
from tests.factories import UserFactory
from tests.incidents.test_routing import build_world, world_generation

pytestmark = pytest.mark.django_db

ID_NUMBER = "450702199001011234"
PHONE = "13812345678"
MASKED_PHONE = "138****5678"
MASKED_ID = "450702********1234"
OTHER_DISTRICT = "990299"


@pytest.fixture
def world():
    world = build_world(world_generation())
    head = world.unit.head_household
    head.id_number, head.phone = ID_NUMBER, PHONE
    head.save()
    # A central household's worker record carries its household's phone.
    world.central_worker.phone = PHONE
    world.central_worker.save()
    return world


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def incident(world, root):
    made, _ = incident_create(
        actor=root,
        point=Point(100.02, 0.05, srid=4326),
        category=Category.objects.get(code="dispute"),
        severity="blue",
        description="A quarrel over a wall",
    )
    central = made.recipients.filter(responder=Responder.CENTRAL_HOUSEHOLD)
    assert [r.phone for r in central] == [PHONE]
    return made


def codes_for(role: AccountRole, world) -> list[str]:
    return {
        AccountRole.GRID_WORKER: [world.west.code],
        AccountRole.VILLAGE_STAFF: [world.v1.code],
        AccountRole.STATION_STAFF: [world.station.code],
        AccountRole.TOWN_STAFF: [world.t1.code],
        AccountRole.PLANNER: [world.t1.code],
        AccountRole.DISTRICT_ADMIN: [world.district.code],
        AccountRole.CITY_ADMIN: [world.district.code[:4] + "00"],
    }[role]


def login(role: AccountRole, world) -> Client:
    account = account_upsert(
        username=f"u-{role}", password="x-Secret-123", role=role, codes=codes_for(role, world)
    )
    client = Client()
    client.force_login(account.user)
    return client


MASKED_ROLES = [
    AccountRole.STATION_STAFF,
    AccountRole.TOWN_STAFF,
    AccountRole.PLANNER,
    AccountRole.DISTRICT_ADMIN,
    AccountRole.CITY_ADMIN,
]
VISITING_ROLES = [AccountRole.GRID_WORKER, AccountRole.VILLAGE_STAFF]


def central_phone(answer) -> str:
    recipients = answer.json()["properties"]["recipients"]
    return next(r["phone"] for r in recipients if r["responder"] == Responder.CENTRAL_HOUSEHOLD)


# --- masked everywhere for the roles that do not visit households ----------------------------
@pytest.mark.parametrize("role", MASKED_ROLES)
def test_the_central_households_phone_is_masked_on_the_incident_api_and_case_page(
    role, world, incident
):
    client = login(role, world)
    before = AccessLogEntry.objects.count()

    api = client.get(f"/api/incidents/{incident.pk}/")
    page = client.get(f"/cases/{incident.pk}/")

    assert api.status_code == 200 and page.status_code == 200
    assert central_phone(api) == MASKED_PHONE
    assert PHONE not in api.content.decode() and PHONE not in page.content.decode()
    assert MASKED_PHONE in page.content.decode()
    assert AccessLogEntry.objects.count() == before


@pytest.mark.parametrize("role", [AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN])
def test_the_admin_worker_list_and_form_mask_a_central_households_phone(role, world):
    client = login(role, world)

    listing = client.get("/admin/grids/worker/?q=Central")
    form = client.get(f"/admin/grids/worker/{world.central_worker.pk}/change/")

    assert listing.status_code == 200, listing.status_code
    assert "Central member" in listing.content.decode()
    assert PHONE not in listing.content.decode()
    assert MASKED_PHONE in listing.content.decode()
    if form.status_code == 200:
        assert PHONE not in form.content.decode()


def test_the_households_api_masks_for_a_district_admin(world):
    answer = login(AccountRole.DISTRICT_ADMIN, world).get("/api/households/")
    props = {f["properties"]["head_name"]: f["properties"] for f in answer.json()["features"]}
    assert (props["Head"]["id_number"], props["Head"]["phone"]) == (MASKED_ID, MASKED_PHONE)
    assert answer["Cache-Control"] == "no-store"


# --- unmasked for the roles that visit, and logged -------------------------------------------
@pytest.mark.parametrize("role", VISITING_ROLES)
def test_visiting_roles_see_the_phone_and_the_view_is_logged(role, world, incident):
    client = login(role, world)

    api = client.get(f"/api/incidents/{incident.pk}/")
    page = client.get(f"/cases/{incident.pk}/")

    assert central_phone(api) == PHONE
    assert PHONE in page.content.decode()
    rows = list(AccessLogEntry.objects.filter(username=f"u-{role}").order_by("id"))
    assert [r.path for r in rows] == [f"/api/incidents/{incident.pk}/", f"/cases/{incident.pk}/"]
    for row in rows:
        assert row.fields == ["phone"]
        assert row.records == [f"worker:{world.central_worker.pk}"]
        assert row.district_code == world.district.code


def test_a_token_authenticated_view_is_logged_under_its_login(world, incident):
    """The field page calls the API with a token, not a session: the log still names who."""
    account = account_upsert(
        username="token-worker",
        password="x-Secret-123",
        role=AccountRole.GRID_WORKER,
        codes=[world.west.code],
    )
    token = Token.objects.create(user=account.user)
    answer = Client().get(f"/api/incidents/{incident.pk}/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert central_phone(answer) == PHONE
    (row,) = AccessLogEntry.objects.filter(username="token-worker")
    assert row.user_id == account.user.pk and row.fields == ["phone"]


def test_one_log_row_per_request_for_a_whole_list(world):
    client = login(AccountRole.GRID_WORKER, world)
    answer = client.get("/api/households/")
    assert ID_NUMBER in answer.content.decode()
    (row,) = AccessLogEntry.objects.filter(username=f"u-{AccountRole.GRID_WORKER}")
    assert row.fields == ["id_number", "phone"]
    assert f"household:{world.unit.head_household.pk}" in row.records


def test_a_superuser_on_the_admin_worker_list_is_logged(world, root):
    client = Client()
    client.force_login(root)
    listing = client.get("/admin/grids/worker/?q=Central")
    assert PHONE in listing.content.decode()
    assert AccessLogEntry.objects.filter(
        username="root", path="/admin/grids/worker/", records=[f"worker:{world.central_worker.pk}"]
    ).exists()
    assert listing["Cache-Control"] == "no-store"


def test_the_incident_admins_recipients_are_logged_for_a_superuser(world, incident, root):
    client = Client()
    client.force_login(root)
    path = f"/admin/incidents/incident/{incident.pk}/change/"
    form = client.get(path)
    assert form.status_code == 200
    assert PHONE in form.content.decode()
    assert AccessLogEntry.objects.filter(username="root", path=path, fields=["phone"]).exists()


def test_outside_a_request_nobody_is_a_viewer_who_may_see():
    assert personal_data.viewer_may_see() is False
    assert personal_data.show(PHONE, kind="phone", visible=False, record_type="x", record_id=1) == (
        MASKED_PHONE
    )


# --- no-store ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/incidents/{pk}/", "/cases/{pk}/", "/api/households/"])
def test_answers_with_personal_data_are_not_stored(path, world, incident):
    for role in (AccountRole.GRID_WORKER, AccountRole.DISTRICT_ADMIN):
        answer = login(role, world).get(path.format(pk=incident.pk))
        assert answer.status_code == 200
        assert answer["Cache-Control"] == "no-store"
        assert answer["Pragma"] == "no-cache"


# --- the access log: read and exported by the district --------------------------------------
@pytest.fixture
def log_rows(world):
    mine = AccessLogEntry.objects.create(
        username="=HYPERLINK(1)",
        method="GET",
        path="/cases/1/",
        district_code=world.district.code,
        fields=["phone"],
        records=["worker:1"],
    )
    other = AccessLogEntry.objects.create(
        username="elsewhere",
        method="GET",
        path="/cases/2/",
        district_code=OTHER_DISTRICT,
        fields=["phone"],
        records=["worker:2"],
    )
    return mine, other


def test_a_district_admin_reads_and_exports_the_log_of_their_district_only(world, log_rows):
    client = login(AccountRole.DISTRICT_ADMIN, world)

    page = client.get("/privacy/access-log/")
    exported = client.get("/privacy/access-log/?format=csv")
    workbook = client.get("/privacy/access-log/?format=xlsx")

    assert page.status_code == 200
    assert (
        'href="/privacy/access-log/"'
        in login(AccountRole.DISTRICT_ADMIN, world).get("/map/").content.decode()
    )
    assert "/cases/1/" in page.content.decode() and "elsewhere" not in page.content.decode()
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert [r[1] for r in rows[1:]] == ["'=HYPERLINK(1)"]
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["'=HYPERLINK(1)"]


@pytest.mark.parametrize("role", [AccountRole.GRID_WORKER, AccountRole.TOWN_STAFF])
def test_other_roles_cannot_read_the_log(role, world, log_rows):
    assert login(role, world).get("/privacy/access-log/").status_code == 403


def test_the_log_is_append_only(log_rows):
    mine, _ = log_rows
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.filter(pk=mine.pk).update(path="/nothing/")
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.filter(pk=mine.pk).delete()


# --- encrypted at rest, exact search by keyed hash, rotation ---------------------------------
def raw(pk: int) -> tuple[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone FROM households_household WHERE id = %s", [pk])
        return cur.fetchone()


def test_values_are_ciphertext_in_the_table(world):
    head = world.unit.head_household
    id_number, phone = raw(head.pk)
    assert id_number.startswith(crypto.TOKEN_PREFIX) and phone.startswith(crypto.TOKEN_PREFIX)
    assert ID_NUMBER not in id_number and PHONE not in phone
    head.refresh_from_db()
    assert (head.id_number, head.phone) == (ID_NUMBER, PHONE)


def test_worker_and_recipient_phones_are_ciphertext_too(world, incident):
    """A central household's worker carries its household's phone; so does the snapshot of
    the recipients of a case."""
    with connection.cursor() as cur:
        cur.execute("SELECT phone FROM grids_worker WHERE id = %s", [world.central_worker.pk])
        (worker_phone,) = cur.fetchone()
        cur.execute(
            "SELECT phone FROM incidents_incidentrecipient WHERE incident_id = %s", [incident.pk]
        )
        recipient_phones = [row[0] for row in cur.fetchall()]
    assert worker_phone.startswith(crypto.TOKEN_PREFIX)
    assert recipient_phones and all(
        p.startswith(crypto.TOKEN_PREFIX) for p in recipient_phones if p
    )
    assert all(PHONE not in p for p in [worker_phone, *recipient_phones])


def test_exact_search_by_keyed_hash(world, root):
    head = world.unit.head_household
    assert list(Household.objects.filter(households_by_number_q(ID_NUMBER))) == [head]
    assert list(Household.objects.filter(households_by_number_q("138-1234-5678"))) == [head]
    assert not Household.objects.filter(households_by_number_q("13800000001")).exists()
    client = Client()
    client.force_login(root)
    found = client.get(f"/admin/households/household/?q={ID_NUMBER}")
    assert "W road 1" in found.content.decode()


def test_the_id_number_format_is_checked_before_encryption(world):
    head = world.unit.head_household
    head.id_number = "45070219900101123Y"
    with pytest.raises(ValidationError):
        head.full_clean()


def test_rotation_re_encrypts_with_the_first_key_and_old_keys_still_decrypt(world, settings):
    head = world.unit.head_household
    old = settings.GRIDMAP_FIELD_KEYS[0]
    new = Fernet.generate_key().decode()
    before = raw(head.pk)

    with override_settings(GRIDMAP_FIELD_KEYS=[new, old]):
        head.refresh_from_db()
        assert head.phone == PHONE  # the old key still decrypts
        call_command("rotate_field_keys", stdout=io.StringIO())
        after = raw(head.pk)
        assert after != before
        assert Fernet(new).decrypt(after[1].encode()).decode() == PHONE
        with override_settings(GRIDMAP_FIELD_KEYS=[new]):
            head.refresh_from_db()
            assert head.phone == PHONE and head.id_number == ID_NUMBER


def test_plain_rows_from_before_are_encrypted_in_place(world):
    """What migration households 0004 does to existing rows (gridmap.crypto.reencrypt)."""
    head = world.unit.head_household
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE households_household SET phone = %s, phone_hash = '' WHERE id = %s",
            [PHONE, head.pk],
        )
    count = Household.objects.count()
    crypto.reencrypt(Household, ["id_number", "phone"])
    assert Household.objects.count() == count
    assert raw(head.pk)[1].startswith(crypto.TOKEN_PREFIX)
    assert Household.objects.filter(households_by_number_q(PHONE)).get() == head


# --- logs -------------------------------------------------------------------------------------
def test_the_log_filter_redacts_id_numbers_and_phones_but_not_place_codes():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"GET /admin/households/household/?q=%s&p=%s&grid=%s HTTP/1.1" 200',
        (ID_NUMBER, "+86 138 1234 5678", "990101001001001"),
        None,
    )
    assert RedactPersonalNumbers().filter(record)
    message = record.getMessage()
    assert ID_NUMBER not in message and "5678" not in message
    assert "990101001001001" in message


@pytest.mark.parametrize("logger", ["django.server", "django.request", "gunicorn.access"])
def test_the_servers_loggers_go_through_the_filter(logger, settings):
    """Every handler the configuration gives these loggers (django.request's through
    "django") carries the filter."""
    config = settings.LOGGING
    name = logger if logger in config["loggers"] else "django"
    handlers = config["loggers"][name]["handlers"]
    assert handlers
    for handler in handlers:
        (key,) = config["handlers"][handler]["filters"]
        assert config["filters"][key]["()"] == "gridmap.logfilters.RedactPersonalNumbers"
    configured = [h for h in logging.getLogger(name).handlers if h.filters]
    assert configured and all(isinstance(h.filters[0], RedactPersonalNumbers) for h in configured)
