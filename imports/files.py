"""What the import page accepts as a file, judged by its name's suffix AND its content.

An upload is kept only when its suffix is one the import reads (``ALLOWED_SUFFIXES``: .xlsx,
.csv, .gpkg, .geojson, .json, .zip for a zipped Shapefile), it is not larger than
``GRIDMAP_IMPORT_MAX_MB`` and its bytes are what the suffix says:

- **.xlsx**: an Excel workbook without macros, by ``gridmap.uploads.attachment_type`` (a ZIP
  whose ``[Content_Types].xml`` declares a workbook; no ``vbaProject.bin``; no HTML inside);
- **.csv**: text (no NUL byte in the first 64 KiB; the encoding is the reader's business);
- **.gpkg**: an SQLite database (``SQLite format 3\\0``);
- **.geojson / .json**: JSON text starting with ``{``;
- **.zip**: a ZIP archive holding a Shapefile (a ``.shp`` with its ``.shx`` and ``.dbf``).

Nothing of the upload is ever executed or served: it is written under a generated name
(``<uuid>.<suffix>``) below ``GRIDMAP_IMPORT_ROOT`` and read only by the import's readers.
Each refusal is a ``ValidationError`` on the form's ``file`` field with a message a clerk can
act on.
"""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext, gettext_noop

from gridmap.uploads import XLSX, Refused, attachment_type

from .models import ALLOWED_SUFFIXES, import_root

SNIFF_BYTES = 1 << 16
SQLITE_MAGIC = b"SQLite format 3\x00"
UTF8_BOM = b"\xef\xbb\xbf"

MSG_NO_FILE = gettext_noop("Choose the file to import.")
MSG_EMPTY = gettext_noop("%(name)s is empty.")
MSG_SUFFIX = gettext_noop(
    "%(name)s cannot be imported: use an Excel workbook (.xlsx), a CSV file, a GeoPackage "
    "(.gpkg), GeoJSON or a zipped Shapefile (.zip)."
)
MSG_OLD_EXCEL = gettext_noop(
    "%(name)s is an old Excel file (.xls or .et): open it in Excel or WPS, save it as an Excel "
    "workbook (.xlsx) and upload that."
)
MSG_TOO_BIG = gettext_noop(
    "%(name)s is larger than %(max_mb)s MB: split it into several files, or save it as CSV, "
    "which is smaller."
)
MSG_NOT_WHAT_IT_SAYS = gettext_noop(
    "%(name)s is not a real %(format)s file (its content does not match its name). Open it in "
    "the program that made it, save it again as %(format)s and upload that."
)
MSG_MACROS = gettext_noop(
    "%(name)s is not a plain Excel workbook (it may contain macros). Save it as an Excel "
    "workbook (.xlsx) without macros and upload that."
)
MSG_NO_SHAPEFILE = gettext_noop(
    "%(name)s holds no Shapefile: the .zip must contain the .shp file with its .shx and .dbf."
)

FORMAT_NAMES = {
    ".xlsx": "Excel (.xlsx)",
    ".csv": "CSV",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".zip": "ZIP",
}


def _refuse(msgid: str, **params: object) -> ValidationError:
    return ValidationError({"file": [gettext(msgid) % params]})


def upload_suffix(upload: UploadedFile | None) -> str:
    """The checked suffix of ``upload`` (see the module docstring); raises ValidationError."""
    if upload is None:
        raise _refuse(MSG_NO_FILE)
    name = upload.name or "?"
    suffix = Path(name).suffix.lower()
    if suffix in (".xls", ".et"):
        raise _refuse(MSG_OLD_EXCEL, name=name)
    if suffix not in ALLOWED_SUFFIXES:
        raise _refuse(MSG_SUFFIX, name=name)
    if not upload.size:
        raise _refuse(MSG_EMPTY, name=name)
    max_mb = settings.GRIDMAP_IMPORT_MAX_MB
    if upload.size > max_mb << 20:
        raise _refuse(MSG_TOO_BIG, name=name, max_mb=max_mb)
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not _content_matches(upload, suffix, head):
        if suffix == ".xlsx" and head.startswith(b"PK\x03\x04") and _has_macros(upload):
            raise _refuse(MSG_MACROS, name=name)
        if suffix == ".zip" and head.startswith(b"PK\x03\x04"):
            raise _refuse(MSG_NO_SHAPEFILE, name=name)
        raise _refuse(MSG_NOT_WHAT_IT_SAYS, name=name, format=FORMAT_NAMES[suffix])
    return suffix


def _content_matches(upload: UploadedFile, suffix: str, head: bytes) -> bool:
    if suffix == ".xlsx":
        try:
            return attachment_type(upload) == XLSX
        except Refused:
            return False
    if suffix == ".csv":
        return b"\x00" not in head
    if suffix == ".gpkg":
        return head.startswith(SQLITE_MAGIC)
    if suffix in (".geojson", ".json"):
        text = head.removeprefix(UTF8_BOM).lstrip()
        return text.startswith(b"{")
    if suffix == ".zip":
        return _zipped_shapefile(upload)
    return False


def _has_macros(upload: UploadedFile) -> bool:
    try:
        with zipfile.ZipFile(upload) as archive:
            return any(n.lower().endswith("vbaproject.bin") for n in archive.namelist())
    except zipfile.BadZipFile:
        return False
    finally:
        upload.seek(0)


def _zipped_shapefile(upload: UploadedFile) -> bool:
    try:
        with zipfile.ZipFile(upload) as archive:
            names = [n.lower() for n in archive.namelist()]
    except (zipfile.BadZipFile, OSError):
        return False
    finally:
        upload.seek(0)
    stems = {n[:-4] for n in names if n.endswith(".shp")}
    return any(f"{s}.shx" in names and f"{s}.dbf" in names for s in stems)


def store_upload(upload: UploadedFile, suffix: str) -> str:
    """Write ``upload`` under a generated name below the import root; the name."""
    name = f"{uuid.uuid4().hex}{suffix}"
    with open(import_root() / name, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    upload.seek(0)
    return name


def new_report_name() -> str:
    """A generated name for a job's error workbook."""
    return f"{uuid.uuid4().hex}.xlsx"


def remove(name: str) -> None:
    """Remove a stored file (no error if it is gone)."""
    if name:
        (import_root() / name).unlink(missing_ok=True)
