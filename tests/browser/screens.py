"""Where the browser tests save their screenshots.

``make test`` must not write into tracked files, so by default they go to
``var/screenshots/`` (ignored). ``make screenshots`` runs the browser tests with
``GRIDMAP_SCREENSHOTS=docs/screenshots`` to refresh the README's pictures.

Headless Chromium does not draw PDFs, so a PDF's first page is drawn by poppler's
``pdftoppm`` (Debian's poppler-utils, installed by ``make setup``): ``pdf_screenshot``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

SCREENSHOTS = Path(
    os.environ.get("GRIDMAP_SCREENSHOTS") or settings.BASE_DIR / "var" / "screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def pdf_screenshot(pdf: bytes, name: str, *, dpi: int = 110) -> Path:
    """Draw the first page of ``pdf`` as ``SCREENSHOTS / name`` (a PNG) with ``pdftoppm``."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RuntimeError("pdftoppm is missing: `make setup` installs poppler-utils.")
    target = SCREENSHOTS / name
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "page.pdf"
        source.write_bytes(pdf)
        stem = Path(work) / "page"
        subprocess.run(
            [tool, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", source, stem],
            check=True,
            capture_output=True,
            timeout=60,
        )
        shutil.move(stem.with_suffix(".png"), target)
    return target
