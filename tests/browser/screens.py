"""Where the browser tests save their screenshots.

``make test`` must not write into tracked files, so by default they go to
``var/screenshots/`` (ignored). ``make screenshots`` runs the browser tests with
``GRIDMAP_SCREENSHOTS=docs/screenshots`` to refresh the README's pictures.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

SCREENSHOTS = Path(
    os.environ.get("GRIDMAP_SCREENSHOTS") or settings.BASE_DIR / "var" / "screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
