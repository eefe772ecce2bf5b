"""``/todo/``: the signed-in person's to do (待办) as cards, phone first: severity colour,
what is asked, the case's category and summary, its place, the deadline ("还剩 2 小时",
"已超时 3 小时"); a tap opens the case page. After the cases, each other source of items
(``incidents.todo_extra``: key persons due for a visit) as its own section. The landing page
after sign-in (``LOGIN_REDIRECT_URL``). No script: the cards are drawn by the server, data as
text."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from . import todo, todo_extra
from .context_processors import TodoBadge

PAGE_SIZE = 20


class TodoView(LoginRequiredMixin, View):
    template_name = "incidents/todo.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        at = timezone.now()
        counts = todo.todo_counts(request.user, now=at)
        page = Paginator(todo.todo(request.user, now=at), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        extra = todo_extra.sections(request.user, at)
        cases_total = sum(counts.values())
        total = cases_total + sum(section["count"] for section in extra)
        context = {
            "items": [todo.item(i, at=at) for i in page.object_list],
            "page": page,
            "total": cases_total,
            "all_total": total,
            "extra": extra,
            "counts": [
                {"action": key, "label": str(label), "n": counts[key]}
                for key, label in todo.ACTIONS.items()
                if counts[key]
            ],
            # The header's badge shows the count this page just made.
            "todo_badge": TodoBadge(request.user, count=total),
        }
        return render(request, self.template_name, context)
