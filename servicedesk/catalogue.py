"""The service catalogue as residents read it: 办事公开, what can be done at a village.

``/public/<village_code>/services/`` (no login) lists the items a resident can ask for at the
village's service station (``ServiceItem.at_village``, in use), grouped by the six kinds, each
with its conditions, the materials to bring, the steps, the fees, the legal basis, the level
that approves it, the office that handles it and the promised working days; and the public
phone of the village's service centres. It is linked from the village's public notice board
(``reports.public_views``).

Which items: the global ones (no district) and those of the village's district; a district's
item with a global item's code takes its place there (as care categories do).

What it never shows: any request, resident or worker. The catalogue is data about the
service, written by district administrators; their text is shown as text (escaped).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from grids.models import ServiceCentre, Village
from grids.selectors import current_village

from .models import ServiceItem, ServiceKind


@dataclass
class KindGroup:
    """The items of one kind, in catalogue order."""

    kind: str
    label: str
    items: list[ServiceItem]


def district_items(district_id: int | None) -> QuerySet[ServiceItem]:
    """The items in use for a district: its own and the global ones, a district's item in
    place of the global item with its code (one row per code)."""
    chosen = (
        ServiceItem.objects.filter(Q(district__isnull=True) | Q(district_id=district_id))
        .order_by("code", F("district_id").asc(nulls_last=True))
        .distinct("code")
        .values("id")
    )
    # Chosen before the in-use filter: a district's item taken out of use does not bring the
    # global one back.
    return ServiceItem.objects.filter(id__in=chosen, active=True)


def village_items(village: Village) -> list[ServiceItem]:
    """The items a resident can ask for at ``village``'s service station, in catalogue order
    (kind, order, code)."""
    order = {value: n for n, value in enumerate(ServiceKind.values)}
    ids = district_items(village.town.district_id).filter(at_village=True).values("id")
    items = list(ServiceItem.objects.filter(id__in=ids))
    items.sort(key=lambda i: (order.get(i.kind, len(order)), i.sort_order, i.code))
    return items


def by_kind(items: list[ServiceItem]) -> list[KindGroup]:
    """``items`` grouped by kind, in the kinds' order; kinds without items left out."""
    groups = [KindGroup(k.value, str(k.label), []) for k in ServiceKind]
    index = {g.kind: g for g in groups}
    for item in items:
        index[item.kind].items.append(item)
    return [g for g in groups if g.items]


def centre_phones(village: Village) -> list[tuple[str, str]]:
    """The (name, public phone) of the village's service centres that have one."""
    return list(
        ServiceCentre.objects.filter(village=village)
        .exclude(phone="")
        .order_by("name")
        .values_list("name", "phone")
    )


@require_GET
def public_catalogue(request: HttpRequest, village_code: str) -> HttpResponse:
    """``/public/<village_code>/services/``: what can be done at the village (办事公开)."""
    village = current_village(village_code)
    if village is None:
        raise Http404(_("There is no village %(code)s.") % {"code": village_code[:20]})
    items = village_items(village)
    return render(
        request,
        "servicedesk/public_catalogue.html",
        {
            "village": village,
            "groups": by_kind(items),
            "count": len(items),
            "centres": centre_phones(village),
        },
    )
