"""Pages of the closed loop: the case page and the three lists.

``/cases/<id>/`` shows a case (the routing result, its state, deadlines and owner, its
history) with a form for each action the user may take *now*, as
``incidents.workflow.allowed_actions`` says; a form posts back to the page, which calls
``incidents.workflow.case_act``, the one place where the rules live (the API and the admin
call it too). Each form carries the version of the case it was shown with: when someone
else acted in between, ``case_act`` refuses with ``CaseConflict`` and the page answers 409
with the current state, the conflict explained, and what the user typed kept in the form.

``/lists/`` shows the problem, responsibility and close-out lists (``incidents.lists``) and
exports them as CSV or XLSX.

Views parse and render; the workflow writes and ``incidents.lists`` / ``incidents.selectors``
read. Photos and attachments are served through the case's jurisdiction check, never from
a public media URL.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.selectors import can_see_personal_data
from cases import pages
from cases.list_views import CaseListsView
from cases.pages import MSG_CONFLICT as MSG_CONFLICT  # the tests read it here
from cases.pages import MSG_DONE
from gridmap import uploads
from grids.models import Role
from households.routing import shown_phone

from . import publication, selectors
from .deliveries import deliveries_shown
from .models import (
    CaseAttachment,
    CaseEvent,
    Category,
    Incident,
    IncidentPhoto,
    Level,
    RecipientKind,
    Responder,
    Severity,
)
from .routing import render_explanation
from .workflow import (
    MAX_ATTACHMENTS,
    UNSATISFIED_AT_MOST,
    allowed_actions,
    case_act,
)

MSG_REOPENED_BY_CALLBACK = gettext_noop(
    "Thank you. You were not satisfied, so the case was reopened and goes back to the people "
    "handling it."
)
MSG_THANKS = gettext_noop("Thank you for your rating.")
MSG_NO_CASE = gettext_noop("There is no case %(id)s that you can see.")


# --- the actions as the page offers them ------------------------------------------------------
# For each action: the button, what the note is called and whether it is needed, the extra
# fields it takes, and whether it belongs with the main next steps or the side paths.
# The workflow decides who may act and what is valid; the note is marked required in the
# browser for the actions whose reason the workflow requires (``REASON_REQUIRED``).
ACTIONS: dict[str, dict[str, Any]] = {
    "assess": {
        "button": _("Assess: change the grading"),
        "help": _(
            "Before you acknowledge it (研判): if the severity or the category is wrong, "
            "correct it. The case is routed again and gets the time limits of the new grading."
        ),
        "note": _("Why (kept in the history)"),
        "fields": ["severity", "category"],
    },
    "acknowledge": {
        "button": _("Acknowledge"),
        "help": _("Confirm that you have received this case and take it on (签收)."),
        "note": _("Note"),
        "main": True,
    },
    "start": {
        "button": _("Start work"),
        "help": _("Record that work on the problem has begun."),
        "note": _("Note"),
        "main": True,
    },
    "resolve": {
        "button": _("Report as resolved"),
        "help": _("Report back to the station what was done; the station verifies it."),
        "note": _("What was done (shown on the village notice board, without names)"),
        "attachments": True,
        "main": True,
    },
    "verify": {
        "button": _("Verified"),
        "help": _("Confirm on site or with the reporter that the problem is solved (核查)."),
        "note": _("How it was checked"),
        "attachments": True,
        "main": True,
    },
    "close_out": {
        "button": _("Close out"),
        "help": _("Sign off the solved problem (销号). The case is then closed."),
        "note": _("Note"),
        "main": True,
    },
    "callback": {
        "button": _("Send my rating"),
        "help": _("How satisfied are you with how your report was handled? 1 or 2 reopens it."),
        "note": _("Comment"),
        "fields": ["rating"],
        "main": True,
    },
    "request_extension": {
        "button": _("Request an extension"),
        "help": _(
            "Ask for more time before the deadline (延期): a new date (the end of that working "
            "day) or a number of working days."
        ),
        "note": _("Reason"),
        "fields": ["until"],
    },
    "grant_extension": {
        "button": _("Grant the extension"),
        "help": _("The resolve deadline moves to the one asked for."),
        "note": _("Note"),
    },
    "refuse_extension": {
        "button": _("Refuse the extension"),
        "help": _("The deadline stays as it is."),
        "note": _("Reason"),
    },
    "return_case": {
        "button": _("Return: not ours"),
        "help": _("Send the case back to the level above for re-dispatch (退单)."),
        "note": _("Why it is not ours"),
    },
    "redispatch": {
        "button": _("Re-dispatch"),
        "help": _("Give the case to another place to handle."),
        "note": _("Note"),
        "fields": ["level", "code"],
    },
    "escalate": {
        "button": _("Escalate one level"),
        "help": _("Hand the case to the level above (上报)."),
        "note": _("Reason"),
    },
    "reopen": {
        "button": _("Reopen"),
        "help": _("The problem is not solved: the case goes back to work (返工)."),
        "note": _("Reason"),
    },
    "cancel": {
        "button": _("Cancel the case"),
        "help": _("A duplicate or not a real problem. The case is closed without handling."),
        "note": _("Reason"),
        "danger": True,
    },
}

# What each action is called in the history (the automatic ones come from the clock).
HISTORY_LABELS = {
    "report": _("Reported"),
    "assess": _("Assessed (re-graded)"),
    "acknowledge": _("Acknowledged"),
    "start": _("Work started"),
    "resolve": _("Reported as resolved"),
    "verify": _("Verified"),
    "close_out": _("Closed out"),
    "callback": _("Callback"),
    "request_extension": _("Extension requested"),
    "grant_extension": _("Extension granted"),
    "refuse_extension": _("Extension refused"),
    "return_case": _("Returned"),
    "redispatch": _("Re-dispatched"),
    "escalate": _("Escalated"),
    "reopen": _("Reopened"),
    "cancel": _("Cancelled"),
    "reassign_station": _("Station changed by a catchment plan"),
    "publish_notice": _("Public text approved"),
}

# The facts of an event worth showing ("data" of CaseEvent, see incidents.workflow): the
# engine's, then the incident's own, with their labels.
EVENT_DATA_LABELS = {
    **pages.EVENT_DATA_LABELS,
    "plan_name": _("catchment plan"),
    "severity": _("severity"),
    "category": _("category"),
    "repeat_minutes": _("escalate again every (minutes)"),
    "on_duty_taken_by": _("nobody on duty: told instead"),
}


def history_label(action: str) -> str:
    return pages.history_label(HISTORY_LABELS, action)


# --- reads ------------------------------------------------------------------------------------
def _case(user: Any, pk: int) -> Incident:
    incident = (
        selectors.incident_details(selectors.incidents_visible_to(user)).filter(pk=pk).first()
    )
    if incident is None:
        raise Http404(gettext(MSG_NO_CASE) % {"id": pk})
    return incident


# An assessment's facts: [old, new] severity and category (codes), shown as labels.
REGRADED_FACTS = {"severity", "category"}


def _grading_label(key: str, value: Any) -> str:
    if key == "severity":
        return str(capfirst(Severity(value).label)) if value in Severity.values else str(value)
    category = Category.objects.filter(code=value).first()
    return category.name if category is not None else str(value)


def _fact(key: str, value: Any) -> Any:
    if key in REGRADED_FACTS and isinstance(value, list) and len(value) == 2:
        return " → ".join(_grading_label(key, v) for v in value)
    if key == "on_duty_taken_by":
        return capfirst(Role(value).label) if value in Role.values else value
    return pages.fact_text(key, value)


def _history(incident: Incident) -> list[dict[str, Any]]:
    events = (
        CaseEvent.objects.filter(incident=incident)
        .order_by("seq")
        .prefetch_related(Prefetch("attachments", queryset=CaseAttachment.objects.order_by("id")))
    )

    def files(event: CaseEvent) -> list[dict[str, Any]]:
        return [
            {
                "url": reverse("case-attachment", kwargs={"pk": incident.pk, "attachment": a.pk}),
                "name": _shown_name(a.file.name),
                "size": a.size,
            }
            for a in event.attachments.all()
        ]

    return pages.history_rows(
        events, labels=HISTORY_LABELS, facts=EVENT_DATA_LABELS, show=_fact, attachments=files
    )


def _photos(incident: Incident) -> list[str]:
    return [
        reverse("case-photo", kwargs={"pk": incident.pk, "photo": photo.pk})
        for report in incident.reports.all()
        for photo in report.photos.all()
    ]


def _recipients(incident: Incident, *, personal: bool) -> list[dict[str, Any]]:
    """Who got the case; a central household's phone as ``personal`` allows."""
    roles = {c.value: capfirst(c.label) for c in Role}
    roles.update({c.value: capfirst(c.label) for c in Responder})
    order = {RecipientKind.ROUTED: 0, RecipientKind.COPIED: 1, RecipientKind.WATCHING: 2}
    people = sorted(incident.recipients.all(), key=lambda r: (order.get(r.kind, 9), r.pk))
    shown = {
        r.pk: shown_phone(
            r.phone,
            r.responder,
            visible=personal,
            record_type="worker",
            record_id=r.worker_id,
            code=incident.place_code,
        )
        for r in people
    }
    return [
        {
            "name": r.name,
            "phone": shown[r.pk],
            # No link for a masked number.
            "tel": ""
            if "*" in shown[r.pk]
            else "".join(ch for ch in r.phone if ch.isdigit() or ch == "+"),
            "role": roles.get(r.role, r.role),
            "kind": r.kind,
            "kind_label": capfirst(RecipientKind(r.kind).label),
            "stand_in": r.role != r.responder,
            "responder": roles.get(r.responder, r.responder),
        }
        for r in people
    ]


# --- the case page ---------------------------------------------------------------------------
def case_context(request: HttpRequest, incident: Incident, **shown: Any) -> dict[str, Any]:
    """The page's context; ``shown``: after a refusal, ``posted``, ``error``, ``field_errors``
    (``cases.pages.page_context``)."""
    people = selectors.sees_people_of(request.user, incident)
    allowed = allowed_actions(user=request.user, incident=incident)
    page = pages.page_context(
        incident,
        allowed=allowed,
        specs=ACTIONS,
        history=_history(incident),
        **shown,
    )
    return {
        **page,
        "incident": incident,
        "explanation": render_explanation(
            incident.explanation
            if people
            else selectors.explanation_without_people(incident.explanation)
        ),
        "recipients": (
            _recipients(incident, personal=can_see_personal_data(request.user)) if people else []
        ),
        "photos": _photos(incident),
        "deliveries": deliveries_shown(
            incident, people=people, personal=can_see_personal_data(request.user)
        ),
        "levels": [(v, capfirst(label)) for v, label in Level.choices],
        "severities": [(v, capfirst(label)) for v, label in Severity.choices],
        "categories": (
            list(Category.objects.filter(is_active=True)) if "assess" in page["allowed"] else []
        ),
        "unsatisfied_at": UNSATISFIED_AT_MOST,
        "max_attachments": MAX_ATTACHMENTS,
        "supervisions": list(incident.supervisions.order_by("number")),
        "may_publish": publication.may_approve_public_text(request.user),
        "public_text_max": publication.MAX_PUBLIC_TEXT,
        "posted_public_text": (shown.get("posted") or {}).get("public_text"),
    }


def _action_data(action: str, post: Any) -> dict[str, Any]:
    """The ``data`` of an action from its form fields: the engine's, then the incident's."""
    if action == "redispatch":
        return {
            "level": (post.get("level") or "").strip(),
            "code": (post.get("code") or "").strip(),
        }
    if action == "assess":
        return {
            "severity": (post.get("severity") or "").strip(),
            "category": (post.get("category") or "").strip(),
        }
    return pages.generic_data(action, post)


class CaseView(pages.CasePageView):
    """``/cases/<id>/``: the case, its history and the actions the user may take."""

    template_name = "incidents/case.html"
    specs = ACTIONS
    fields = ("rating", "until", "working_days", "level", "code")
    url_name = "case"

    def find(self, request: HttpRequest, pk: int) -> Incident:
        return _case(request.user, pk)

    def context(self, request: HttpRequest, case: Incident, **kwargs: Any) -> dict[str, Any]:
        return case_context(request, case, **kwargs)

    def data_of(self, action: str, post: Any) -> dict[str, Any]:
        return _action_data(action, post)

    def act(self, request: HttpRequest, case: Incident, **kwargs: Any) -> Incident:
        files = request.FILES.getlist("attachments")
        return case_act(actor=request.user, incident_id=case.pk, attachments=files, **kwargs)

    def done(self, request: HttpRequest, action: str, before: Incident, after: Incident) -> str:
        if action == "callback":
            reopened = after.rework_count > before.rework_count
            return gettext(MSG_REOPENED_BY_CALLBACK if reopened else MSG_THANKS)
        return gettext(MSG_DONE) % {"action": history_label(action)}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if (request.POST.get("action") or "").strip() != publication.PUBLISH_ACTION:
            return super().post(request, pk)
        incident = _case(request.user, pk)
        posted = {**pages.posted_fields(request.POST, self.fields)}
        posted["public_text"] = request.POST.get("public_text", "")

        def again(
            status: int, error: str, fields: dict[str, list[str]] | None = None
        ) -> HttpResponse:
            return self.again(request, pk, posted, status=status, error=error, fields=fields)

        return self._publish(request, incident, posted["public_text"], again)

    def _publish(
        self, request: HttpRequest, incident: Incident, text: str, again: Any
    ) -> HttpResponse:
        """The publication review form: approve (or edit, or withdraw) the public text."""
        try:
            publication.approve_public_text(actor=request.user, incident_id=incident.pk, text=text)
        except publication.PublicationNotAllowed as exc:
            return again(403, exc.message)
        except ValidationError as exc:
            first, fields = pages.validation_messages(exc)
            return again(400, first, fields)
        messages.success(request, gettext(MSG_DONE) % {"action": history_label("publish_notice")})
        return self.redirect(incident.pk)


def _of_visible_case(request: HttpRequest, model: Any, pk: int, *, incident: str, case: int) -> Any:
    """The ``model`` row ``pk`` of case ``case`` (reached by the path ``incident``), if the user
    may open the case; else 404."""
    visible = selectors.incidents_visible_to(request.user)
    found = model.objects.filter(
        pk=pk, **{f"{incident}__in": visible, f"{incident}_id": case}
    ).first()
    if found is None:
        raise Http404
    return found


@login_required
@require_GET
def case_photo(request: HttpRequest, pk: int, photo: int) -> FileResponse:
    """A photo of a case, for whoever may open the case."""
    found = _of_visible_case(request, IncidentPhoto, photo, incident="report__incident", case=pk)
    # Inline (the page shows it), but as the detected type only, unsniffed and sandboxed.
    return uploads.file_response(
        found.image.open("rb"),
        content_type=found.content_type,
        filename=_shown_name(found.image.name),
        inline_images=True,
    )


@login_required
@require_GET
def case_attachment(request: HttpRequest, pk: int, attachment: int) -> FileResponse:
    """An attachment of the case history, for whoever may open the case."""
    found = _of_visible_case(
        request, CaseAttachment, attachment, incident="event__incident", case=pk
    )
    # Always a download: an attachment never opens as a page of this site.
    return uploads.file_response(
        found.file.open("rb"),
        content_type=found.content_type,
        filename=_shown_name(found.file.name),
    )


def _shown_name(stored: str) -> str:
    """The name a stored upload is downloaded under: the part after the generated prefix."""
    return stored.rsplit("/", 1)[-1].split("-", 1)[-1]


# --- the lists -------------------------------------------------------------------------------
class ListsView(CaseListsView):
    """``/lists/``: 问题清单 / 责任清单 / 销号清单 of incidents (and of every kind registered
    with ``cases.list_views``), filtered, on screen or as CSV / XLSX."""
