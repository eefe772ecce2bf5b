"""Uploaded files, judged by their content: the one place that decides what a file is.

Every file a user sends (an incident's photos, the attachments of a case action of any kind)
is accepted only when its *bytes* say it is one of a few harmless types, and it is stored
and served as that type, never as the type or name the uploader gave:

- **images**: JPEG, PNG, WebP, opened by Pillow (only those three plugins) and verified;
  their pixel count (``width * height`` from the header, before any decoding) is at most
  ``MAX_PIXELS``, far below a decompression bomb;
- **PDF**: the magic ``%PDF-`` at the very start;
- **office documents** (attachments only): DOCX and XLSX, recognised as ZIP containers whose
  ``[Content_Types].xml`` declares a Word document or an Excel workbook as the main part.
  The name's extension plays no part; macro-enabled files (``vbaProject.bin``) and the old
  binary .doc/.xls are refused (save as .docx/.xlsx or PDF).

A file of an accepted type that also carries HTML or script (a *polyglot*: ``<script>`` in a
PNG text chunk, a PDF that starts like a web page) is refused too: browsers and other tools
that guess a type from content must never find a page in it. The whole file is scanned for
long markers (``<script``, ``<html``...; random compressed bytes hit one about once in
10^5 large files), its first kilobyte, where sniffers look, for shorter ones as well.

Stored files are named ``<generated>.<extension of the detected type>`` (``stored_name``),
so neither the uploader's name nor their extension reaches the disk. They are served by
``file_response``: the detected type (anything else as ``application/octet-stream``),
``X-Content-Type-Options: nosniff``, ``Content-Security-Policy: sandbox; default-src 'none'``,
and ``Content-Disposition: attachment`` unless the caller shows an image inline.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Sequence
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils.translation import gettext, gettext_noop
from PIL import Image

# Pillow format -> content type.
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Every type a stored file may have, with the extension it is stored and downloaded under.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    PDF: "pdf",
    DOCX: "docx",
    XLSX: "xlsx",
}
IMAGE_TYPES = frozenset(IMAGE_FORMATS.values())
# 40 megapixels: a 48 MP phone's full-size photo is refused, its usual 12 MP one passes;
# a decoded 40 MP RGBA image takes 160 MB, a bomb declares gigapixels in a few bytes.
MAX_PIXELS = 40_000_000
OCTET_STREAM = "application/octet-stream"
SANDBOX_CSP = "sandbox; default-src 'none'"

# The main part of a Word document / an Excel workbook in [Content_Types].xml.
_OFFICE_MAIN = {
    DOCX: b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    XLSX: b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
}
_MAX_CONTENT_TYPES_BYTES = 256 * 1024
# HTML or script anywhere in the file (long markers only: rare in random bytes) ...
_MARKUP = re.compile(
    rb"<(?:script|iframe|object|embed|!doctype|html[\s>]|body[\s>]|\?xml-stylesheet)"
    rb"|javascript:|vbscript:",
    re.IGNORECASE,
)
# ... and, in the first kilobyte where content sniffers look, shorter ones too.
_MARKUP_HEAD = re.compile(
    rb"<(?:(?:svg|head|meta|img|style|title|div)[\s>/]|a\s+href|!--)|\son[a-z]+\s*=",
    re.IGNORECASE,
)
_HEAD = 1024
_OVERLAP = 32

NOT_ALLOWED = "not_allowed"
TOO_MANY_PIXELS = "too_many_pixels"

MSG_TOO_MANY_PIXELS = gettext_noop(
    "The picture %(name)s has more than %(max)s million pixels; send a smaller picture."
)


class Refused(Exception):
    """The file is not accepted; ``reason`` is ``NOT_ALLOWED`` or ``TOO_MANY_PIXELS``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def image_type(f: UploadedFile) -> str:
    """The content type of a JPEG, PNG or WebP image judged by its content; raises
    ``Refused``. The file is rewound."""
    content_type = _image_type(f)
    if content_type is None:
        raise Refused(NOT_ALLOWED)
    _refuse_markup(f)
    return content_type


def attachment_type(f: UploadedFile) -> str:
    """The content type of an image, PDF, DOCX or XLSX file judged by its content; raises
    ``Refused``. The file is rewound."""
    f.seek(0)
    head = f.read(8)
    f.seek(0)
    if head.startswith(b"%PDF-"):
        content_type: str | None = PDF
    elif head.startswith(b"PK\x03\x04"):
        content_type = _office_type(f)
    else:
        content_type = _image_type(f)
    if content_type is None:
        raise Refused(NOT_ALLOWED)
    _refuse_markup(f)
    return content_type


def content_types(
    files: Sequence[UploadedFile],
    *,
    field: str,
    detect: Callable[[UploadedFile], str],
    max_bytes: int,
    msg_too_big: str,
    msg_refused: str,
) -> list[str]:
    """The detected content type of each file (``detect``: ``image_type`` or
    ``attachment_type``); raises a ValidationError keyed by ``field`` on the first file that
    is too big, has too many pixels or is refused (``msg_too_big`` takes ``name`` and
    ``max_mb``, ``msg_refused`` takes ``name``)."""

    def error(msgid: str, **params: Any) -> ValidationError:
        return ValidationError({field: [gettext(msgid) % params]})

    types = []
    for f in files:
        name = f.name or "?"
        if f.size is None or f.size > max_bytes:
            raise error(msg_too_big, name=name, max_mb=max_bytes >> 20)
        try:
            types.append(detect(f))
        except Refused as refused:
            if refused.reason == TOO_MANY_PIXELS:
                raise error(MSG_TOO_MANY_PIXELS, name=name, max=MAX_PIXELS // 1_000_000) from None
            raise error(msg_refused, name=name) from None
    return types


def stored_name(name: str | None, content_type: str) -> str:
    """The file name to store a file of ``content_type`` under: the uploader's name reduced to
    letters, digits, ``_`` and ``-`` (at most 40), and the detected type's extension."""
    stem = (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    stem = unicodedata.normalize("NFKC", stem)
    stem = re.sub(r"[^\w-]+", "_", stem).strip("_-")[-40:] or "file"
    return f"{stem}.{EXTENSIONS.get(content_type, 'bin')}"  # bin: bytes of no accepted type


def serving_type(content_type: str) -> str:
    """The type a stored file is served as: its stored type when it is one this module
    accepts (rows written before uploads were checked may say anything), else bytes."""
    return content_type if content_type in EXTENSIONS else OCTET_STREAM


def file_response(
    f: IO[bytes], *, content_type: str, filename: str, inline_images: bool = False
) -> FileResponse:
    """Serve a stored upload so that it can never run as a page of this site. ``filename``
    is the name shown; it is downloaded with the served type's extension (``.bin`` for a
    legacy file served as bytes)."""
    served = serving_type(content_type)
    inline = inline_images and served in IMAGE_TYPES
    response = FileResponse(
        f, content_type=served, as_attachment=not inline, filename=stored_name(filename, served)
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    return response


# --- the checks ---------------------------------------------------------------------------
def _image_type(f: UploadedFile) -> str | None:
    try:
        f.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(f, formats=list(IMAGE_FORMATS)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise Refused(TOO_MANY_PIXELS)
                kind = image.format
                image.verify()
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(TOO_MANY_PIXELS) from None
    except Exception:  # noqa: BLE001 - a malformed file may make a plugin raise anything
        return None
    finally:
        f.seek(0)
    return IMAGE_FORMATS.get(kind or "")


def _office_type(f: UploadedFile) -> str | None:
    try:
        with zipfile.ZipFile(f) as archive:
            names = archive.namelist()
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return None
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > _MAX_CONTENT_TYPES_BYTES:
                return None
            with archive.open(info) as part:
                declared = part.read(_MAX_CONTENT_TYPES_BYTES + 1)
    except Exception:  # noqa: BLE001 - bad, encrypted or oddly compressed archives alike
        return None
    finally:
        f.seek(0)
    if len(declared) > _MAX_CONTENT_TYPES_BYTES:
        return None
    found = [t for t, main in _OFFICE_MAIN.items() if _declares(declared, main)]
    return found[0] if len(found) == 1 else None


def _declares(content_types: bytes, main: bytes) -> bool:
    return (
        re.search(rb"ContentType\s*=\s*[\"']" + re.escape(main) + rb"[\"']", content_types)
        is not None
    )


def _refuse_markup(f: UploadedFile) -> None:
    """Refuse a file that carries HTML or script (a polyglot)."""
    tail = None
    try:
        for chunk in f.chunks():
            if tail is None and _MARKUP_HEAD.search(chunk[:_HEAD]):
                raise Refused(NOT_ALLOWED)
            if _MARKUP.search((tail or b"") + chunk):
                raise Refused(NOT_ALLOWED)
            tail = chunk[-_OVERLAP:]
    finally:
        f.seek(0)
