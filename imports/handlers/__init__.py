"""The kinds' handlers (``imports.pipeline.Handler``), registered on import (``ImportsConfig``)."""

from . import (
    households,  # noqa: F401
    people,  # noqa: F401
    places,  # noqa: F401
)
