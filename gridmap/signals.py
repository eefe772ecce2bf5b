"""Signals shared by sibling feature apps, so that none of them imports another.

coverage sends ``roads_changed``; planning (cached travel times) listens. Both import it from
here, the layer below them, instead of planning importing coverage.
"""

from django.dispatch import Signal

# Sent after a committed change of the road network (an import, the demo network loaded or
# deleted). No arguments besides ``sender``.
roads_changed = Signal()
