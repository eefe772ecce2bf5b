"""A cycle's kind is its scheme's: a monthly scheme gets monthly cycles, from the service,
the page and the database (the (scheme, kind) foreign key of ``migrations/0003``), and a
scheme's kind is fixed once it has cycles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from assessments import services
from assessments.models import Cycle, CycleKind, Scheme
from tests.assessments.conftest import MARCH, admin_login, village_scheme
from tests.assessments.test_pages import client_of

YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_the_service_gives_the_cycle_its_schemes_kind(world):
    monthly = village_scheme("Monthly")
    cycle = services.cycle_open(
        actor=None, scheme=monthly, starts_on=MARCH[0], ends_on=MARCH[1], district=None
    )
    assert cycle.kind == CycleKind.MONTHLY
    yearly = Scheme.objects.create(name="Yearly review", level="village", kind=CycleKind.YEARLY)
    cycle = services.cycle_open(
        actor=None, scheme=yearly, starts_on=YEAR[0], ends_on=YEAR[1], district=None
    )
    assert cycle.kind == CycleKind.YEARLY


def test_a_monthly_scheme_cannot_get_a_yearly_cycle(world):
    monthly = village_scheme("Monthly")
    wrong = Cycle(scheme=monthly, kind=CycleKind.YEARLY, starts_on=YEAR[0], ends_on=YEAR[1])
    with pytest.raises(ValidationError) as error:
        wrong.full_clean()
    assert "kind" in error.value.message_dict
    # The database refuses it too, whatever writes it.
    with pytest.raises(IntegrityError), transaction.atomic():
        Cycle.objects.create(
            scheme=monthly, kind=CycleKind.YEARLY, starts_on=YEAR[0], ends_on=YEAR[1]
        )
    cycle = Cycle.objects.create(
        scheme=monthly, kind=CycleKind.MONTHLY, starts_on=MARCH[0], ends_on=MARCH[1]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Cycle.objects.filter(pk=cycle.pk).update(kind=CycleKind.QUARTERLY)


def test_a_schemes_kind_is_fixed_once_it_has_cycles(world):
    scheme = village_scheme("Monthly")
    scheme.kind = CycleKind.QUARTERLY
    scheme.save()  # no cycle yet: it may change
    services.cycle_open(
        actor=None, scheme=scheme, starts_on=dt.date(2026, 1, 1), ends_on=MARCH[1], district=None
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Scheme.objects.filter(pk=scheme.pk).update(kind=CycleKind.MONTHLY)


def test_the_page_opens_the_schemes_period_whatever_kind_is_posted(world):
    scheme = village_scheme("Quarterly on the page")
    scheme.kind = CycleKind.QUARTERLY
    scheme.save()
    admin = client_of(admin_login(world.district))
    page = admin.get("/assessments/").content.decode()
    assert "Quarterly on the page (" in page and 'name="kind"' not in page
    response = admin.post(
        "/assessments/", {"scheme": scheme.pk, "kind": "yearly", "starts_on": "2026-05-17"}
    )
    assert response.status_code == 302
    opened = Cycle.objects.get(scheme=scheme)
    assert opened.kind == CycleKind.QUARTERLY
    assert (opened.starts_on, opened.ends_on) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
