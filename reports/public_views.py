"""The public notice board (村务公开栏): how a village's problems were handled, for everyone.

``/public/`` lists the villages with handled problems; ``/public/villages/<code>/`` lists one
village's. No login, and no personal data. What is shown, and why:

- **Which cases**: those closed out (销号). A resolved case can still fail verification or be
  reopened; a closed-out one was signed off by the station (or the level that owns it), so
  the board shows what the record vouches for. Cancelled cases are never shown.
- **Where**: the village and the grid *name* the case was routed to. No coordinates, no map,
  no building or household.
- **What**: the category, the severity, the status, the reported and closed-out dates, on
  time or late, the reporter's rating, and the *role* that handled it (网格长, 站长, ... from
  ``grids.Role``; the role held by whoever reported it resolved), never a person.
- **Free text** (the description, the notes, the result, the feedback) is written by people
  and may name anyone: residents, workers, or people nobody told the system about (张三丰
  typed into a note). No masking can recognise those, so the board shows free text **only
  after a reviewer approved it for publication** (``incidents.publication``: town, station
  or district staff in whose jurisdiction the case lies write or edit the public text on
  the case page or through the API; each approval is in the case history). A case without
  an approved text shows the structured outcome only (issue 12, item 7).
- **On duty this week** (issue 14): for each day of the week, the *role* of each person on
  the village's duty roster (``presence.duty.public_week``) and the public phone of the
  village's service centres (``ServiceCentre.phone``, the centre's, not a person's); never a
  name.
- **Never**: the reporter, the handlers, the station head or anyone else by name (not the
  recipients, not the actors of the history), phone numbers, ID numbers, household
  addresses.

An approved text still goes through ``mask_personal_data``, a safety net for a reviewer's
slip:

1. every name the system knows in connection with the case or the village is replaced:
   the recipients and the actors of the case, the reporters (name and login), the heads of
   the village's households, its party members and the holders of its roles. A Chinese
   name becomes surname + 某 (王晓明 → 王某, the usual form of public notices); any other
   name becomes ``***``;
2. the village's household addresses (as stored) become ``***``;
3. runs of 7 or more digits (phone numbers, 15- and 18-digit ID numbers with a final X,
   bank cards), mobile numbers written with spaces or dashes and landline numbers with an
   area code become ``***``;
4. house, building, unit and room numbers (``滨江路49号``, ``3栋``, ``2单元``, ``701室``, the
   room after ``单元``) have their digits replaced by ``*``; a date's ``10月1号`` stays.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Length, Substr
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from gridmap import personal_data
from gridmap.codes import Level
from gridmap.personal_data import MASK
from grids.models import Role, RoleAssignment, Village
from grids.selectors import current_village
from households.models import Household, PartyMember
from incidents.models import CaseEvent, Incident, IncidentRecipient, IncidentReport, Status
from presence.duty import PublicDutyDay, public_week
from servicedesk.catalogue import centre_phones

# The statuses shown on the board, and the action whose note says what was done.
PUBLIC_STATUSES = (Status.CLOSED,)
RESOLVE_ACTION = "resolve"
PAGE_SIZE = 30
# A name shorter than this is not masked on its own (one character is too common in text).
MIN_NAME_LENGTH = 2

_CJK = re.compile(r"^[\u3400-\u9fff\u00b7]+$")
# Digits (phones, ID numbers, cards): the kernel's one rule, also used by the log filter.
_NUMBERS = personal_data.NUMBERS
# House, building, unit and room numbers: the number after a road, lane or group and before
# 号 (滨江路49号, 3组12号; not a date's 10月1号), before 栋/幢/单元/室, and the room after
# 号/栋/幢/单元 (49号1单元701).
_HOUSE_NUMBERS = re.compile(
    r"(?<=[路街巷道弄里组村屯队])\s*\d+(?=\s*号)"
    r"|\d+(?=\s*(?:栋|幢|单元|室))"
    r"|(?:(?<=单元)|(?<=号)|(?<=栋)|(?<=幢))\s*\d+"
)


def _masked_name(name: str) -> str:
    return name[0] + "某" if _CJK.match(name) else MASK


def mask_personal_data(
    text: str, *, names: Iterable[str] = (), addresses: Iterable[str] = ()
) -> str:
    """``text`` without the given names and addresses, phone numbers, ID numbers and house
    numbers (see the module docstring)."""
    if not text:
        return ""
    found: dict[str, str] = {}
    for address in addresses:
        if address and address in text:
            found[address] = MASK
    for name in names:
        name = (name or "").strip()
        if len(name) >= MIN_NAME_LENGTH and name in text:
            found.setdefault(name, _masked_name(name))
    # Longest first, so a full address or name is replaced before a part of it.
    for term in sorted(found, key=len, reverse=True):
        text = text.replace(term, found[term])
    text = _NUMBERS.sub(MASK, text)
    return _HOUSE_NUMBERS.sub(lambda m: re.sub(r"\d", "*", m.group(0)), text)


# --- reads --------------------------------------------------------------------------------
def public_cases(village_code: str) -> QuerySet[Incident]:
    """The village's handled cases, newest first, with what the board shows and nothing
    more (the reporter, the recipients and the location are not even read)."""
    resolves = CaseEvent.objects.filter(incident=OuterRef("pk"), action=RESOLVE_ACTION).order_by(
        "-seq"
    )
    return (
        Incident.objects.filter(place_code__startswith=village_code, status__in=PUBLIC_STATUSES)
        .select_related("category", "grid", "village")
        .only(
            "id",
            "category__code",
            "category__name_zh",
            "category__name_en",
            "grid__name",
            "village__name",
            "severity",
            "owner_level",
            "public_text",
            "reported_at",
            "resolved_at",
            "closed_at",
            "closed_on_time",
            "satisfaction",
            "status",
        )
        .annotate(resolver_id=Subquery(resolves.values("actor_id")[:1]))
        .order_by("-closed_at", "-id")
    )


def known_names(village_code: str, incident_ids: list[int]) -> set[str]:
    """Every name the system knows around these cases and this village (see the module
    docstring), in five queries."""
    names: set[str] = set()
    names.update(
        IncidentRecipient.objects.filter(incident_id__in=incident_ids).values_list(
            "name", flat=True
        )
    )
    names.update(
        CaseEvent.objects.filter(incident_id__in=incident_ids).values_list("actor_name", flat=True)
    )
    for first, last, login in IncidentReport.objects.filter(
        incident_id__in=incident_ids
    ).values_list("reporter__first_name", "reporter__last_name", "reporter__username"):
        names.update({first, last, f"{last}{first}", f"{first} {last}".strip(), login})
    names.update(
        Household.objects.filter(grid__code__startswith=village_code).values_list(
            "head_name", flat=True
        )
    )
    names.update(
        PartyMember.objects.filter(branch__village__code=village_code).values_list(
            "name", flat=True
        )
    )
    names.update(
        RoleAssignment.objects.active()
        .filter(grid__code__startswith=village_code)
        .values_list("worker__name", flat=True)
    )
    names.update(
        RoleAssignment.objects.active()
        .filter(village__code=village_code)
        .values_list("worker__name", flat=True)
    )
    names.discard("")
    return names


def village_addresses(village_code: str) -> set[str]:
    return set(
        Household.objects.filter(grid__code__startswith=village_code).values_list(
            "address", flat=True
        )
    )


def _role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else ""


def handling_roles(cases: list[Incident]) -> dict[int, str]:
    """The role (a ``grids.Role`` label) that handled each case: the role in which the
    person who reported it resolved was told of the case, else a role that person holds
    now, else the level that owned the case. Never a name. Two queries."""
    resolvers = {c.pk: c.resolver_id for c in cases if c.resolver_id}  # type: ignore[attr-defined]
    by_case: dict[tuple[int, int], str] = {}
    for incident_id, user_id, role in IncidentRecipient.objects.filter(
        incident_id__in=list(resolvers), worker__user_id__in=set(resolvers.values())
    ).values_list("incident_id", "worker__user_id", "role"):
        by_case.setdefault((incident_id, user_id), _role_label(role))
    held: dict[int, str] = {}
    for user_id, role in (
        RoleAssignment.objects.active()
        .filter(worker__user_id__in=set(resolvers.values()))
        .order_by("worker__user_id", "id")
        .values_list("worker__user_id", "role")
    ):
        held.setdefault(user_id, _role_label(role))
    out = {}
    for case in cases:
        user_id = resolvers.get(case.pk)
        role = (by_case.get((case.pk, user_id), "") or held.get(user_id, "")) if user_id else ""
        if not role and case.owner_level in Level.values:
            role = str(Level(case.owner_level).label)
        out[case.pk] = role
    return out


def public_entries(village_code: str, cases: list[Incident]) -> list[dict[str, Any]]:
    """What the board shows of each case: the structured outcome, names of places and roles,
    dates, and the approved public text (masked once more) if there is one."""
    approved = [c for c in cases if c.public_text]
    names = known_names(village_code, [c.pk for c in approved]) if approved else set()
    addresses = village_addresses(village_code) if approved else set()
    roles = handling_roles(cases)
    entries = []
    for case in cases:
        entries.append(
            {
                "id": case.pk,
                "category": case.category.name,
                "severity": case.get_severity_display(),
                "severity_code": case.severity,
                "status": case.get_status_display(),
                "place": case.grid.name if case.grid is not None else "",
                "handled_by": roles.get(case.pk, ""),
                "public_text": mask_personal_data(
                    case.public_text, names=names, addresses=addresses
                ),
                "reported_on": case.reported_at,
                "closed_on": case.closed_at,
                "on_time": case.closed_on_time,
                "satisfaction": case.satisfaction,
            }
        )
    return entries


def villages_with_handled_cases() -> list[dict[str, Any]]:
    """``[{"town": Town, "villages": [{"code", "name", "count"}]}]`` for the index: the
    handled cases counted in the database per village code, then the current villages and
    towns named in two queries."""
    counts = dict(
        Incident.objects.filter(status__in=PUBLIC_STATUSES)
        .annotate(code_length=Length("place_code"))
        .filter(code_length__gte=12)
        .annotate(village_code=Substr("place_code", 1, 12))
        .values("village_code")
        .annotate(n=Count("id"))
        .values_list("village_code", "n")
    )
    villages = (
        Village.objects.current()
        .filter(code__in=list(counts))
        .only("code", "name", "town__code")
        .select_related("town")
        .defer("town__geom")
        .order_by("code")
    )
    towns: dict[str, dict[str, Any]] = {}
    for village in villages:
        group = towns.setdefault(
            village.town.code,
            {"code": village.town.code, "name": village.town.name, "villages": []},
        )
        group["villages"].append(
            {"code": village.code, "name": village.name, "count": counts[village.code]}
        )
    return list(towns.values())


def duty_this_week(village: Village) -> tuple[list[PublicDutyDay], list[tuple[str, str]]]:
    """The village's duty roster of this week by role (never a name) and the (name, public
    phone) of its service centres that have one."""
    today = timezone.localdate()
    week = public_week(village, today - dt.timedelta(days=today.weekday()))
    return week, centre_phones(village)


# --- pages --------------------------------------------------------------------------------
@require_GET
def public_index(request: HttpRequest) -> HttpResponse:
    """``/public/``: the villages whose handled problems are on the board."""
    towns = villages_with_handled_cases()
    return render(request, "reports/public_index.html", {"towns": towns})


@require_GET
def public_notice(request: HttpRequest, village_code: str) -> HttpResponse:
    """``/public/villages/<code>/``: one village's handled problems."""
    village = current_village(village_code)
    if village is None:
        raise Http404(_("There is no village %(code)s.") % {"code": village_code})
    paginator = Paginator(public_cases(village.code), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    entries = public_entries(village.code, list(page.object_list))
    duty_week, centres = duty_this_week(village)
    return render(
        request,
        "reports/public_notice.html",
        {
            "village": village,
            "page": page,
            "entries": entries,
            "total": paginator.count,
            "duty_week": duty_week,
            "centres": centres,
            "today": timezone.localdate(),
        },
    )
