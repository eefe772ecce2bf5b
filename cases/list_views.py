"""The page of the three lists (``/lists/``) for every kind of case, and the lists' exports.

A kind describes its lists once (``cases.list_registry.CaseLists``: its filter form, its rows,
its columns, its case page, its own filter fields) and registers them from its
``AppConfig.ready`` (``cases.list_registry.register``), as it registers its ``CaseKind``; the
engine never imports a kind. The page
(``CaseListsView``) offers the registered kinds as tabs (``?case=incident`` /
``?case=service``; without it the first registered, the incidents), then the three lists as
tabs (``?list=``), the filters, one page of rows, and the exports:

- CSV (``?format=csv``): streamed (``StreamingHttpResponse``), a BOM, the headers in the
  reader's language, the rows fetched in chunks (``cases.lists.csv_lines``);
- XLSX (``?format=xlsx``): built in memory, so refused (400, with the count and the
  ceiling) above ``cases.lists.XLSX_MAX_ROWS`` rows.

The exports carry exactly the rows of the filter the page shows (the same queryset, every
page), with the page's columns. A kind whose columns show residents' personal data hands
``before_export`` (it notes what the streamed body will show while the request is still
being answered: ``gridmap.personal_data``). Bad filters are a 400: the page with the
messages, an export with the first message as text.

``export_response`` is the export on its own, for a kind's other lists (the service desk's
``/services/``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_noop
from django.views import View

from . import lists, paging
from .list_registry import CaseLists, registered

# The row count when it is the planner's estimate ("about 1,000,000 cases").
MSG_ABOUT = gettext_noop("about %(count)s")
MSG_UNKNOWN_CASE = gettext_noop("There are no lists of %(case)s: choose incidents or services.")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The parameters every kind's lists share (kept when switching between kinds).
SHARED_PARAMS = ("list", "level", "code", "from", "to")
# The filter's choices that are not drop-downs of the form (tabs, the area, the export).
HIDDEN_CHOICES = ("list", "level", "format")


class _Options(Mapping[str, Any]):
    """The ``<option>``s of the filter's choice fields by name (``lists.select_options``),
    each written on first use: a choice from a query (the service items) is read only where
    a template shows it."""

    def __init__(self, form: lists.ListFilterForm, values: Mapping[str, Any]) -> None:
        self.form, self.values = form, values

    def __getitem__(self, name: str) -> Any:
        field = self.form.fields.get(name)
        if name in HIDDEN_CHOICES or not isinstance(field, forms.ChoiceField):
            raise KeyError(name)
        return lists.select_options(field.choices, self.values.get(name, ""))

    def __iter__(self) -> Iterator[str]:
        return (n for n, f in self.form.fields.items() if isinstance(f, forms.ChoiceField))

    def __len__(self) -> int:
        return sum(1 for _name in self)


def query(params: Mapping[str, Any], **changes: Any) -> str:
    """``?params`` with ``changes`` (None or "" drops a parameter)."""
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


def filename(spec: lists.ListSpec, ext: str, prefix: str = "") -> str:
    """``problems-450702-20251006.csv`` (``prefix-`` first for a kind other than incidents)."""
    parts = [prefix, spec.kind, spec.code or "all", timezone.localdate().strftime("%Y%m%d")]
    return "-".join(p for p in parts if p) + "." + ext


def bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def export_response(
    qs: QuerySet[Any],
    columns: list[lists.Column],
    *,
    fmt: str,
    now: dt.datetime,
    title: str,
    name: str,
    max_rows: int | None = None,
) -> HttpResponse:
    """The rows of ``qs`` in ``columns`` as a CSV (streamed) or XLSX (at most ``max_rows``,
    by default ``XLSX_MAX_ROWS`` rows, else 400) attachment named ``name``."""
    ceiling = lists.XLSX_MAX_ROWS if max_rows is None else max_rows
    if fmt == "csv":
        language = translation.get_language()

        def body() -> Iterator[str]:
            # Streamed after the view returns: keep the request's language for labels.
            with translation.override(language):
                yield from lists.csv_lines(qs, columns, now)

        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            body(), content_type="text/csv; charset=utf-8"
        )
    else:
        count = qs.count()
        if count > ceiling:
            message = gettext(lists.MSG_TOO_MANY_FOR_XLSX) % {"count": count, "max": ceiling}
            return bad_request(message)
        response = HttpResponse(lists.xlsx_bytes(qs, columns, now, title), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response  # type: ignore[return-value]


class CaseListsView(LoginRequiredMixin, View):
    """``/lists/``: 问题清单 / 责任清单 / 销号清单 of the registered kinds, filtered, on screen
    or as CSV / XLSX."""

    template_name = "cases/lists.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        choices = registered()
        key = (request.GET.get("case") or "").strip()
        found = next((c for c in choices if c.key == key), None) if key else choices[0]
        if found is None:
            return bad_request(gettext(MSG_UNKNOWN_CASE) % {"case": key})
        case_lists = found
        form = case_lists.form(request.GET or None, user=request.user)
        valid = form.is_valid() if request.GET else True
        fmt = (form.cleaned_data.get("format") or "") if request.GET and valid else ""
        if request.GET and not valid:
            if (request.GET.get("format") or "") in ("csv", "xlsx"):
                first = next(iter(form.errors.values()))[0]
                return bad_request(first)
            return self._page(request, case_lists, form, None, status=400)
        spec = form.spec() if request.GET else form.spec_class()
        now = timezone.now()
        if fmt in ("csv", "xlsx"):
            qs = case_lists.queryset(request.user, spec)
            if case_lists.before_export is not None:
                case_lists.before_export(request.user, qs, spec)
            prefix = "" if case_lists is choices[0] else case_lists.key
            return export_response(
                qs,
                case_lists.columns(spec.kind, request.user),
                fmt=fmt,
                now=now,
                title=case_lists.list_label(spec.kind),
                name=filename(spec, fmt, prefix),
                max_rows=case_lists.xlsx_max_rows() if case_lists.xlsx_max_rows else None,
            )
        return self._page(request, case_lists, form, spec, now=now)

    def _page(
        self,
        request: HttpRequest,
        case_lists: CaseLists,
        form: lists.ListFilterForm,
        spec: lists.ListSpec | None,
        *,
        status: int = 200,
        now: dt.datetime | None = None,
    ) -> HttpResponse:
        params = {k: v for k, v in request.GET.items() if k not in ("page", "format", "cursor")}
        kind = spec.kind if spec else (request.GET.get("list") or lists.ListKind.PROBLEMS)
        if kind not in lists.ListKind.values:
            kind = lists.ListKind.PROBLEMS
        shared = {k: v for k, v in params.items() if k in SHARED_PARAMS}
        first = registered()[0]
        areas = lists.areas_for(request.user)
        context: dict[str, Any] = {
            "form": form,
            "kind": kind,
            "kind_label": case_lists.list_label(kind),
            "scope": case_lists,
            "scopes": [
                {
                    "key": c.key,
                    "label": c.label,
                    "url": query(shared, case=None if c is first else c.key),
                    "active": c is case_lists,
                }
                for c in registered()
            ],
            "tabs": [
                {
                    "kind": value,
                    "label": case_lists.list_label(value),
                    "url": query(params, list=value),
                    "active": value == kind,
                }
                for value in lists.ListKind.values
            ],
            "description": case_lists.descriptions.get(kind, ""),
            "clear_url": query({"case": params.get("case"), "list": kind}),
            "areas": areas,
            "area_options": lists.area_options(areas, request.GET.get("code", "")),
            "columns": case_lists.columns(kind, request.user),
            "params": params,
            "values": {k: request.GET.get(k, "") for k in form.fields},
            # The options of a choice of the filter, the current one selected (written when
            # the template asks: ``{{ options.status }}``).
            "options": _Options(form, request.GET),
            "rows": [],
            "page": None,
            "lights": lists.LIGHT_LABELS,
        }
        if now is not None and spec is not None:
            read = None
            if case_lists.keys is not None and case_lists.page_rows is not None:
                # The kind reads the page's rows by key: page the filter and order alone.
                qs = case_lists.keys(request.user, spec)
                page_rows, kind_of_list = case_lists.page_rows, spec.kind

                def read(ids: list[Any]) -> list[Any]:
                    return page_rows(kind_of_list, ids)

            else:
                qs = case_lists.queryset(request.user, spec)

            counted = paging.count_rows(qs)
            page = paging.numbered_page(
                qs,
                paging.page_number(request.GET.get("page")),
                lists.PAGE_SIZE,
                counted,
                read,
                keyset=case_lists.keysets.get(kind),
                cursor=getattr(form, "cleaned_data", {}).get("cursor") or None,
            )
            count_text = case_lists.count_text(counted.value)
            if counted.estimate:
                count_text = gettext(MSG_ABOUT) % {"count": count_text}
            context.update(
                {
                    "page": page,
                    "rows": page.rows,
                    "header_html": lists.header_html(context["columns"]),
                    "rows_html": lists.rows_html(
                        page.rows,
                        context["columns"],
                        now,
                        case_lists.case_url,
                        case_lists.row_attribute,
                    ),
                    "total": counted.value,
                    "count_is_estimate": counted.estimate,
                    "count_text": count_text,
                    "csv_url": query(params, list=kind, format="csv"),
                    "xlsx_url": query(params, list=kind, format="xlsx"),
                    "prev_url": query(
                        params,
                        list=kind,
                        page=page.previous_page_number(),
                        cursor=page.previous_cursor,
                    )
                    if page.has_previous()
                    else "",
                    "next_url": query(
                        params, list=kind, page=page.next_page_number(), cursor=page.next_cursor
                    )
                    if page.has_next()
                    else "",
                    "figures": case_lists.figures(request.user, spec)
                    if case_lists.figures is not None
                    else None,
                }
            )
        return render(request, self.template_name, context, status=status)
