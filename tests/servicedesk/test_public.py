"""The resident's pages (no login): /service/ (the lookup form) and /service/<code>/ (the
state of a request and, once done, the rating). They show no personal data: not the
applicant's name or phone, not the household's head or address, not the matter, not the
staff who handled it, not a note of the history."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext

from servicedesk import lookup_limit, public, views_public
from servicedesk.selectors import promised_date
from tests.servicedesk.engine_world import act, build_world, take

APPLICANT = "Applicant Zhaoqian"
PHONE = "13977776666"
MATTER = "Secret matter about the applicant's debts"
RESULT = "Result naming Neighbour Sunli"


@pytest.fixture
def w(db):
    cache.clear()
    world = build_world()
    world.household.address = "Willow lane 49"
    world.household.head_name = "Head Qianwu"
    world.household.save()
    return world


def status_url(request) -> str:
    return reverse("service-status", kwargs={"short_code": request.short_code})


def page(client: Client, request) -> str:
    response = client.get(status_url(request))
    assert response.status_code == 200
    return response.content.decode()


def no_personal_data(html: str) -> None:
    for secret in (APPLICANT, PHONE, "Head Qianwu", "Willow lane 49", MATTER, RESULT, "Sunli",
                   "assistant", "secretary"):  # fmt: skip
        assert secret not in html, secret


def test_the_status_page_follows_each_state_without_personal_data(w, client):
    request = take(w, applicant_name=APPLICANT, applicant_phone=PHONE, matter=MATTER)
    html = page(client, request)
    assert w.item.name in html and w.village.name in html
    assert f"{promised_date(request):%Y-%m-%d}" in html
    assert 'data-status="acknowledged"' in html
    no_personal_data(html)

    act(w, "assistant", request, "start", note="Called Applicant Zhaoqian back")
    assert 'data-status="in_progress"' in page(client, request)
    office = {"office": "County civil affairs bureau", "level": "county", "working_days": 3}
    act(w, "assistant", request, "hand_off", note="for Neighbour Sunli", data=office)
    html = page(client, request)
    assert "County civil affairs bureau" in html and 'data-step="1"' in html
    no_personal_data(html)
    act(w, "assistant", request, "step_back", data={"step": 1})
    act(w, "assistant", request, "resolve", note=RESULT)
    html = page(client, request)
    assert 'data-status="resolved"' in html and "data-rate-form" in html
    no_personal_data(html)
    act(w, "assistant", request, "close_out", data={"how": "pickup"})
    html = page(client, request)
    assert 'data-status="closed"' in html and "data-closed" in html
    no_personal_data(html)


def test_the_resident_rates_once_with_the_csrf_token(w):
    request = take(w)
    for action, kw in (("start", {}), ("resolve", {"note": "done"})):
        act(w, "assistant", request, action, **kw)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(status_url(request), {"rating": "5"}).status_code == 403  # no token
    html = strict.get(status_url(request)).content.decode()
    token = strict.cookies["csrftoken"].value
    response = strict.post(
        status_url(request), {"rating": "4", "note": "quick", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 303
    request.refresh_from_db()
    assert request.satisfaction == 4
    html = strict.get(status_url(request)).content.decode()
    assert 'data-rating="4"' in html and "data-rate-form" not in html
    assert gettext(views_public.MSG_THANKS) in html
    # Once only.
    again = strict.post(status_url(request), {"rating": "1", "csrfmiddlewaretoken": token})
    assert again.status_code == 403
    request.refresh_from_db()
    assert request.satisfaction == 4


def test_no_rating_before_it_is_done_and_a_bad_rating_is_refused(w, client):
    request = take(w)
    assert "data-rate-form" not in page(client, request)
    assert client.post(status_url(request), {"rating": "5"}).status_code == 403
    act(w, "assistant", request, "resolve", note="done")
    response = client.post(status_url(request), {"rating": "9"})
    assert response.status_code == 400
    request.refresh_from_db()
    assert request.satisfaction is None


def test_an_unknown_code_is_a_404_in_words(w, client):
    response = client.get("/service/ZZZZ2222/")
    assert response.status_code == 404
    assert gettext(views_public.MSG_UNKNOWN_CODE) % {"code": "ZZZZ2222"} in (
        response.content.decode()
    )


def test_the_lookup_form_goes_to_the_request_as_typed(w, client):
    request = take(w)
    assert client.get(reverse("service-lookup")).status_code == 200
    typed = request.short_code.lower()[:4] + " " + request.short_code.lower()[4:]
    response = client.get(reverse("service-lookup"), {"code": typed})
    assert response.status_code == 302 and response["Location"] == status_url(request)
    assert client.get(reverse("service-lookup"), {"code": "NOPE"}).status_code == 404


def test_too_many_unknown_codes_are_answered_429_but_a_known_code_still_shows(w, client):
    """Guessing is slowed per address; a resident behind the same address (one proxy, one
    village network) still opens their own request."""
    request = take(w)
    for n in range(lookup_limit.LOOKUP_MISSES):
        assert client.get(f"/service/QQQQ{n:04d}/").status_code == 404
    assert client.get("/service/QQQQ9999/").status_code == 429
    assert client.get(reverse("service-lookup"), {"code": "QQQQ9998"}).status_code == 429
    assert client.get(f"/service/{request.short_code}/").status_code == 200
    assert Client(REMOTE_ADDR="10.0.0.9").get("/service/QQQQ9999/").status_code == 404


def test_a_returned_request_points_to_the_station(w, client):
    request = take(w)
    act(w, "assistant", request, "decline", note="Not eligible: Applicant Zhaoqian earns too much")
    html = page(client, request)
    assert gettext(public.MSG_ASK_THE_STATION) in html
    assert "earns too much" not in html
