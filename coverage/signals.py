"""Signals coverage sends. ``roads_changed`` is the kernel's (``gridmap.signals``), so that
planning listens to it without importing coverage."""

from gridmap.signals import roads_changed

__all__ = ["roads_changed"]
