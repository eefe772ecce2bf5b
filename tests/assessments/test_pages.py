"""The assessments' pages: the cycles, the ranked table with its filter, the printable report,
the XLSX export, and the forms (open, compute, close; the party organisation's and cadres'
scores; appeal and answer), each for those entitled only."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from accounts.models import AccountRole
from assessments import services
from assessments.models import Appeal, Cycle, EvaluationEntry, Indicator, Score
from grids.models import Role
from tests.factories import RoleAssignmentFactory, UserFactory, WorkerFactory

from .conftest import MARCH, admin_login, at, case, cycle_of, person_login, village_scheme

pytestmark = pytest.mark.django_db


def posted(client: Client, url: str, data: dict) -> int:
    return client.post(url, data).status_code


def client_of(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def cycle(world) -> Cycle:
    scheme = village_scheme()
    Indicator.objects.create(
        scheme=scheme, key="party", name="Party organisation", weight=Decimal(10),
        formula="party_org_score", min_samples=1, order=3,
    )  # fmt: skip
    for code, n in ((world.a.code, 4), (world.c.code, 5)):
        for d in range(n):
            case(code, at(MARCH[0].replace(day=d + 2)), closed=True, on_time=True)
    c = cycle_of(scheme, MARCH, district=world.district)
    services.compute_cycle(actor=world.root, cycle=c)
    return c


def score_of(cycle: Cycle, code: str) -> Score:
    return Score.objects.get(cycle=cycle, code=code)


def test_the_cycles_and_the_ranked_table(world, cycle):
    admin = client_of(admin_login(world.district))
    page = admin.get("/assessments/")
    assert page.status_code == 200
    assert f'data-cycle="{cycle.pk}"' in page.text
    assert "Open a cycle" in page.text or "开启" in page.text or 'name="scheme"' in page.text

    page = admin.get(f"/assessments/{cycle.pk}/")
    assert page.status_code == 200
    # Without the party organisation's score nobody is complete: no ranks yet.
    assert 'data-rank=""' in page.text and "Village A" in page.text
    assert page.text.count('data-score="') == 3
    assert admin.get(f"/assessments/{cycle.pk}/?level=grid").text.count('data-score="') == 0
    assert admin.get(f"/assessments/{cycle.pk}/?level=nonsense").status_code == 200


def test_the_printable_report(world, cycle):
    a = score_of(cycle, world.a.code)
    staff = client_of(person_login(Role.VILLAGE_ASSISTANT, village=world.a))
    page = staff.get(f"/assessments/{cycle.pk}/{a.pk}/")
    assert page.status_code == 200
    text = page.text
    for key in ("closure", "on_time", "rework", "party"):
        assert f'data-indicator="{key}"' in text
    assert "100 * case_closure_rate" in text  # the formula, and in words
    assert "100.0%" in text  # the closure rate's value
    assert 'data-assessable="false"' in text  # the party organisation's score is missing
    assert "@media print" not in text  # print CSS is a file
    # Another village's staff: not found.
    other = client_of(person_login(Role.VILLAGE_ASSISTANT, village=world.b))
    assert other.get(f"/assessments/{cycle.pk}/{a.pk}/").status_code == 404
    assert (
        other.get(f"/assessments/{cycle.pk}/{score_of(cycle, world.b.code).pk}/").status_code == 200
    )


def test_the_party_organisation_enters_its_score(world, cycle):
    a = score_of(cycle, world.a.code)
    url = f"/assessments/{cycle.pk}/{a.pk}/"
    secretary = client_of(person_login(Role.VILLAGE_SECRETARY, village=world.a))
    form = secretary.get(url).text
    assert 'name="source"' in form and 'value="party_org"' in form
    assert 'value="cadres"' not in form
    response = secretary.post(url, {"action": "evaluate", "source": "party_org", "value": "90"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.metrics["party_org_score"] == {"value": 90.0, "samples": 1}
    assert a.complete and a.rank == 1  # the only complete score: C has no party score yet
    # The secretary may not enter the cadres' score, nor for another village.
    refused = secretary.post(url, {"action": "evaluate", "source": "cadres", "value": "80"})
    assert refused.status_code == 400
    c = score_of(cycle, world.c.code)
    refused = secretary.post(
        f"/assessments/{cycle.pk}/{c.pk}/",
        {"action": "evaluate", "source": "party_org", "value": "80"},
    )
    assert refused.status_code == 404  # another village's score is not even visible
    assert (
        secretary.post(
            url, {"action": "evaluate", "source": "party_org", "value": "101"}
        ).status_code
        == 400
    )
    assert EvaluationEntry.objects.count() == 1


def test_the_stations_cadres_enter_theirs(world, cycle):
    a = score_of(cycle, world.a.code)
    head = client_of(person_login(Role.STATION_HEAD, station=world.station))
    url = f"/assessments/{cycle.pk}/{a.pk}/"
    assert (
        head.post(url, {"action": "evaluate", "source": "cadres", "value": "70"}).status_code == 302
    )
    assert (
        head.post(url, {"action": "evaluate", "source": "party_org", "value": "70"}).status_code
        == 400
    )
    # Village C is not in the station's catchment.
    c = score_of(cycle, world.c.code)
    assert head.get(f"/assessments/{cycle.pk}/{c.pk}/").status_code == 404
    assert EvaluationEntry.objects.get().source == "cadres"


def test_compute_close_appeal_and_answer_on_the_pages(world, cycle):
    a = score_of(cycle, world.a.code)
    url = f"/assessments/{cycle.pk}/"
    staff = client_of(person_login(Role.VILLAGE_SECRETARY, village=world.a))
    assert posted(staff, url, {"action": "close"}) == 400  # not an administrator
    cycle.refresh_from_db()
    assert not cycle.is_closed

    admin = client_of(admin_login(world.district))
    assert posted(admin, url, {"action": "compute"}) == 302
    assert posted(admin, url, {"action": "close"}) == 302
    cycle.refresh_from_db()
    assert cycle.is_closed
    assert posted(admin, url, {"action": "compute"}) == 400  # frozen

    report = f"/assessments/{cycle.pk}/{a.pk}/"
    assert 'value="appeal"' in staff.get(report).text
    assert (
        staff.post(report, {"action": "appeal", "reason": "The town held two cases."}).status_code
        == 302
    )
    appeal = Appeal.objects.get()
    assert 'value="answer"' not in staff.get(report).text
    page = admin.get(report)
    assert 'value="answer"' in page.text and "The town held two cases." in page.text
    assert (
        staff.post(report, {"action": "answer", "appeal": appeal.pk, "answer": "No."}).status_code
        == 400
    )
    assert (
        admin.post(
            report, {"action": "answer", "appeal": appeal.pk, "answer": "Noted."}
        ).status_code
        == 302
    )
    appeal.refresh_from_db()
    assert appeal.answer == "Noted." and appeal.answered_at is not None


def test_the_export(world, cycle):
    admin = client_of(admin_login(world.district))
    response = admin.get(f"/assessments/{cycle.pk}/export.xlsx")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    names = [r[1] for r in rows[2:]]
    assert sorted(names) == ["Village A", "Village B", "Village C"]
    a_row = next(r for r in rows[2:] if r[1] == "Village A")
    assert a_row[4:7] == (100.0, 100.0, 100.0)
    # A village's staff export only their village.
    staff = client_of(person_login(Role.VILLAGE_ASSISTANT, village=world.a))
    sheet = load_workbook(
        io.BytesIO(staff.get(f"/assessments/{cycle.pk}/export.xlsx").content)
    ).active
    assert [r[1] for r in list(sheet.iter_rows(values_only=True))[2:]] == ["Village A"]


def test_opening_a_cycle(world):
    scheme = village_scheme("Opened on the page")
    scheme.kind = "quarterly"  # the cycle takes its scheme's period
    scheme.save()
    admin = client_of(admin_login(world.district))
    response = admin.post("/assessments/", {"scheme": scheme.pk, "starts_on": "2026-05-17"})
    assert response.status_code == 302
    opened = Cycle.objects.get(scheme=scheme)
    assert (opened.starts_on.isoformat(), opened.ends_on.isoformat()) == (
        "2026-04-01",
        "2026-06-30",
    )
    assert opened.district == world.district
    # A town's staff may not open one.
    town = client_of(person_login(Role.TOWN_DISPATCHER, town=world.town))
    assert town.post(
        "/assessments/", {"scheme": scheme.pk, "kind": "monthly", "starts_on": "2026-07-01"}
    ).status_code in (400, 403)
    assert Cycle.objects.filter(scheme=scheme).count() == 1


def test_cycles_of_another_district_are_not_found(world, cycle):
    from grids.models import District

    other = District.objects.create(
        code="990152", name="Elsewhere", geom=world.district.geom,
        generation_low=world.district.generation_low,
    )  # fmt: skip
    outsider = client_of(admin_login(other))
    assert outsider.get(f"/assessments/{cycle.pk}/").status_code == 404
    assert outsider.get(f"/assessments/{cycle.pk}/export.xlsx").status_code == 404
    assert f'data-cycle="{cycle.pk}"' not in outsider.get("/assessments/").text
    assert Client().get("/assessments/").status_code == 302  # anonymous: to the login
    city = client_of(admin_login(world.district, AccountRole.CITY_ADMIN))
    assert city.get("/assessments/").status_code == 200


def test_an_unknown_action_is_refused(world, cycle):
    admin = client_of(admin_login(world.district))
    assert posted(admin, f"/assessments/{cycle.pk}/", {"action": "reopen"}) == 400
    a = score_of(cycle, world.a.code)
    assert posted(admin, f"/assessments/{cycle.pk}/{a.pk}/", {"action": "delete"}) == 400


def test_the_admin_checks_formulas():
    from assessments.admin import IndicatorForm

    data = {"key": "k", "name": "n", "weight": "10", "direction": "higher", "min_samples": 1,
            "order": 0}  # fmt: skip
    assert IndicatorForm(data={**data, "formula": "100 * case_closure_rate"}).is_valid()
    form = IndicatorForm(data={**data, "formula": "__import__('os').system('x')"})
    assert not form.is_valid() and "formula" in form.errors
    assert not IndicatorForm(data={**data, "formula": "100 * nonsense"}).is_valid()


def test_a_person_sees_their_own_score_and_a_station_its_villages(world):
    from assessments.models import Scheme

    scheme = Scheme.objects.get(name="村级助理月考评", district=None)
    user = UserFactory()
    assistant = WorkerFactory(user=user, name="Assistant of A")
    RoleAssignmentFactory(worker=assistant, role=Role.VILLAGE_ASSISTANT, village=world.a)
    c = cycle_of(scheme, MARCH, world.district)
    services.compute_cycle(actor=world.root, cycle=c)
    mine = Score.objects.get(cycle=c, worker=assistant)
    page = client_of(user).get(f"/assessments/{c.pk}/{mine.pk}/")
    assert page.status_code == 200 and "Assistant of A" in page.text

    stations = Scheme.objects.get(name="党建工作站月考评", district=None)
    s = cycle_of(stations, MARCH, world.district)
    services.compute_cycle(actor=world.root, cycle=s)
    station = Score.objects.get(cycle=s, code=world.station.code)
    a_staff = client_of(person_login(Role.VILLAGE_SECRETARY, village=world.a))
    c_staff = client_of(person_login(Role.VILLAGE_SECRETARY, village=world.c))
    assert a_staff.get(f"/assessments/{s.pk}/{station.pk}/").status_code == 200
    assert c_staff.get(f"/assessments/{s.pk}/{station.pk}/").status_code == 404
