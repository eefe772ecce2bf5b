"""The desk's pages: /services/ (the list, its filters), /services/new/ (taking a request),
/services/<id>/ (the request and one form per allowed action, on the case engine's shared
page parts), the household file's 代办记录 and the links from the visit form and the field
page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from cases import pages
from cases.models import Status
from presence.care import household_key
from presence.visits import log_visit
from servicedesk import views
from servicedesk.kind import promise_for
from servicedesk.models import ServiceRequest, ServiceStep
from servicedesk.selectors import local_date, promised_date
from tests.servicedesk.engine_world import act, build_world, take


@pytest.fixture
def w(db):
    return build_world()


def login(client, w, who: str):
    client.force_login(w.users[who])
    return client


def version_of(request: ServiceRequest) -> int:
    request.refresh_from_db()
    return request.version


def post_action(client, request, action: str, **fields):
    url = reverse("service-request", kwargs={"pk": request.pk})
    return client.post(url, {"action": action, "version": version_of(request), **fields})


# --- the desk -----------------------------------------------------------------------------------
def test_the_desk_lists_the_requests_the_user_may_see(w, client):
    mine = take(w)
    other = take(w, "district_admin", household=None, village=w.other_village)
    html = login(client, w, "assistant").get(reverse("services")).content.decode()
    assert f'data-request="{mine.pk}"' in html and f'data-request="{other.pk}"' not in html
    html = login(client, w, "town_staff").get(reverse("services")).content.decode()
    assert f'data-request="{mine.pk}"' in html and f'data-request="{other.pk}"' in html


def test_the_desk_filters_by_state_item_village_and_overdue(w, client):
    late = take(w)  # received in 2025: long overdue
    fresh = take(w, at=timezone.now())
    act(w, "assistant", fresh, "start")
    login(client, w, "town_staff")

    def shown(**query) -> set[int]:
        html = client.get(reverse("services"), query).content.decode()
        return {int(pk) for pk in re.findall(r'data-request="(\d+)"', html)}

    assert shown() == {late.pk, fresh.pk}
    assert shown(status=Status.IN_PROGRESS) == {fresh.pk}
    assert shown(overdue="on") == {late.pk}
    assert shown(village=w.village.code, item=w.item.pk) == {late.pk, fresh.pk}
    assert shown(village=w.other_village.code) == set()


def test_the_desk_masks_the_applicant_for_roles_that_do_not_visit(w, client):
    take(w, applicant_name="王晓红")
    assert "王晓红" in login(client, w, "assistant").get(reverse("services")).content.decode()
    html = login(client, w, "town_staff").get(reverse("services")).content.decode()
    assert "王晓红" not in html and "王**" in html


def test_the_nav_has_the_service_desk(w, client):
    html = login(client, w, "assistant").get(reverse("services")).content.decode()
    assert 'href="/services/" aria-current="page"' in html


# --- a new request ------------------------------------------------------------------------------
def test_a_new_request_is_taken_and_opens_with_its_promise(w, client):
    login(client, w, "assistant")
    key = household_key(w.household)
    form = client.get(reverse("service-new"), {"household": key}).content.decode()
    assert f'value="{key}"' in form and w.household.address in form
    assert w.item.name in form and 'id="service-items"' in form
    response = client.post(
        reverse("service-new"),
        {"household": key, "item": w.item.pk, "applicant_name": "王晓红",
         "applicant_phone": "13812345678", "matter": "低保申请", "channel": "desk",
         "client_uuid": "6f1c1b1e-5b7a-4c47-9f2e-2c1d2b3a4f51"},
    )  # fmt: skip
    request = ServiceRequest.objects.get(item=w.item)
    assert response.status_code == 303
    assert response["Location"].startswith(reverse("service-request", kwargs={"pk": request.pk}))
    assert request.household == w.household and request.reporter == w.users["assistant"]
    html = client.get(response["Location"]).content.decode()
    promised = f"{promised_date(request):%Y-%m-%d}"
    assert gettext(views.MSG_RECEIVED) % {"date": promised} in html
    assert reverse("service-receipt", kwargs={"pk": request.pk}) in html


def test_a_new_request_from_a_visit_is_taken_on_the_visit(w, client):
    worker = w.users["assistant"].worker
    visit, _ = log_visit(worker, households=[w.household], notes="visited")
    login(client, w, "assistant")
    html = client.get(
        reverse("service-new"), {"household": household_key(w.household), "visit": visit.pk}
    ).content.decode()
    assert f'name="visit" value="{visit.pk}"' in html
    assert re.search(r'<option value="visit" selected>', html)
    client.post(
        reverse("service-new"),
        {"household": household_key(w.household), "item": w.item.pk, "applicant_name": "王晓红",
         "channel": "visit", "visit": visit.pk},
    )  # fmt: skip
    request = ServiceRequest.objects.get(item=w.item)
    assert request.visit == visit and request.channel == "visit"


def test_a_new_request_without_a_place_or_outside_is_refused_by_field(w, client):
    login(client, w, "assistant")
    response = client.post(
        reverse("service-new"), {"item": w.item.pk, "applicant_name": "王", "channel": "desk"}
    )
    assert response.status_code == 400
    assert 'data-field-error="village"' in response.content.decode()
    response = client.post(
        reverse("service-new"),
        {"household": "NO-SUCH", "item": w.item.pk, "applicant_name": "王", "channel": "desk"},
    )
    assert response.status_code == 400 and 'data-field-error="household"' in (
        response.content.decode()
    )
    # Another village's desk: the service refuses (403), nothing is written.
    login(client, w, "other_assistant")
    response = client.post(
        reverse("service-new"),
        {"village": w.village.pk, "item": w.item.pk, "applicant_name": "王", "channel": "desk"},
    )
    assert response.status_code in (400, 403)
    assert not ServiceRequest.objects.filter(item=w.item).exists()


# --- the request page ---------------------------------------------------------------------------
def test_the_request_page_walks_a_request_to_delivery(w, client):
    request = take(w)
    login(client, w, "assistant")
    url = reverse("service-request", kwargs={"pk": request.pk})
    html = client.get(url).content.decode()
    assert 'data-action-form="start"' in html and 'data-action-form="decline"' in html
    assert "cases/case.js" in html and 'data-due="resolve"' in html

    assert post_action(client, request, "start").status_code == 303
    response = post_action(
        client, request, "hand_off", office="镇民政办", level="town", working_days="2"
    )
    assert response.status_code == 303
    step = ServiceStep.objects.get(request=request)
    assert step.office == "镇民政办" and step.number == 1
    html = client.get(url).content.decode()
    assert 'data-step="1"' in html and 'data-action-form="step_back"' in html
    assert post_action(client, request, "step_back", step="1").status_code == 303
    assert post_action(client, request, "resolve", note="已办结").status_code == 303
    assert post_action(client, request, "close_out", how="delivered").status_code == 303
    # Who took it does not record its rating (it counts in their own assessment): refused in
    # words; the village secretary records the rating the resident gave by phone.
    refused = post_action(client, request, "callback", rating="5")
    assert refused.status_code == 403
    login(client, w, "secretary")
    assert post_action(client, request, "callback", rating="5").status_code == 303
    login(client, w, "assistant")
    request.refresh_from_db()
    assert request.status == Status.CLOSED and request.satisfaction == 5
    html = client.get(url).content.decode()
    actions = re.findall(r'data-seq="\d+" data-action="(\w+)"', html)
    assert actions == ["report", "start", "hand_off", "step_back", "resolve", "close_out",
                       "callback"]  # fmt: skip
    assert 'data-on-time="false"' in html  # received in 2025, done today: late


def test_a_stale_form_is_a_409_that_keeps_what_was_typed(w, client):
    request = take(w)
    login(client, w, "assistant")
    stale = version_of(request)
    act(w, "secretary", request, "start")
    url = reverse("service-request", kwargs={"pk": request.pk})
    response = client.post(url, {"action": "resolve", "version": stale, "note": "我写的结果"})
    assert response.status_code == 409
    html = response.content.decode()
    assert gettext(pages.MSG_CONFLICT) in html and "我写的结果" in html


def test_a_refused_action_is_a_403_and_bad_input_a_400(w, client):
    request = take(w)
    login(client, w, "assistant")
    assert post_action(client, request, "close_out", how="pickup").status_code == 403
    act(w, "assistant", request, "start")
    response = post_action(client, request, "hand_off", office="", level="town")
    assert response.status_code == 400 and "data-field-error" in response.content.decode()
    assert post_action(client, request, "fly").status_code == 400


def test_the_request_page_is_404_outside_and_masks_the_applicant(w, client):
    request = take(w, applicant_name="王晓红", applicant_phone="13812345678")
    url = reverse("service-request", kwargs={"pk": request.pk})
    assert login(client, w, "other_assistant").get(url).status_code == 404
    html = login(client, w, "town_staff").get(url).content.decode()
    assert "王晓红" not in html and "13812345678" not in html and "138****5678" in html
    html = login(client, w, "assistant").get(url).content.decode()
    assert "王晓红" in html and 'href="tel:13812345678"' in html


# --- links from other pages ---------------------------------------------------------------------
def test_the_household_file_lists_its_requests(w, client):
    request = take(w)
    login(client, w, "assistant")
    key = household_key(w.household)
    html = client.get(reverse("household-file", args=[key])).content.decode()
    assert 'data-section="service_requests"' in html
    assert reverse("service-request", kwargs={"pk": request.pk}) in html
    assert f"{reverse('service-new')}?household={key}" in html
    answer = client.get(reverse("household-file-api", args=[key])).json()
    [section] = answer["sections"]
    assert section["items"][0]["url"] == reverse("service-request", kwargs={"pk": request.pk})


def test_the_field_page_and_the_visit_form_link_to_a_new_request(w, client):
    login(client, w, "assistant")
    html = client.get(reverse("field")).content.decode()
    assert f'href="{reverse("service-new")}?channel=field"' in html
    html = client.get(reverse("field-visit")).content.decode()
    assert f'"url": "{reverse("service-new")}"' in html
    # A grid leader hands residents to the village (the desk would refuse them): not offered.
    login(client, w, "leader")
    html = client.get(reverse("field")).content.decode()
    assert f'href="{reverse("service-new")}?channel=field"' not in html
    html = client.get(reverse("field-visit")).content.decode()
    assert f'"url": "{reverse("service-new")}"' not in html


def test_the_form_shows_each_items_promise_if_taken_now(w, client):
    login(client, w, "assistant")
    html = client.get(reverse("service-new")).content.decode()
    expected = local_date(promise_for(w.item, timezone.now()))
    assert f'"promise": "{expected:%Y-%m-%d}"' in html
    assert f'"days": {w.item.promised_days}' in html


def test_names_and_notes_are_drawn_as_text(w, client):
    payload = '<img src=x onerror="alert(1)">'
    w.item.name = payload
    w.item.materials = payload
    w.item.save()
    request = take(w, matter=payload)
    act(w, "assistant", request, "start")
    office = {"office": payload, "level": "town", "working_days": 2}
    act(w, "assistant", request, "hand_off", note=payload, data=office)
    login(client, w, "assistant")
    for url in (
        reverse("services"),
        reverse("service-new"),
        reverse("service-request", kwargs={"pk": request.pk}),
        reverse("service-status", kwargs={"short_code": request.short_code}),
    ):
        html = client.get(url).content.decode()
        assert payload not in html, url
        assert "&lt;img src=x onerror=" in html or "\\u003Cimg" in html, url


def test_the_desk_shows_the_completion_figures_of_the_users_area(w, client):
    now = timezone.now()
    done = take(w, at=now)
    act(w, "assistant", done, "resolve", note="done", at=now)
    take(w, at=now)
    html = login(client, w, "assistant").get(reverse("services")).content.decode()
    assert "data-figures" in html
    assert re.search(r'data-figure="received">2<', html)
    assert re.search(r'data-figure="completed">1<', html)
    assert re.search(r'data-figure="completion_rate">50%<', html)
