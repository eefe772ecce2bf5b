"""The public service catalogue (办事公开): ``/public/<village_code>/services/``, no login."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.test import Client

from demo.servicedesk import ITEMS, load_demo_catalogue
from grids.models import ServiceCentre
from servicedesk.catalogue import by_kind, village_items
from servicedesk.models import ServiceItem, ServiceKind
from tests.factories import DistrictFactory, TownFactory, VillageFactory
from tests.servicedesk.engine_world import build_world, take

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


def item(code: str, **fields: object) -> ServiceItem:
    values = {"name": f"事项{code}", "kind": ServiceKind.GOVERNMENT, "approving_level": "county",
              "promised_days": 5}  # fmt: skip
    values.update(fields)
    return ServiceItem.objects.create(code=code, **values)


@pytest.fixture
def village():
    return VillageFactory(town=TownFactory(district=DistrictFactory()))


def url(code: str) -> str:
    return f"/public/{code}/services/"


def test_the_village_lists_its_districts_and_the_global_items_by_kind(village):
    other = DistrictFactory()
    item("G1", kind=ServiceKind.HEALTH, office="GLOBAL-OFFICE")
    item("G2", kind=ServiceKind.PARTY)
    item("G1", district=village.town.district, kind=ServiceKind.HEALTH, office="OWN-OFFICE")
    item("L1", district=village.town.district, kind=ServiceKind.LEGAL)
    item("O1", district=other)  # another district's
    item("N1", at_village=False)  # not taken at the village
    item("N2", active=False)  # no longer offered
    items = village_items(village)
    assert [(i.code, i.office) for i in items if i.code.startswith(("G", "L"))] == [
        ("L1", ""), ("G1", "OWN-OFFICE"), ("G2", ""),
    ]  # fmt: skip
    assert not {"O1", "N1", "N2"} & {i.code for i in items}
    groups = by_kind(items)
    assert [g.kind for g in groups] == [
        k for k in ServiceKind.values if any(i.kind == k for i in items)
    ]


def test_the_page_shows_what_to_bring_and_the_promise_without_login(village):
    item("A1", kind=ServiceKind.HEALTH, name="高龄津贴申领", conditions="年满80周岁",
         materials="居民身份证\n户口簿", steps="受理；审核", fees="免费",
         legal_basis="《中华人民共和国老年人权益保障法》", office="区民政局",
         promised_days=15)  # fmt: skip
    ServiceCentre.objects.create(
        name="某村党群服务中心", village=village, location=Point(100.05, 0.05), phone="0777-1234567"
    )
    page = Client().get(url(village.code), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    text = page.content.decode()
    for part in ("高龄津贴申领", "年满80周岁", "居民身份证<br>户口簿", "受理；审核", "免费",
                 "《中华人民共和国老年人权益保障法》", "区民政局", "0777-1234567"):  # fmt: skip
        assert part in text, part
    assert "data-promised-days" in text and "15" in text
    # Linked from the village's public notice board.
    notice = Client().get(f"/public/villages/{village.code}/").content.decode()
    assert url(village.code) in notice


def test_item_text_is_shown_as_text(village):
    item("X1", name=SCRIPT, conditions=SCRIPT, materials=SCRIPT, steps=SCRIPT, fees=SCRIPT,
         legal_basis=SCRIPT, office=SCRIPT)  # fmt: skip
    text = Client().get(url(village.code)).content.decode()
    assert SCRIPT not in text
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 7


def test_an_unknown_village_is_not_found():
    assert Client().get(url("999999999999")).status_code == 404


def test_the_demo_catalogue_has_33_village_items_across_the_six_kinds(village):
    counts = load_demo_catalogue()
    assert counts["new"] + counts["updated"] == len(ITEMS) == 33
    demo = ServiceItem.objects.filter(code__in=[i.code for i in ITEMS], district=None)
    assert demo.count() == 33 and all(i.at_village for i in demo)
    assert set(demo.values_list("kind", flat=True)) == set(ServiceKind.values)
    assert all(1 <= i.promised_days <= 20 and i.legal_basis and i.materials for i in demo)
    assert {i.approving_level for i in demo} == {"county", "town", "village"}
    # The command again with --if-empty changes nothing.
    call_command("load_demo_catalogue", "--if-empty", verbosity=0)
    assert ServiceItem.objects.filter(code__in=[i.code for i in ITEMS]).count() == 33
    page = Client().get(url(village.code)).content.decode()
    assert "城乡居民医保参保登记" in page and "党员组织关系转接" in page


def test_the_page_names_no_request_resident_or_worker():
    """A village with requests, residents and staff: the catalogue shows none of them."""
    w = build_world()
    take(w, applicant_name="黄秀英", applicant_phone="13812345678")
    text = Client().get(url(w.village.code)).content.decode()
    assert w.item.name in text
    for personal in ("黄秀英", "13812345678", w.household.head_name, "assistant", "secretary"):
        assert personal not in text, personal
