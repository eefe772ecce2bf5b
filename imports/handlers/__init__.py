"""The kinds' handlers (``imports.pipeline.Handler``), registered on import (``ImportsConfig``)."""

from . import centres, households, party, people, places, units  # noqa: F401
