"""Signals of grids: other apps keep derived data in step with the boundaries."""

from django.dispatch import Signal

# Sent after a committed boundary import or supersede (villages may have moved). Argument:
# ``level`` (the level imported).
boundaries_changed = Signal()
