"""Admin of field presence: one module per area, each registering its own models."""

from . import admin_care, admin_duty, admin_field, admin_visits  # noqa: F401
