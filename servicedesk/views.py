"""The desk's pages (代办服务), for staff: the desk with its list, a new request, one request
with its actions, its receipt.

- ``/services/``: the requests the user may see (``selectors.requests_visible_to``), newest
  first, filtered by state, item, village and overdue (``lists.desk_queryset``); above them
  the completion figures of the user's area over the last 30 days (``servicedesk.figures``)
  and the "new request" button; ``?format=csv`` / ``xlsx`` exports what the filters show,
  every page, in the lists' columns (``lists.DESK``, ``cases.list_views.export_response``).
- ``/services/new/`` (``?household=KEY&visit=ID&channel=visit`` from a visit or the household
  file): the new request (新办件): the household (its number, or a search by address), the
  item grouped by the six kinds with what to bring and the date it would be promised by, the
  applicant, the matter, where it was taken. ``services.service_request_create`` writes it;
  the page then opens the request, whose receipt is printed from there.
- ``/services/<id>/``: the request (item, household, applicant masked per role, matter), its
  promise with the traffic light, the hand-offs with each office's promise, the history,
  and one form per action the user may take now. The case page's generic parts are the
  engine's (``cases.pages``, ``cases/_history.html``, ``cases/_actions.html``,
  ``cases/_deadlines.html``); only the service's own fields (the office of a hand-off, how it
  was delivered) are drawn here (``servicedesk/_fields.html``).
- ``/services/<id>/receipt.pdf``: the receipt (``servicedesk.receipt``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_GET

from accounts.selectors import can_see_personal_data
from cases import list_views, pages
from gridmap import personal_data
from gridmap.codes import Level
from presence.care import household_file_url, household_key
from presence.household_file import household_for

from . import figures, forms, lists, selectors, services
from .kind import HOW
from .models import ApprovingLevel, Channel, ServiceRequest, ServiceRequestEvent
from .receipt import receipt_pdf

PAGE_SIZE = 30
FIGURES_DAYS = lists.FIGURES_DAYS
EXPORTS = ("csv", "xlsx")
MSG_NO_REQUEST = gettext_noop("There is no service request %(id)s that you can see.")
MSG_RECEIVED = gettext_noop(
    "Received. The promised date is %(date)s: print the receipt for the resident."
)
MSG_THANKS_ON_BEHALF = gettext_noop("The resident's rating is recorded.")

# The service's actions as the page offers them (cases.pages.ActionSpec).
ACTIONS: dict[str, pages.ActionSpec] = {
    "start": {
        "button": _("Start handling"),
        "help": _("Record that you have started on the matter."),
        "note": _("Note"),
        "main": True,
    },
    "hand_off": {
        "button": _("Hand off to an office"),
        "help": _(
            "The matter goes to a town or county office for its part (转办). The office's own "
            "promised date is recorded; the date promised to the resident does not move."
        ),
        "note": _("Note"),
        "fields": ["office"],
        "main": True,
    },
    "step_back": {
        "button": _("The office's part came back"),
        "help": _("Record that the office has done its part."),
        "note": _("Note"),
        "fields": ["step"],
        "main": True,
    },
    "resolve": {
        "button": _("Done"),
        "help": _("The matter is done (办结): write down the result."),
        "note": _("The result"),
        "main": True,
    },
    "close_out": {
        "button": _("Deliver"),
        "help": _("The resident picked up the result, or it was delivered to them."),
        "note": _("Note"),
        "fields": ["how"],
        "main": True,
    },
    "callback": {
        "button": _("Record the resident's rating"),
        "help": _("On the resident's behalf, when they rate it by phone or at the desk."),
        "note": _("Comment"),
        "fields": ["rating"],
        "main": True,
    },
    "request_extension": {
        "button": _("Request an extension"),
        "help": _(
            "Ask for more time before the promised date (延期): a new date or a number of "
            "working days. The resident is told the new date once it is granted."
        ),
        "note": _("Reason"),
        "fields": ["until"],
    },
    "grant_extension": {
        "button": _("Grant the extension"),
        "help": _("The promised date moves to the one asked for."),
        "note": _("Note"),
    },
    "refuse_extension": {
        "button": _("Refuse the extension"),
        "help": _("The promised date stays as it is."),
        "note": _("Reason"),
    },
    "escalate": {
        "button": _("Escalate to the town"),
        "help": _("Hand the request to the town (上报); the promised date does not move."),
        "note": _("Reason"),
    },
    "decline": {
        "button": _("Return: not eligible"),
        "help": _("The resident does not meet the conditions (退回). Give the reason."),
        "note": _("Why it is not eligible"),
        "danger": True,
    },
    "cancel": {
        "button": _("Withdraw"),
        "help": _("The resident withdrew the request (撤回)."),
        "note": _("Reason"),
        "danger": True,
    },
}

HISTORY_LABELS = {
    "report": _("Received"),
    "start": _("Handling started"),
    "hand_off": _("Handed off"),
    "step_back": _("Office's part back"),
    "resolve": _("Done"),
    "close_out": _("Delivered"),
    "callback": _("Rated"),
    "request_extension": _("Extension requested"),
    "grant_extension": _("Extension granted"),
    "refuse_extension": _("Extension refused"),
    "escalate": _("Escalated"),
    "decline": _("Returned (not eligible)"),
    "cancel": _("Withdrawn"),
    "reassign_station": _("Station changed by a catchment plan"),
}
# The engine's facts but the acknowledge and on-site deadlines (a request is received at
# once, nobody goes on site), then the service's own.
EVENT_DATA_LABELS = {
    **{
        key: label
        for key, label in pages.EVENT_DATA_LABELS.items()
        if key not in ("acknowledge_due_at", "onsite_due_at")
    },
    "item": _("item"),
    "promised_on": _("promised by"),
    "office": _("office"),
    "step": _("hand-off no."),
    "how": _("how"),
    "channel": pgettext_lazy("service channel", "taken"),
    "short_code": _("lookup code"),
}


def _fact(key: str, value: Any) -> Any:
    if key == "how":
        return HOW.get(value, value)
    if key == "channel":
        return Channel(value).label if value in Channel.values else value
    if key == "level" and value in ApprovingLevel.values:
        return ApprovingLevel(value).label
    return pages.fact_text(key, value)


def _request(user: Any, pk: int) -> ServiceRequest:
    found = (
        selectors.requests_visible_to(user)
        .select_related("item", "village", "town", "grid", "household", "first_receiver", "visit")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404(gettext(MSG_NO_REQUEST) % {"id": pk})
    return found


def _shown(request: ServiceRequest, field: str, kind: str, *, visible: bool) -> str:
    return selectors.applicant_shown(request, field, kind, visible=visible)


def _applicant(request: ServiceRequest, *, visible: bool) -> dict[str, str]:
    """The applicant's name and phone as the viewer may see them."""
    phone = _shown(request, "applicant_phone", personal_data.PHONE, visible=visible)
    return {
        "name": _shown(request, "applicant_name", personal_data.HEAD_NAME, visible=visible),
        "phone": phone,
        "tel": "" if "*" in phone else phone,
    }


def status_url(http: HttpRequest, request: ServiceRequest) -> str:
    """The absolute URL of the request's public status page (the receipt's QR code)."""
    return http.build_absolute_uri(
        reverse("service-status", kwargs={"short_code": request.short_code})
    )


# --- the request page -------------------------------------------------------------------------
def request_context(http: HttpRequest, request: ServiceRequest, **shown: Any) -> dict[str, Any]:
    """The page's context; ``shown``: after a refusal, ``posted``, ``error``, ``field_errors``
    (``cases.pages.page_context``)."""
    events = ServiceRequestEvent.objects.filter(request=request).order_by("seq")
    page = pages.page_context(
        request,
        allowed=selectors.allowed_actions(http.user, request),
        specs=ACTIONS,
        history=pages.history_rows(
            events, labels=HISTORY_LABELS, facts=EVENT_DATA_LABELS, show=_fact
        ),
        **shown,
    )
    steps = list(request.steps.order_by("number"))
    today = timezone.localdate()
    household = request.household
    return {
        **page,
        "request_": request,
        "promised_on": selectors.promised_date(request),
        "steps": [{"step": s, "late": s.back_at is None and s.promised_on < today} for s in steps],
        "open_steps": [s for s in steps if s.back_at is None],
        "applicant": _applicant(request, visible=can_see_personal_data(http.user)),
        "household": (
            {
                "address": household.address,
                "url": household_file_url(household),
                "key": household_key(household),
            }
            if household is not None
            else None
        ),  # fmt: skip
        "materials": [m.strip() for m in request.item.materials.splitlines() if m.strip()],
        "status_url": status_url(http, request),
        "fields_template": "servicedesk/_fields.html",
        "step_levels": [
            (Level.TOWN, ApprovingLevel.TOWN.label),
            (Level.COUNTY, ApprovingLevel.COUNTY.label),
        ],  # fmt: skip
        "hows": list(HOW.items()),
        "today": today,
        "resolve_label": _("Promised by"),
        "resolved_label": pgettext_lazy("service request", "Done"),
        "closed_label": _("Picked up or delivered"),
        "no_acknowledge": True,
    }


def _action_data(action: str, post: Any) -> dict[str, Any]:
    """The ``data`` of an action from its form fields: the service's, then the engine's."""
    if action == "hand_off":
        data = {
            "office": (post.get("office") or "").strip(),
            "level": (post.get("level") or "").strip(),
        }
        for key in ("promised_on", "working_days"):
            value = (post.get(key) or "").strip()
            if value:
                data[key] = value
        return data
    if action == "step_back":
        return {"step": (post.get("step") or "").strip()}
    if action == "close_out":
        return {"how": (post.get("how") or "").strip()}
    return pages.generic_data(action, post)


POSTED_FIELDS = ("rating", "until", "working_days", "office", "level", "promised_on", "step", "how")


class RequestView(pages.CasePageView):
    """``/services/<id>/``: the request, its promise, hand-offs, history and actions."""

    template_name = "servicedesk/request.html"
    specs = ACTIONS
    fields = POSTED_FIELDS
    url_name = "service-request"

    def find(self, http: HttpRequest, pk: int) -> ServiceRequest:
        return _request(http.user, pk)

    def context(self, http: HttpRequest, case: ServiceRequest, **kwargs: Any) -> dict[str, Any]:
        return request_context(http, case, **kwargs)

    def data_of(self, action: str, post: Any) -> dict[str, Any]:
        return _action_data(action, post)

    def act(self, http: HttpRequest, case: ServiceRequest, **kwargs: Any) -> ServiceRequest:
        return services.service_request_act(actor=http.user, request_id=case.pk, **kwargs)

    def done(self, http: HttpRequest, action: str, before: Any, after: Any) -> str:
        if action == "callback":
            return gettext(MSG_THANKS_ON_BEHALF)
        return gettext(pages.MSG_DONE) % {"action": pages.history_label(HISTORY_LABELS, action)}


@login_required
@require_GET
def receipt_view(http: HttpRequest, pk: int) -> HttpResponse:
    """``/services/<id>/receipt.pdf``: the receipt to print for the resident."""
    request = _request(http.user, pk)
    pdf = receipt_pdf(request, status_url=status_url(http, request))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{request.short_code}.pdf"'
    return response


# --- the new request --------------------------------------------------------------------------
class NewRequestView(LoginRequiredMixin, View):
    """``/services/new/``: take a request (新办件)."""

    template_name = "servicedesk/new.html"

    def get(self, http: HttpRequest) -> HttpResponse:
        initial: dict[str, Any] = {"client_uuid": uuid.uuid4(), "channel": Channel.DESK}
        for key in ("household", "visit", "channel"):
            value = (http.GET.get(key) or "").strip()
            if value:
                initial[key] = value
        if initial.get("visit") and "channel" not in http.GET:
            initial["channel"] = Channel.VISIT
        form = forms.NewRequestForm(initial=initial, user=http.user)
        chosen = None
        if initial.get("household"):
            found = household_for(http.user, initial["household"])
            chosen = found.address if found is not None else None
        return self._page(http, form, chosen=chosen)

    def post(self, http: HttpRequest) -> HttpResponse:
        form = forms.NewRequestForm(http.POST, user=http.user)
        if not form.is_valid():
            return self._page(http, form, status=400)
        data = form.cleaned_data
        try:
            request = services.service_request_create(
                actor=http.user,
                item=data["item"],
                village=data.get("village"),
                household=form.household_obj,
                applicant_name=data["applicant_name"],
                applicant_phone=data.get("applicant_phone") or "",
                matter=data.get("matter") or "",
                channel=data["channel"],
                visit=form.visit_obj,
                client_uuid=data.get("client_uuid"),
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            return self._page(http, form, status=403)
        except ValidationError as exc:
            _, by_field = pages.validation_messages(exc)
            for name, msgs in (by_field or {"__all__": exc.messages}).items():
                for message in msgs:
                    form.add_error(name if name in form.fields else None, message)
            return self._page(http, form, status=400)
        promised = selectors.promised_date(request)
        messages.success(http, gettext(MSG_RECEIVED) % {"date": f"{promised:%Y-%m-%d}"})
        return HttpResponseRedirect(
            reverse("service-request", kwargs={"pk": request.pk}) + "?new=1", status=303
        )

    def _page(
        self, http: HttpRequest, form: forms.NewRequestForm, *, chosen: str | None = None,
        status: int = 200,
    ) -> HttpResponse:  # fmt: skip
        groups = forms.item_groups(form.items, timezone.now())
        items_json = {
            str(row["item"].pk): {
                "materials": row["materials"],
                "promise": f"{row['promise']:%Y-%m-%d}" if row["promise"] else "",
                "days": row["item"].promised_days,
                "level": str(row["level"]),
                "fees": row["item"].fees,
            }
            for group in groups
            for row in group["items"]
        }
        selected = str(form["item"].value() or "")
        context = {
            "form": form,
            "groups": groups,
            "items_json": items_json,
            "selected_item": selected,
            "chosen_household": chosen,
            "config": {"searchUrl": reverse("household-search-api")},
            "strings": {
                "searching": gettext("Searching…"),
                "noMatch": gettext("No household of your area matches."),
                "promise": gettext("Promised by %(date)s (%(days)s working days)"),
                "nothing": gettext("Nothing more."),
            },
        }
        return render(http, self.template_name, context, status=status)


# --- the desk ---------------------------------------------------------------------------------
def desk_spec(data: dict[str, Any]) -> lists.ListSpec:
    """The desk's filters (``forms.ListFilterForm``'s cleaned data) as a list spec."""
    item = data.get("item")
    return lists.ListSpec(
        status=data.get("status") or None,
        item=item.pk if item is not None else None,
        village=data.get("village") or None,
        overdue=bool(data.get("overdue")),
    )


class DeskView(LoginRequiredMixin, View):
    """``/services/``: the desk: the list of requests, its filters and the figures."""

    template_name = "servicedesk/desk.html"

    def get(self, http: HttpRequest) -> HttpResponse:
        form = forms.ListFilterForm(http.GET or None)
        fmt = http.GET.get("format") or ""
        valid = form.is_valid()
        if fmt in EXPORTS and http.GET and not valid:
            return list_views.bad_request(next(iter(form.errors.values()))[0])
        spec = form.cleaned_data if valid else {}
        qs = lists.desk_queryset(user=http.user, spec=desk_spec(spec))
        if fmt in EXPORTS:
            return self._export(http, qs, fmt, spec.get("village") or "")
        paginator = Paginator(qs, PAGE_SIZE)
        page = paginator.get_page(http.GET.get("page"))
        now = timezone.now()
        visible = can_see_personal_data(http.user)
        rows = []
        for r in page.object_list:
            light = pages.deadlines_context(r, now)
            rows.append(
                {
                    "request": r,
                    "applicant": _shown(
                        r, "applicant_name", personal_data.HEAD_NAME, visible=visible
                    ),
                    "promised_on": selectors.local_date(r.resolve_due_at),
                    "light": light["light"],
                    "light_label": light["light_label"],
                    "url": reverse("service-request", kwargs={"pk": r.pk}),
                }
            )
        params = {k: v for k, v in http.GET.items() if k not in ("page", "format")}
        today = timezone.localdate()
        start = today - dt.timedelta(days=FIGURES_DAYS - 1)  # the last 30 days, today included
        unit = lists.figures_unit(http.user, village=spec.get("village") or "")
        shown = (
            figures.service_figures(
                level=unit[0], code=unit[1], start=start, end=today + dt.timedelta(days=1),
                user=http.user,
            )
            if unit is not None
            else None
        )  # fmt: skip
        context = {
            "form": form,
            "rows": rows,
            "page": page,
            "total": paginator.count,
            "figures": shown,
            "figures_days": FIGURES_DAYS,
            "villages": forms.villages_for(http.user),
            "items": forms.items_for(http.user),
            "values": {k: http.GET.get(k, "") for k in ("status", "item", "village", "overdue")},
            "prev_url": "?" + urlencode({**params, "page": page.previous_page_number()})
            if page.has_previous()
            else "",
            "next_url": "?" + urlencode({**params, "page": page.next_page_number()})
            if page.has_next()
            else "",
            "csv_url": list_views.query(params, format="csv"),
            "xlsx_url": list_views.query(params, format="xlsx"),
        }
        return render(http, self.template_name, context)

    def _export(
        self, http: HttpRequest, qs: QuerySet[ServiceRequest], fmt: str, village: str
    ) -> HttpResponse:
        """What the filters show, every page, in the lists' columns (``lists.DESK``), the
        applicant masked as on screen."""
        lists.before_export(http.user, qs)
        name = "-".join(["services", village or "all", timezone.localdate().strftime("%Y%m%d")])
        return list_views.export_response(
            qs,
            lists.with_viewer(lists.DESK, http.user),
            fmt=fmt,
            now=timezone.now(),
            title=gettext("Service requests"),
            name=f"{name}.{fmt}",
        )
