"""Signals of coverage: other apps keep derived data (cached travel times) in step with the
road network without coverage knowing them."""

from django.dispatch import Signal

# Sent after a committed change of the road network (an import, the demo network loaded or
# deleted). No arguments besides ``sender``.
roads_changed = Signal()
