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


class ServiceCircleVillage(models.Model):
    """The 15-minute service circle of one current village, cached (``coverage.service_circle``).

    ``fingerprint`` digests every input of the village's figures: its households (id, location,
    grid), and the road segments, road nodes and service centres near it (within twice the
    reach of its bounding box). A report recomputes only the villages whose fingerprint
    differs from the one stored here.
    """

    village = models.OneToOneField(
        "grids.Village",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("village"),
    )
    fingerprint = models.CharField(_("fingerprint of the inputs"), max_length=32)
    method = models.CharField(_("method"), max_length=10)
    households = models.PositiveIntegerField(_("households"))
    covered = models.PositiveIntegerField(_("households within the circle"))
    service_areas = models.JSONField(
        _("service areas"),
        default=list,
        help_text=_("GeoJSON features: the service area of each centre inside the village."),
    )
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("cached service circle of a village")
        verbose_name_plural = _("cached service circles of villages")
        constraints = [
            models.CheckConstraint(
                condition=Q(covered__lte=F("households")), name="scvillage_covered_le_households"
            ),
        ]


class ServiceCircleUncovered(models.Model):
    """A household beyond the 15-minute service circle, as last computed for its village (the
    map's clusters and the uncovered-households layer read these rows)."""

    village = models.ForeignKey(
        ServiceCircleVillage,
        on_delete=models.CASCADE,
        related_name="uncovered",
        verbose_name=_("village"),
    )
    household_id = models.BigIntegerField(_("household"), db_index=True)
    location = models.PointField(_("location"), srid=SRID)

    class Meta:
        verbose_name = _("household beyond the service circle")
        verbose_name_plural = _("households beyond the service circle")


class InputChange(models.Model):
    """One statement that wrote an input of the service circle (households, grids, villages,
    road segments and nodes, service centres), appended by a statement-level trigger in the
    writer's transaction (migration ``0004``): it commits with the change, bulk SQL and
    ``COPY`` included. ``coverage.service_circle.refresh`` skips the fingerprints of an area
    when no change committed since its last check (``CircleCheck``)."""

    id = models.BigAutoField(primary_key=True)
    # The writer's transaction (``pg_current_xact_id()``, xid8: stored as a number).
    xact = models.BigIntegerField(_("transaction"), db_index=True)

    class Meta:
        verbose_name = _("change of the service circle's inputs")
        verbose_name_plural = _("changes of the service circle's inputs")


class CircleCheck(models.Model):
    """The last complete check of an area's service circle: every village's cached row then
    matched its inputs as seen by ``snapshot`` (``pg_current_snapshot()`` as text, taken
    before the fingerprints), with ``InputChange`` ids up to ``last_change`` visible."""

    # The area's code prefix as the fingerprints match it (``450702%``).
    area = models.CharField(_("area code prefix"), max_length=32, primary_key=True)
    # What the cached figures depend on besides the data (the rule's version, the reach).
    version = models.CharField(_("version"), max_length=100)
    snapshot = models.TextField(_("snapshot"))
    last_change = models.BigIntegerField(_("last change seen"))
    # The checking transaction's own id when it had one (a caller's transaction that wrote
    # before refreshing): its changes up to ``last_change`` were seen, though a snapshot
    # counts its own transaction as running.
    own_xact = models.BigIntegerField(_("own transaction"), null=True, blank=True)
    villages = models.PositiveIntegerField(_("current villages"))
    checked_at = models.DateTimeField(_("checked at"), auto_now=True)

    class Meta:
        verbose_name = _("check of an area's service circle")
        verbose_name_plural = _("checks of areas' service circles")
