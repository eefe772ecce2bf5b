"""Coverage: the road network for the 15-minute service circle.

The network is a routable topology in the shape pgRouting expects: every ``RoadSegment`` is an
undirected edge between two ``RoadNode``s (walking ignores one-way rules), with its length in
metres as the cost. Nodes are made by ``coverage.roads`` (the importer and the demo network):
segment ends closer than a tolerance are snapped into one node, and each segment's first and
last vertex are moved onto its nodes, so the geometry and the topology agree. Segments meet
only at their ends: a line that passes another's end without ending there is not joined to
it (as with ``pgr_createTopology``).
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

SRID: int = settings.GRIDMAP_SRID


class RoadNode(models.Model):
    """A junction or dead end of the road network (a pgRouting vertex)."""

    geom = models.PointField(_("location"), srid=SRID)

    class Meta:
        verbose_name = _("road node")
        verbose_name_plural = _("road nodes")


class RoadSegment(models.Model):
    """A walkable road segment between two nodes (a pgRouting edge; cost = ``length_m``)."""

    geom = models.LineStringField(_("line"), srid=SRID)
    source = models.ForeignKey(
        RoadNode, on_delete=models.PROTECT, related_name="+", verbose_name=_("source node")
    )
    target = models.ForeignKey(
        RoadNode, on_delete=models.PROTECT, related_name="+", verbose_name=_("target node")
    )
    length_m = models.FloatField(_("length (m)"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    village_code = models.CharField(
        _("village code"),
        max_length=12,
        blank=True,
        db_index=True,
        help_text=_("The village the segment was imported or generated for, when known."),
    )

    class Meta:
        verbose_name = _("road segment")
        verbose_name_plural = _("road segments")
        constraints = [
            models.CheckConstraint(
                condition=Q(length_m__gte=0), name="roadsegment_length_positive"
            ),
            models.CheckConstraint(condition=~Q(source=F("target")), name="roadsegment_not_a_loop"),
            models.CheckConstraint(condition=Q(geom__isvalid=True), name="roadsegment_geom_valid"),
            models.CheckConstraint(
                condition=Q(village_code="") | Q(village_code__regex=r"^\d{12}$"),
                name="roadsegment_village_code_format",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.source_id}–{self.target_id}"
