"""The kinds' handlers (``imports.pipeline.Handler``), registered on import (``ImportsConfig``)."""

from . import (
    centres,  # noqa: F401
    duty,  # noqa: F401
    households,  # noqa: F401
    party,  # noqa: F401
    people,  # noqa: F401
    places,  # noqa: F401
    service_items,  # noqa: F401
    units,  # noqa: F401
)
