"""The kinds' handlers (``imports.pipeline.Handler``), registered on import (``ImportsConfig``)."""

from . import centres, households, party, units  # noqa: F401
