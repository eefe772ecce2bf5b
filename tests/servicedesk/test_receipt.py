"""The receipt (servicedesk.receipt): a one-page PDF with the promised date and the lookup
code as text, and a QR code of the public status page; served only to those who may open
the request."""

from __future__ import annotations

import pytest
from django.urls import reverse

from servicedesk.receipt import receipt_pdf
from servicedesk.selectors import promised_date
from tests.servicedesk.engine_world import build_world, take
from tests.servicedesk.pdf_text import pdf_strings


@pytest.fixture
def w(db):
    return build_world()


def test_the_receipt_prints_the_promised_date_and_the_code(w):
    request = take(w)
    pdf = receipt_pdf(request, status_url=f"https://example.org/service/{request.short_code}/")
    assert pdf.startswith(b"%PDF-")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1  # one page
    strings = pdf_strings(pdf)
    promised = promised_date(request)
    assert f"{promised:%Y-%m-%d}" in strings
    assert request.short_code in strings
    assert f"https://example.org/service/{request.short_code}/" in strings
    # Received on the Friday before the National Day holiday.
    assert "2025-09-26" in strings
    # The Chinese font is Adobe's CID font, not embedded.
    assert b"/STSong-Light" in pdf


def test_the_receipt_names_no_applicant(w):
    request = take(w, applicant_name="Zhao Applicant", applicant_phone="13900001111")
    text = "".join(pdf_strings(receipt_pdf(request, status_url="https://x.test/s/")))
    assert "13900001111" not in text and "Zhao" not in text


def test_the_receipt_url_serves_a_pdf_to_those_who_may_open_the_request(w, client):
    request = take(w)
    url = reverse("service-receipt", kwargs={"pk": request.pk})
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(w.users["other_assistant"])
    assert client.get(url).status_code == 404
    client.force_login(w.users["assistant"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert request.short_code in response["Content-Disposition"]
    strings = pdf_strings(response.content)
    status = f"http://testserver/service/{request.short_code}/"
    assert status in strings
    assert f"{promised_date(request):%Y-%m-%d}" in strings
