"""The parts of a case page every kind of case shares: the history as rows, one form per
allowed action (with the case's version, so that a conflict is caught), reading an action's
generic fields from a form, acting from a posted form, and the deadlines' lights.

A kind's page (``incidents.case_views``, ``servicedesk.views``) declares its own actions'
buttons and help (``ActionSpec`` dicts), its history labels and the facts of an event worth
showing; it renders ``cases/_history.html``, ``cases/_action.html`` (one per form, with the
kind's own fields through ``fields_template``) and ``cases/_deadlines.html``, and posts through
``act_from_form``, which turns the engine's refusals into the page's status codes:

- an unknown action, an unreadable version or field: 400 with the message;
- ``CaseConflict`` (someone acted in between): 409, the page shows the case as it is now and
  keeps what the user typed;
- ``ActionNotAllowed``: 403 with who may; ``ValidationError``: 400, keyed by field.

The page script ``cases/case.js`` opens one form at a time, asks before a destructive action
and disables the button once pressed.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views import View

from gridmap.codes import Level
from grids.models import City, District, Grid, Station, Town, Village

from . import deadlines
from .models import OPEN_STATUSES, Case
from .workflow import REASON_REQUIRED, ActionNotAllowed, CaseConflict

MSG_CONFLICT = gettext_noop(
    "Someone else acted on this case while you had it open. The page now shows the case as it "
    "is; check it, then try again."
)
MSG_UNKNOWN_ACTION = gettext_noop("Unknown action %(action)s.")
MSG_BAD_VERSION = gettext_noop("The form is out of date: reload the page and try again.")
MSG_BAD_RATING = gettext_noop("Choose a rating from 1 to 5.")
MSG_BAD_DATE = gettext_noop("Give the new deadline as a date.")
MSG_DONE = gettext_noop("Done: %(action)s.")

LIGHTS = {
    "green": pgettext_lazy("traffic light", "On track"),
    "yellow": pgettext_lazy("traffic light", "Due soon"),
    "red": pgettext_lazy("traffic light", "Overdue"),
}

# The engine's generic facts of an event (``data`` of the history), with their labels; the
# kinds add their own. ISO date-times are shown in local time.
EVENT_DATA_LABELS = {
    "until": _("new deadline asked for"),
    "working_days": _("working days"),
    "rating": _("rating"),
    "level": _("level"),
    "code": _("place"),
    "to_code": _("to"),
    "acknowledge_due_at": _("acknowledge by"),
    "resolve_due_at": _("resolve by"),
    "onsite_due_at": _("on site by"),
    "from_station": _("from station"),
    "to_station": _("to station"),
}
DATETIME_FACTS = {"until", "acknowledge_due_at", "resolve_due_at", "onsite_due_at"}

LEVEL_MODELS: dict[str, Any] = {
    Level.GRID: Grid,
    Level.VILLAGE: Village,
    Level.TOWN: Town,
    Level.COUNTY: District,
    Level.CITY: City,
}

# An action as a page offers it: ``button``, ``help``, ``note`` (what the note is called),
# ``fields`` (extra inputs: ``rating`` and ``until`` are drawn by ``cases/_action.html``, the
# others by the kind's ``fields_template``), ``main`` (a next step rather than a side path),
# ``danger`` (asks first), ``attachments``.
ActionSpec = dict[str, Any]


def action_value(action: Any) -> str:
    """An ``Action`` (an enum) or its string, as a string."""
    return str(getattr(action, "value", action))


def history_label(labels: Mapping[str, Any], action: str) -> str:
    """What ``action`` is called in a history, from a kind's ``labels``."""
    label = labels.get(action)
    return capfirst(str(label)) if label else action.replace("_", " ")


def local_text(value: Any) -> str:
    """An ISO date-time (as the history's data stores them) in local time, else as it is."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        return str(value)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M")


def place_name(level: str, code: str) -> str:
    """The current name of the place that owns a case ("" when there is none)."""
    if not code:
        return ""
    if "S" in code:
        station = Station.objects.filter(code=code).only("name").first()
        return station.name if station else ""
    model = LEVEL_MODELS.get(level)
    if model is None:
        return ""
    place = model.objects.current().filter(code=code).only("name").first()
    return place.name if place else ""


# --- the history ------------------------------------------------------------------------------
def fact_text(key: str, value: Any) -> Any:
    """The engine's way to show a generic fact: a level by its label, a date-time locally."""
    if key == "level":
        return capfirst(Level(value).label) if value in Level.values else value
    if key in DATETIME_FACTS:
        return local_text(value)
    return value


def history_rows(
    events: Iterable[Any],
    *,
    labels: Mapping[str, Any],
    facts: Mapping[str, Any],
    show: Callable[[str, Any], Any] = fact_text,
    attachments: Callable[[Any], list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """The rows ``cases/_history.html`` draws, from a case's events in order: each event's
    label (``labels``), whether its state or level changed, its facts (``facts``: key ->
    label, in that order; ``show`` turns a value into text) and its files (``attachments``)."""
    out = []
    for event in events:
        shown = []
        for key, label in facts.items():
            value = (event.data or {}).get(key)
            if value in (None, ""):
                continue
            shown.append({"key": key, "label": label, "value": show(key, value)})
        out.append(
            {
                "event": event,
                "label": history_label(labels, event.action),
                "status_changed": event.from_status != event.to_status,
                "level_changed": event.from_level != event.to_level,
                "facts": shown,
                "attachments": attachments(event) if attachments is not None else [],
            }
        )
    return out


def pending_extension(history: list[dict[str, Any]]) -> str | None:
    """The deadline of the extension request waiting for an answer, if any."""
    for item in reversed(history):
        if item["event"].action == "request_extension":
            until = (item["event"].data or {}).get("until")
            return local_text(until) if until else None
    return None


# --- the action forms -------------------------------------------------------------------------
def action_forms(
    allowed: Iterable[str],
    specs: Mapping[str, ActionSpec],
    posted: Mapping[str, Any] | None,
    errors: list[str],
    *,
    reason_required: Iterable[str] = REASON_REQUIRED,
) -> list[dict[str, Any]]:
    """One form per allowed action, in order; the posted one (after a refusal) keeps what
    was typed and shows the errors; else the first main step is open."""
    required = set(reason_required)
    forms = []
    for name in allowed:
        spec = specs.get(name)
        if spec is None:  # an action the page has no form for (a new one): named, no fields
            spec = {"button": name.replace("_", " "), "note": _("Note")}
        is_posted = bool(posted and posted.get("action") == name)
        forms.append(
            {
                "action": name,
                **spec,
                "note_required": name in required,
                "fields": spec.get("fields", []),
                "posted": posted if is_posted else {},
                "errors": errors if is_posted else [],
                "open": is_posted,
            }
        )
    mains = [f for f in forms if f.get("main")]
    if mains and not any(f["open"] for f in forms):
        mains[0]["open"] = True
    return forms


def forms_context(forms: list[dict[str, Any]]) -> dict[str, Any]:
    """The forms split as the page shows them: main next steps, then the other steps."""
    return {
        "main_forms": [f for f in forms if f.get("main")],
        "side_forms": [f for f in forms if not f.get("main")],
        "ratings": [5, 4, 3, 2, 1],
    }


def page_context(
    case: Case,
    *,
    allowed: Iterable[Any],
    specs: Mapping[str, ActionSpec],
    history: list[dict[str, Any]],
    posted: Mapping[str, Any] | None = None,
    error: str = "",
    field_errors: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """What every case page shows: the case, its history, the forms of the ``allowed``
    actions (the posted one keeping what was typed), the deadlines and their lights, the
    owner's name, the extension waiting for an answer, the refusal."""
    forms = action_forms(
        [action_value(a) for a in allowed], specs, posted, field_errors_of(field_errors)
    )
    return {
        "case": case,
        "history": history,
        "allowed": [f["action"] for f in forms],
        **forms_context(forms),
        **deadlines_context(case, timezone.now()),
        "owner_name": place_name(case.owner_level, case.owner_code),
        "pending_extension": pending_extension(history) if case.extension_pending else None,
        "error": error,
    }


def deadlines_context(case: Case, now: dt.datetime) -> dict[str, Any]:
    """The lights ``cases/_deadlines.html`` shows: the resolve (or acknowledge) deadline's
    while the case is open, and the on-site deadline's."""
    is_open = case.status in OPEN_STATUSES
    light = deadlines.traffic_light(case, now) if is_open else None
    onsite = deadlines.onsite_light(case, now)
    return {
        "is_open": is_open,
        "light": light,
        "light_label": LIGHTS.get(light or "", ""),
        "onsite_light": onsite,
        "onsite_light_label": LIGHTS.get(onsite or "", ""),
    }


# --- reading a posted form --------------------------------------------------------------------
class CaseInputError(Exception):
    """A field of an action form that cannot be read (before the workflow sees it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def rating_data(post: Mapping[str, Any]) -> dict[str, Any]:
    """A callback's rating (1 to 5) from its radio buttons."""
    try:
        rating = int(post.get("rating", ""))
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise CaseInputError("rating", gettext(MSG_BAD_RATING))
    return {"rating": rating}


def extension_data(post: Mapping[str, Any]) -> dict[str, Any]:
    """An extension request's new deadline: a date means the end of that day's working hours;
    or a number of working days. The workflow checks the rest (one of the two, after the
    current deadline, before it has passed)."""
    data: dict[str, Any] = {}
    until, days = (post.get("until") or "").strip(), (post.get("working_days") or "").strip()
    if until:
        try:
            day = dt.date.fromisoformat(until)
        except ValueError:
            raise CaseInputError("until", gettext(MSG_BAD_DATE)) from None
        end = deadlines.working_periods()[-1][1]
        data["until"] = dt.datetime.combine(day, end, tzinfo=deadlines.time_zone()).isoformat()
    if days:
        data["working_days"] = days
    return data


def generic_data(action: str, post: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` of the engine's actions that take fields (callback, extension)."""
    if action == "callback":
        return rating_data(post)
    if action == "request_extension":
        return extension_data(post)
    return {}


def posted_fields(post: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """What the user typed in a posted action form (the action, the note and ``fields``),
    to show it again after a refusal."""
    return {
        "action": (post.get("action") or "").strip(),
        "note": (post.get("note") or "").strip(),
        **{name: post.get(name, "") for name in fields},
    }


def validation_messages(exc: ValidationError) -> tuple[str, dict[str, list[str]]]:
    """The first message of a ``ValidationError`` and all of them by field."""
    if hasattr(exc, "error_dict"):
        fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        first = next((m for msgs in fields.values() for m in msgs), "")
        return first, fields
    return " ".join(str(m) for m in exc.messages), {}


@dataclass
class Outcome:
    """What acting from a form came to: the case as it now is (done), or the status code,
    the message and the messages by field to show the page again with."""

    case: Any = None
    status: int = 200
    error: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.case is not None


def act_from_form(
    post: Mapping[str, Any],
    *,
    specs: Mapping[str, ActionSpec],
    data_of: Callable[[str, Mapping[str, Any]], dict[str, Any]],
    act: Callable[..., Any],
) -> Outcome:
    """Take the action a case page's form posted: ``act(action=, version=, note=, data=)``
    calls the kind's ``case_act`` (the one place where the rules live); ``data_of`` reads the
    action's fields (raising ``CaseInputError``). Refusals become an ``Outcome`` to show."""
    action = (post.get("action") or "").strip()
    if action not in specs:
        return Outcome(status=400, error=gettext(MSG_UNKNOWN_ACTION) % {"action": action})
    try:
        version = int(post.get("version", ""))
    except (TypeError, ValueError):
        return Outcome(status=400, error=gettext(MSG_BAD_VERSION))
    try:
        data = data_of(action, post)
    except CaseInputError as exc:
        return Outcome(status=400, error=exc.message, fields={exc.field: [exc.message]})
    note = (post.get("note") or "").strip()
    try:
        after = act(action=action, version=version, note=note, data=data)
    except CaseConflict:
        return Outcome(status=409, error=gettext(MSG_CONFLICT))
    except ActionNotAllowed as exc:
        return Outcome(status=403, error=exc.message)
    except ValidationError as exc:
        first, fields = validation_messages(exc)
        return Outcome(status=400, error=first, fields=fields)
    return Outcome(case=after)


def field_errors_of(fields: Mapping[str, list[str]] | None) -> list[str]:
    """Every message of ``fields`` once, in order (shown under the posted form)."""
    return list(dict.fromkeys(m for msgs in (fields or {}).values() for m in msgs))


class CasePageView(LoginRequiredMixin, View):
    """A kind's case page: ``GET`` shows the case, ``POST`` takes the posted action through
    ``act_from_form`` and redirects (303) to the page with a message, or shows the page again
    with the refusal and what was typed. A kind says how to find a case the user may open
    (``find``, 404 otherwise), its context, its action table, its form fields and how to act
    (``act``); ``done`` may word the message of an action."""

    template_name: str
    specs: Mapping[str, ActionSpec]
    fields: tuple[str, ...] = ()
    url_name: str

    def find(self, request: HttpRequest, pk: int) -> Any:
        raise NotImplementedError

    def context(self, request: HttpRequest, case: Any, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError

    def act(self, request: HttpRequest, case: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def data_of(self, action: str, post: Mapping[str, Any]) -> dict[str, Any]:
        return generic_data(action, post)

    def done(self, request: HttpRequest, action: str, before: Any, after: Any) -> str:
        """The message after ``action`` (``before``/``after``: the case)."""
        raise NotImplementedError

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(request, self.template_name, self.context(request, self.find(request, pk)))

    def again(
        self,
        request: HttpRequest,
        pk: int,
        posted: dict[str, Any],
        *,
        status: int,
        error: str,
        fields: dict[str, list[str]] | None = None,
    ) -> HttpResponse:
        """The page again, as the case now is, with the refusal and what was typed."""
        fresh = self.find(request, pk)
        context = self.context(request, fresh, posted=posted, error=error, field_errors=fields)
        return render(request, self.template_name, context, status=status)

    def redirect(self, pk: int) -> HttpResponse:
        return HttpResponseRedirect(reverse(self.url_name, kwargs={"pk": pk}), status=303)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = self.find(request, pk)
        posted = posted_fields(request.POST, self.fields)
        before = copy.copy(case)
        outcome = act_from_form(
            request.POST,
            specs=self.specs,
            data_of=self.data_of,
            act=lambda **kwargs: self.act(request, case, **kwargs),
        )
        if not outcome.done:
            return self.again(
                request, pk, posted, status=outcome.status, error=outcome.error,
                fields=outcome.fields or None,
            )  # fmt: skip
        messages.success(request, self.done(request, posted["action"], before, outcome.case))
        return self.redirect(pk)
