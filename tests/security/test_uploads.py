"""Threat: an uploaded file runs as a page of this site.

A grid worker, or anyone who can act on a case or report an incident, uploads a file that a
browser would run: an HTML page, an SVG with script, HTML named ``.jpg`` and sent as
``image/jpeg``, a polyglot (a real PNG or PDF that also carries a page), or a picture that
declares gigapixels in a few bytes (a decompression bomb that takes the server down when
decoded). If such a file were stored with the type the uploader chose and served inline from
the site's origin, whoever opens the case (a superuser too) would run the attacker's script
in their session.

What must hold (``gridmap.uploads``): files are accepted by content only (JPEG, PNG and WebP
verified by Pillow under a pixel cap; PDF; DOCX/XLSX as ZIP containers with the right
``[Content_Types].xml``), anything else is refused with a message in the worker's language
and nothing is written; stored names are generated with the detected type's extension; files
are served with the detected type, ``nosniff``, a sandboxing CSP and as a download (photos
inline), only to those who may open the case.
"""

from __future__ import annotations

import html
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from accounts.models import AccountRole
from cases import workflow as engine
from gridmap import uploads
from incidents import services
from incidents.models import (
    CaseAttachment,
    CaseEvent,
    Category,
    Incident,
    IncidentPhoto,
)
from incidents.services import incident_create
from tests.incidents.test_case_pages import login_as
from tests.incidents.test_routing import World, build_world, world_generation

pytestmark = pytest.mark.django_db

WEST = (100.02, 0.05)
PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.domain)</script></svg>"
)
SANDBOX = "sandbox; default-src 'none'"


# --- files ---------------------------------------------------------------------------------
def png_bytes(text: str | None = None) -> bytes:
    buffer = io.BytesIO()
    info = PngInfo()
    if text is not None:
        info.add_text("Comment", text)
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def declared_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx_bytes(main: str = "wordprocessingml.document") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.{main}.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", "<w:document><w:body/></w:document>")
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    book = openpyxl.Workbook()
    book.active["A1"] = "水渠清理"
    book.save(buffer)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# Each refused file, and which message refuses it ("type": not an accepted type; "pixels").
HOSTILE: dict[str, tuple[Callable[[], SimpleUploadedFile], str]] = {
    "html": (lambda: upload("notes.html", PAGE, "text/html"), "type"),
    "svg-with-script": (lambda: upload("map.svg", SVG, "image/svg+xml"), "type"),
    "html-named-jpg": (lambda: upload("photo.jpg", PAGE, "image/jpeg"), "type"),
    "png-html-polyglot": (
        lambda: upload("scene.png", png_bytes("<html><script>alert(1)</script>"), "image/png"),
        "type",
    ),
    "pdf-html-polyglot": (
        lambda: upload("letter.pdf", b"%PDF-1.4\n" + PAGE + b"\n%%EOF\n", "application/pdf"),
        "type",
    ),
    "pptx-named-docx": (
        lambda: upload("report.docx", docx_bytes("presentationml.presentation"), "application/zip"),
        "type",
    ),
    "bomb-30000x30000": (
        lambda: upload("bomb.png", declared_png(30_000, 30_000), "image/png"),
        "pixels",
    ),
    "48-megapixels": (lambda: upload("big.png", declared_png(8_000, 6_000), "image/png"), "pixels"),
}


def expected(kind: str, name: str, lang: str, *, photo: bool = False) -> str:
    with translation.override(lang):
        if kind == "pixels":
            return gettext(uploads.MSG_TOO_MANY_PIXELS) % {"name": name, "max": 40}
        if photo:
            return gettext(services.MSG_PHOTO_TYPE) % {"name": name}
        return gettext(engine.MSG_ATTACHMENT_TYPE) % {"name": name}


# --- the world -----------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture
def people(world) -> dict[str, Any]:
    return {
        "leader": login_as(
            "w-leader", AccountRole.GRID_WORKER, [world.west.code], world.people["W leader"].worker
        ),
        "reporter": login_as("e-member", AccountRole.GRID_WORKER, [world.east.code]),
        "outsider": login_as("v2-staff", AccountRole.VILLAGE_STAFF, [world.v2.code]),
    }


@pytest.fixture
def incident(people) -> Incident:
    created, _ = incident_create(
        actor=people["reporter"],
        point=Point(*WEST, srid=4326),
        category=Category.objects.get(code="dispute"),
        severity="blue",
        description="A drain is blocked on lane 3",
        photos=[upload("drain.png", png_bytes(), "image/png")],
    )
    return created


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def snapshot(incident: Incident, media: Path) -> tuple[Any, ...]:
    fresh = Incident.objects.get(pk=incident.pk)
    return (
        fresh.version,
        fresh.status,
        CaseEvent.objects.filter(incident=incident).count(),
        CaseAttachment.objects.filter(event__incident=incident).count(),
        stored_files(media),
    )


def api_act(api_client, user, incident: Incident, files: list[Any], lang: str = "en"):
    api_client.force_authenticate(user)
    return api_client.post(
        reverse("incident-actions", args=[incident.pk]),
        {
            "action": "acknowledge",
            "version": str(Incident.objects.get(pk=incident.pk).version),
            "attachments": files,
        },
        format="multipart",
        HTTP_ACCEPT_LANGUAGE=lang,
    )


def page_act(client, user, incident: Incident, files: list[Any], lang: str = "zh-hans"):
    client.force_login(user)
    return client.post(
        reverse("case", kwargs={"pk": incident.pk}),
        {
            "action": "acknowledge",
            "version": Incident.objects.get(pk=incident.pk).version,
            "attachments": files,
        },
        HTTP_ACCEPT_LANGUAGE=lang,
    )


# --- refused on the case action: API and page ------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize("hostile", list(HOSTILE))
def test_the_api_refuses_a_hostile_attachment_and_writes_nothing(
    api_client, people, incident, media, hostile, lang
):
    make, kind = HOSTILE[hostile]
    before = snapshot(incident, media)
    file = make()
    res = api_act(api_client, people["leader"], incident, [file], lang)
    assert res.status_code == 400, res.content
    assert snapshot(incident, media) == before
    message = expected(kind, file.name, lang)
    if lang != "en":  # a grid worker reads it in Chinese
        assert message != expected(kind, file.name, "en")
    assert res.json()["errors"] == {"attachments": [message]}
    assert res.json()["detail"] == message


@pytest.mark.parametrize("hostile", list(HOSTILE))
def test_the_case_page_refuses_a_hostile_attachment_and_writes_nothing(
    client, people, incident, media, hostile
):
    make, kind = HOSTILE[hostile]
    before = snapshot(incident, media)
    file = make()
    res = page_act(client, people["leader"], incident, [file])
    assert res.status_code == 400
    assert snapshot(incident, media) == before
    assert html.escape(expected(kind, file.name, "zh-hans")) in res.content.decode()


def test_one_hostile_file_among_good_ones_refuses_the_whole_action(
    api_client, people, incident, media
):
    before = snapshot(incident, media)
    files = [upload("after.png", png_bytes(), "image/png"), upload("x.html", PAGE, "text/html")]
    res = api_act(api_client, people["leader"], incident, files)
    assert res.status_code == 400
    assert snapshot(incident, media) == before


# --- photos of a report ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "hostile", ["html-named-jpg", "svg-with-script", "png-html-polyglot", "bomb-30000x30000"]
)
def test_a_hostile_photo_is_refused_and_nothing_is_written(api_client, people, media, hostile):
    make, kind = HOSTILE[hostile]
    photo = make()
    counts = (Incident.objects.count(), IncidentPhoto.objects.count())
    api_client.force_authenticate(people["reporter"])
    res = api_client.post(
        reverse("incident-list"),
        {
            "feature": (
                '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [100.02, 0.05]},'
                ' "properties": {"category": "dispute", "description": "Drain blocked"}}'
            ),
            "photos": [photo],
        },
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert res.status_code == 400, res.content
    assert (Incident.objects.count(), IncidentPhoto.objects.count()) == counts
    assert stored_files(media) == []
    assert res.json()["errors"]["photos"] == [expected(kind, photo.name, "en", photo=True)]


# --- accepted, stored under generated names, served safely -----------------------------------
@pytest.mark.parametrize(
    ("name", "content", "claimed", "detected", "ext"),
    [
        ("after.png", png_bytes(), "image/png", "image/png", "png"),
        # The uploader's name and type do not matter: the bytes do.
        ("evil.html", png_bytes(), "text/html", "image/png", "png"),
        ("letter.pdf", PDF, "application/pdf", "application/pdf", "pdf"),
        ("minutes.docx", docx_bytes(), "application/octet-stream", uploads.DOCX, "docx"),
        ("roster.xlsx", xlsx_bytes(), "application/vnd.ms-excel", uploads.XLSX, "xlsx"),
    ],
    ids=["png", "png-named-html", "pdf", "docx", "xlsx"],
)
def test_a_real_file_is_stored_as_detected_and_served_as_a_download(
    api_client, client, people, incident, media, name, content, claimed, detected, ext
):
    res = api_act(api_client, people["leader"], incident, [upload(name, content, claimed)])
    assert res.status_code == 200, res.content
    [url] = res.json()["history"][-1]["attachments"]
    attachment = CaseAttachment.objects.get(event__incident=incident)
    assert attachment.content_type == detected
    stored = attachment.file.name.rsplit("/", 1)[-1]
    assert stored.endswith("." + ext) and stored.count(".") == 1
    assert "html" not in stored
    client.force_login(people["leader"])
    got = client.get(url)
    assert got.status_code == 200
    assert got["Content-Type"] == detected
    assert got["Content-Disposition"].startswith("attachment;")
    assert got["Content-Disposition"].endswith(f'.{ext}"')
    assert got["X-Content-Type-Options"] == "nosniff"
    assert got["Content-Security-Policy"] == SANDBOX
    assert b"".join(got.streaming_content) == content


def test_the_case_page_accepts_a_pdf(client, people, incident, media):
    res = page_act(client, people["leader"], incident, [upload("letter.pdf", PDF, "text/html")])
    assert res.status_code == 303
    attachment = CaseAttachment.objects.get(event__incident=incident)
    assert attachment.content_type == "application/pdf"
    assert attachment.file.name.endswith(".pdf")


def test_an_attachment_stored_before_the_checks_is_served_as_bytes(client, people, incident):
    """Rows written before uploads were checked may say text/html: never served as such."""
    event = CaseEvent.objects.get(incident=incident, seq=1)
    legacy = CaseAttachment(event=event, content_type="text/html", size=len(PAGE))
    legacy.file.save("page.html", ContentFile(PAGE), save=True)
    client.force_login(people["leader"])
    got = client.get(
        reverse("case-attachment", kwargs={"pk": incident.pk, "attachment": legacy.pk})
    )
    assert got.status_code == 200
    assert got["Content-Type"] == "application/octet-stream"
    assert got["Content-Disposition"] == 'attachment; filename="page.bin"'
    assert got["X-Content-Type-Options"] == "nosniff"
    assert got["Content-Security-Policy"] == SANDBOX


def test_a_photo_is_served_inline_as_an_image_but_sandboxed(client, people, incident):
    photo = IncidentPhoto.objects.get(report__incident=incident)
    assert photo.image.name.endswith(".png") and "drain" not in photo.image.name.split(".")[-1]
    client.force_login(people["leader"])
    got = client.get(reverse("case-photo", kwargs={"pk": incident.pk, "photo": photo.pk}))
    assert got.status_code == 200
    assert got["Content-Type"] == "image/png"
    assert got["Content-Disposition"].startswith("inline")
    assert got["X-Content-Type-Options"] == "nosniff"
    assert got["Content-Security-Policy"] == SANDBOX


def test_photos_in_the_api_answer_are_urls_that_work(api_client, client, people, incident):
    api_client.force_authenticate(people["leader"])
    body = api_client.get(reverse("incident-detail", args=[incident.pk])).json()
    photo = IncidentPhoto.objects.get(report__incident=incident)
    assert body["properties"]["photos"] == [
        reverse("case-photo", kwargs={"pk": incident.pk, "photo": photo.pk})
    ]
    client.force_login(people["leader"])
    got = client.get(body["properties"]["photos"][0])
    assert got.status_code == 200 and got["Content-Type"] == "image/png"


# --- only for those who may open the case ----------------------------------------------------
def test_a_viewer_outside_the_jurisdiction_gets_404(api_client, client, people, incident):
    res = api_act(api_client, people["leader"], incident, [upload("a.pdf", PDF, "application/pdf")])
    assert res.status_code == 200, res.content
    attachment = CaseAttachment.objects.get(event__incident=incident)
    photo = IncidentPhoto.objects.get(report__incident=incident)
    urls = [
        reverse("case-attachment", kwargs={"pk": incident.pk, "attachment": attachment.pk}),
        reverse("case-photo", kwargs={"pk": incident.pk, "photo": photo.pk}),
    ]
    client.force_login(people["outsider"])
    assert [client.get(u).status_code for u in urls] == [404, 404]
    # The right file under another case's id: 404 too.
    client.force_login(people["leader"])
    other = urls[0].replace(f"/cases/{incident.pk}/", f"/cases/{incident.pk + 1}/")
    assert client.get(other).status_code == 404
    client.logout()
    assert all(client.get(u).status_code == 302 for u in urls)


# --- the one place that decides ---------------------------------------------------------------
def test_the_pixel_cap_is_checked_before_decoding():
    """8000 x 6000 is under Pillow's own bomb limit (89 MP), over ours: refused from the
    header alone, as is the 900 MP bomb that Pillow would only warn about at 2x its limit."""
    for width, height in ((8_000, 6_000), (30_000, 30_000)):
        with pytest.raises(uploads.Refused) as refused:
            uploads.image_type(upload("b.png", declared_png(width, height), "image/png"))
        assert refused.value.reason == uploads.TOO_MANY_PIXELS
    assert uploads.image_type(upload("ok.png", png_bytes(), "image/png")) == "image/png"
