"""The three lists (``cases.lists``) for service requests (代办), and the desk's export.

On ``/lists/?case=service`` (``cases.list_views``, registered by the app):

- **Requests in hand** (在办事项清单, ``problems``): the requests not yet done (received, in
  progress), the newest first;
- **Who holds them** (代办责任清单, ``responsibility``): every open request (done ones too,
  until delivered), with its first receiver (首问负责人), the level and place that own it
  now, who handles it (the person who took its last step), its hand-offs to town and county
  offices with each office's promise, and the date promised to the resident, the nearest
  promise first;
- **Ended requests** (办结销号清单, ``closeout``): done, delivered, returned (not eligible)
  or withdrawn, with who took the last step and when, whether it was done on time (done by
  the promised date, extensions included: ``servicedesk.figures``' on-time rule) and the
  resident's rating; the period is of the end (done, else returned or withdrawn).

The filters are the engine's (area, period, state) and the service's (item, kind of
service, village, overdue only). The jurisdiction is the engine's one rule for service
requests (``selectors.requests_visible_to``); the applicant is shown as on the desk
(``selectors.applicant_shown``: masked for the roles that do not visit households), in the
exports too (``before_export`` notes a streamed CSV's unmasked names for the access log).

The desk's list (``/services/``) is the same query with the desk's filters and every state
(``desk_queryset``); its export has the ``DESK`` columns.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext, gettext_noop, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.selectors import can_see_personal_data, jurisdiction_prefixes
from cases import lists as case_lists
from cases.list_registry import CaseLists
from cases.lists import (
    CASE,
    EXTENSIONS,
    LIGHT,
    OWNER,
    OWNER_LEVEL,
    PLACE_CODE,
    Column,
    ListKind,
    ListRules,
    User,
)
from cases.models import OPEN_STATUSES, Status
from gridmap import personal_data
from gridmap.codes import Level
from grids.models import City

from . import figures as service_figures
from .forms import items_for, villages_for
from .models import (
    ApprovingLevel,
    ServiceItem,
    ServiceKind,
    ServiceRequest,
    ServiceRequestEvent,
    ServiceStatus,
    ServiceStep,
)
from .selectors import applicant_shown, local_date, requests_visible_to

MSG_VILLAGE_CODE = gettext_noop("%(code)s is not the code of a village (12 digits).")
RECORD_TYPE = "service_request"
# The desk's and the lists' figures cover the last 30 days unless a period is chosen.
FIGURES_DAYS = 30

# Not done yet (the problem list); ended (the close-out list); completed (办结).
NOT_DONE = [Status.REPORTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RETURNED]
ENDED = [Status.RESOLVED, Status.CLOSED, Status.DECLINED, Status.CANCELLED]
COMPLETED = (Status.RESOLVED, Status.CLOSED)
# The actions that end a request, or end the service's part of it (the last one is shown).
ENDING_ACTIONS = ("resolve", "close_out", "decline", "cancel")


def ended_at() -> Coalesce:
    """When a request ended: done (``resolved_at``), else its return or withdrawal."""
    ending = ServiceRequestEvent.objects.filter(
        request=OuterRef("pk"), action__in=["decline", "cancel"]
    ).order_by("-seq")
    return Coalesce("resolved_at", Subquery(ending.values("at")[:1]))


RULES = ListRules(
    statuses={
        ListKind.PROBLEMS: NOT_DONE,
        ListKind.RESPONSIBILITY: list(OPEN_STATUSES),
        ListKind.CLOSEOUT: ENDED,
    },
    status_filtered=frozenset(ListKind.values),
    ended_at=ended_at,
    sign_off_actions=ENDING_ACTIONS,
    scoped=False,  # requests_visible_to is the jurisdiction
)
# The desk lists every state, newest first (the problem list's order).
DESK_RULES = replace(RULES, statuses={**RULES.statuses, ListKind.PROBLEMS: None})


def overdue_q(now: dt.datetime) -> Q:
    """Requests whose traffic light is red (``cases.deadlines.traffic_light``): open and past
    the promise, or done after it and not delivered yet."""
    not_done = [s for s in OPEN_STATUSES if s not in (Status.RESOLVED, Status.VERIFIED)]
    return Q(status__in=not_done, resolve_due_at__lt=now) | Q(
        status__in=[Status.RESOLVED, Status.VERIFIED], resolved_at__gt=F("resolve_due_at")
    )


@dataclass(frozen=True)
class ListSpec(case_lists.ListSpec):
    """What to list, with the service's own filters."""

    item: int | None = None
    service_kind: str | None = None
    village: str | None = None
    overdue: bool = False


def list_queryset(
    *, user: User, spec: ListSpec, rules: ListRules = RULES, now: dt.datetime | None = None
) -> QuerySet[ServiceRequest]:
    """The rows of a list in one query: the requests ``user`` may open, the service's filters,
    then the engine's (``cases.lists.list_queryset``); on the responsibility list with the
    hand-offs."""
    qs = requests_visible_to(user)
    if spec.item:
        qs = qs.filter(item_id=spec.item)
    if spec.service_kind:
        qs = qs.filter(item__kind=spec.service_kind)
    if spec.village:
        qs = qs.filter(village__code=spec.village)
    if spec.overdue:
        qs = qs.filter(overdue_q(now or timezone.now()))
    qs = qs.select_related("item", "village", "town", "grid", "first_receiver", "reporter").defer(
        "village__geom", "town__geom", "grid__geom"
    )
    if spec.kind == ListKind.RESPONSIBILITY:
        steps = ServiceStep.objects.filter(request=OuterRef("pk")).order_by("number")
        # Who handles it now: the person who took its last step (not the clock).
        last = ServiceRequestEvent.objects.filter(
            request=OuterRef("pk"), actor__isnull=False
        ).order_by("-seq")
        qs = qs.annotate(
            handler_name=Subquery(last.values("actor_name")[:1]),
            step_list=ArraySubquery(
                steps.values(
                    json=JSONObject(
                        number="number",
                        office="office",
                        level="level",
                        promised_on="promised_on",
                        back_at="back_at",
                    )
                )
            ),
        )
    return case_lists.list_queryset(user=user, spec=spec, qs=qs, rules=rules)


def desk_queryset(*, user: User, spec: ListSpec) -> QuerySet[ServiceRequest]:
    """The desk's list (``/services/``): every state, the newest first."""
    return list_queryset(user=user, spec=replace(spec, kind=ListKind.PROBLEMS), rules=DESK_RULES)


# --- columns ----------------------------------------------------------------------------------
def place_text(request: ServiceRequest) -> str:
    """Town · village · grid of the request."""
    parts = [p.name for p in (request.town, request.village, request.grid) if p is not None]
    return " · ".join(parts) or request.place_code


def receiver_text(request: ServiceRequest) -> str:
    """The first receiver (首问负责人): their worker's name, else the login's name."""
    if request.first_receiver is not None:
        return request.first_receiver.name
    user = request.reporter
    return user.get_full_name() or user.get_username()


MSG_STEP = gettext_noop("%(number)s. %(office)s (%(level)s), promised by %(promised)s")
MSG_STEP_BACK = gettext_noop(
    "%(number)s. %(office)s (%(level)s), promised by %(promised)s, back on %(back)s"
)
STEP_LEVELS = dict(ApprovingLevel.choices)


def steps_text(request: ServiceRequest) -> list[str]:
    """The hand-offs (转办) with each office's promise and when its part came back."""
    out = []
    for step in getattr(request, "step_list", None) or []:
        back = parse_datetime(step["back_at"]) if step.get("back_at") else None
        promised = parse_date(step["promised_on"] or "")
        values = {
            "number": step["number"],
            "office": step["office"],
            "level": STEP_LEVELS.get(step["level"], step["level"]),
            "promised": promised.isoformat() if promised else "",
        }
        if back is not None:
            values["back"] = timezone.localtime(back).date().isoformat()
            out.append(gettext(MSG_STEP_BACK) % values)
        else:
            out.append(gettext(MSG_STEP) % values)
    return out


def done_on_time(request: ServiceRequest) -> bool | None:
    """Done by the promised date (the figures' rule); None while not done, or returned or
    withdrawn."""
    if request.status not in COMPLETED or request.resolved_at is None:
        return None
    return request.resolve_due_at is None or request.resolved_at <= request.resolve_due_at


@functools.cache
def applicant_column(*, visible: bool) -> Column:
    """The applicant's name as the viewer may see it (one column object per visibility: the
    page's writers are kept per column, ``cases.lists.rows_html``)."""
    return Column(
        "applicant",
        _("applicant"),
        lambda r, now: applicant_shown(
            r, "applicant_name", personal_data.HEAD_NAME, visible=visible
        ),
    )


SHORT_CODE = Column("short_code", _("lookup code"), lambda r, now: r.short_code)
RECEIVED = Column(
    "reported_at", pgettext_lazy("service request", "received at"), lambda r, now: r.reported_at,
    "datetime",
)  # fmt: skip
ITEM = Column("item", pgettext_lazy("service item", "item"), lambda r, now: r.item.name)
SERVICE_KIND = Column(
    "service_kind", _("kind of service"), lambda r, now: r.item.kind, "text",
    dict(ServiceKind.choices),
)  # fmt: skip
PLACE = Column("place", _("place"), lambda r, now: place_text(r), "place")
APPLICANT = applicant_column(visible=False)
RECEIVER = Column("first_receiver", _("first receiver"), lambda r, now: receiver_text(r))
STATUS = Column(
    "status", _("status"), lambda r, now: r.status, "status", dict(ServiceStatus.choices)
)
STEPS = Column("steps", _("hand-offs"), lambda r, now: steps_text(r), "people")
HANDLER = Column("handler", _("handled by"), lambda r, now: r.handler_name)
PROMISED = Column(
    "promised_on", _("promised by"), lambda r, now: local_date(r.resolve_due_at), "date"
)
DONE = Column(
    "resolved_at", pgettext_lazy("service request", "done at"), lambda r, now: r.resolved_at,
    "datetime",
)  # fmt: skip
LAST_BY = Column("signed_off_by", _("last step by"), lambda r, now: r.signed_off_by)
LAST_AT = Column("signed_off_at", _("last step at"), lambda r, now: r.signed_off_at, "datetime")
ON_TIME = Column("on_time", _("done on time"), lambda r, now: done_on_time(r), "on_time")
RATING = Column("satisfaction", _("rating"), lambda r, now: r.satisfaction, "number")
MATTER = Column("matter", _("the matter"), lambda r, now: r.matter, "long")

WHAT = [CASE, SHORT_CODE, ITEM, SERVICE_KIND, PLACE, PLACE_CODE, APPLICANT]
COLUMNS: dict[str, list[Column]] = {
    ListKind.PROBLEMS: [*WHAT, RECEIVED, RECEIVER, STATUS, LIGHT, OWNER_LEVEL, OWNER, PROMISED],
    ListKind.RESPONSIBILITY: [
        *[*WHAT, RECEIVED, STATUS, LIGHT, RECEIVER, HANDLER, OWNER_LEVEL, OWNER, STEPS],
        PROMISED,
    ],
    ListKind.CLOSEOUT: [
        *[*WHAT, RECEIVER, RECEIVED, PROMISED, DONE, STATUS, LAST_BY, LAST_AT],
        *[ON_TIME, RATING, EXTENSIONS],
    ],
}
# The desk's export: its rows in every state, with the lists' columns.
DESK = [
    *[*WHAT, RECEIVED, RECEIVER, STATUS, LIGHT, OWNER_LEVEL, OWNER, PROMISED, DONE],
    *[ON_TIME, RATING, MATTER],
]
# The matter closes every list (the longest column).
for _columns in COLUMNS.values():
    _columns.append(MATTER)


def with_viewer(columns: list[Column], user: User) -> list[Column]:
    """``columns`` with the applicant as ``user`` may see it."""
    shown = applicant_column(visible=can_see_personal_data(user))
    return [shown if c.key == APPLICANT.key else c for c in columns]


def columns_for(kind: str, user: User) -> list[Column]:
    return with_viewer(COLUMNS[kind], user)


def before_export(user: User, qs: QuerySet[ServiceRequest], spec: Any = None) -> None:
    """The export carries applicants' names (masked or not): noted now, before the streamed
    body is written after the view returned (``gridmap.personal_data.note_streamed``)."""
    visible = can_see_personal_data(user)
    records = qs.order_by().values_list("pk", "place_code") if visible else []
    personal_data.note_streamed(
        records, kind=personal_data.HEAD_NAME, visible=visible, record_type=RECORD_TYPE
    )


# --- the filter -------------------------------------------------------------------------------
VILLAGE_CODE = re.compile(r"^\d{12}$")


class ListFilterForm(case_lists.ListFilterForm):
    """The query string of ``/lists/?case=service`` with the service's filters."""

    item = forms.ModelChoiceField(
        label=pgettext_lazy("service item", "Item"), queryset=ServiceItem.objects.all(),
        required=False,
    )  # fmt: skip
    service_kind = forms.ChoiceField(label=_("Kind of service"), required=False)
    village = forms.CharField(label=_("Village"), max_length=15, required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    spec_class = ListSpec

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        anything = [("", _("all"))]
        self.fields["status"].choices = anything + list(ServiceStatus.choices)
        self.fields["service_kind"].choices = anything + list(ServiceKind.choices)

    def clean_village(self) -> str:
        code = (self.cleaned_data.get("village") or "").strip()
        if code and not VILLAGE_CODE.match(code):
            raise forms.ValidationError(gettext(MSG_VILLAGE_CODE) % {"code": code})
        return code

    def spec_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        item = data.get("item")
        return {
            **super().spec_fields(),
            "item": item.pk if item is not None else None,
            "service_kind": data.get("service_kind") or None,
            "village": data.get("village") or None,
            "overdue": bool(data.get("overdue")),
        }

    # The choices of the page's selects, inside the viewer's jurisdiction.
    def service_items(self) -> list[ServiceItem]:
        return items_for(self.user)

    def villages(self) -> Any:
        return villages_for(self.user)


# --- the figures ------------------------------------------------------------------------------
def figures_unit(user: User, *, village: str = "", level: str = "", code: str = "") -> Any:
    """The unit the figures are about: the village filtered, else the area chosen (station,
    town, county), else the city of the user's jurisdiction (the figures count only the
    requests inside it). ``(level, code)`` or None."""
    if village:
        return Level.VILLAGE, village
    if level and code:
        return level, code
    prefixes = jurisdiction_prefixes(user)
    if prefixes is None:
        city = City.objects.current().order_by("code").first()
        return (Level.CITY, city.code) if city is not None else None
    if not prefixes:
        return None
    return Level.CITY, prefixes[0][:4] + "00"


def figures_for(user: User, spec: case_lists.ListSpec) -> dict[str, Any] | None:
    """The completion figures (``servicedesk.figures.service_figures``) of the requests
    received in the chosen period (else the last 30 days) in the chosen village or area."""
    assert isinstance(spec, ListSpec)
    unit = figures_unit(
        user, village=spec.village or "", level=spec.level or "", code=spec.code or ""
    )
    if unit is None:
        return None
    today = timezone.localdate()
    end = spec.date_to or today
    start = spec.date_from or (end - dt.timedelta(days=FIGURES_DAYS - 1))
    shown = service_figures.service_figures(
        level=unit[0], code=unit[1], start=start, end=end + dt.timedelta(days=1), user=user
    )
    return {"figures": shown, "start": start, "end": end}


def _queryset(user: User, spec: case_lists.ListSpec) -> QuerySet[ServiceRequest]:
    assert isinstance(spec, ListSpec)
    return list_queryset(user=user, spec=spec)


LISTS = CaseLists(
    key="service",
    label=_("Service requests"),
    form=ListFilterForm,
    queryset=_queryset,
    columns=columns_for,
    case_url="service-request",
    filters_template="servicedesk/_list_filters.html",
    list_labels={
        ListKind.PROBLEMS: pgettext_lazy("service list", "Requests in hand"),
        ListKind.RESPONSIBILITY: pgettext_lazy("service list", "Who holds them"),
        ListKind.CLOSEOUT: pgettext_lazy("service list", "Ended requests"),
    },
    descriptions={
        ListKind.PROBLEMS: _("Requests not yet done, the newest first."),
        ListKind.RESPONSIBILITY: _(
            "Requests someone still holds (until delivered), the nearest promise first."
        ),
        ListKind.CLOSEOUT: _("Requests done, delivered, returned or withdrawn, the latest first."),
    },
    count_text=lambda n: (
        ngettext("%(counter)s request", "%(counter)s requests", n) % {"counter": n}
    ),
    row_attribute="data-request-id",
    figures=figures_for,
    figures_template="servicedesk/_list_figures.html",
    before_export=before_export,
    stylesheet="servicedesk/service.css",
)
