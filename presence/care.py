"""Key persons (重点人员): who must be visited how often, by whom, and who is due now.

A household (or one person in it) is a key person of a care category (``CareCategory``: the
interval in days and who visits) from ``since`` until ``until`` (``KeyPerson``).

The due rule (the contract of issue 14, computed in SQL, one query per answer)
------------------------------------------------------------------------------
- ``last_visit_at``: the latest visit (``Visit`` through ``VisitHousehold``) that included the
  household, made on or after ``since`` and on or before the day asked about (days in
  ``settings.TIME_ZONE``);
- ``due_on`` = (the local date of ``last_visit_at``, else ``since``) + ``visit_every_days``;
- a key person is **due** on a day ``on`` when ``due_on <= on``: from ``due_on`` on, the item
  is in the responsible person's to do ("应于<due_on>前走访"); a visit logged for the
  household moves ``due_on`` forward and the item leaves;
- **overdue** when ``due_on < on``: the interval has passed without a visit (the coverage
  check "key persons not visited within their interval" and the presence report count these).

Who is responsible (on the day asked about)
-------------------------------------------
- ``grid_leader``: the grid leader of the household's grid;
- ``central_household``: the worker of the central household of the household's ten-household
  unit (``unit.central_household.party_member.worker``); without one (no unit, no central
  household, or its party member is no worker), the grid leader;
- ``village_staff``: the village's village assistants and its village secretary (each of them).

A category of a district (``CareCategory.district``) takes the place of the global category
with the same code for that district's households (``key_persons_from_tags``); both kinds are
honoured wherever a ``KeyPerson`` points.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    DateField,
    F,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_noop

from accounts.selectors import can_see_personal_data, worker_of
from gridmap import personal_data
from gridmap.sql import tables
from grids.models import District, Grid, Role, RoleAssignment, Town, Village, Worker
from households.models import Household, Tag, TenHouseholdUnit

from .models import CareCategory, KeyPerson, VisitHousehold

Visitor = CareCategory.Visitor
STAFF_ROLES = [Role.VILLAGE_ASSISTANT, Role.VILLAGE_SECRETARY]
# The worker of the central household of a key person's ten-household unit.
CENTRAL_WORKER = "household__ten_household_unit__central_household__party_member__worker"

# The to-do item's kind (incidents.todo_extra) and its sentence.
TODO_KIND = "visit_key_person"
TODO_LABEL = gettext_noop("Visit key persons")
MSG_TODO = gettext_noop(
    "Visit key person: %(category)s, %(who)s, %(address)s, to be visited by %(due)s"
)
MSG_UNTIL_BEFORE_SINCE = gettext_noop("A key person cannot end before they began.")
MSG_NOT_CURRENT = gettext_noop("This key person has already ended.")

# Households' tags (households.Tag) and the code of the care category each one means.
TAG_CATEGORIES: dict[str, str] = {
    Tag.LOW_INCOME: "low_income",
    Tag.SPECIAL_HARDSHIP: "special_hardship",
    Tag.LEFT_BEHIND_ELDERLY: "left_behind_elderly",
    Tag.LEFT_BEHIND_CHILD: "left_behind_child",
    Tag.DISABILITY: "disability",
}


# --- reads ------------------------------------------------------------------------------------
class EqualsAny(Func):
    """``lhs = ANY(ARRAY(subquery))``. PostgreSQL computes the array once (an InitPlan) and
    looks ``lhs`` up in its index; ``lhs IN (subquery)`` let the planner start from every key
    person of the city instead (1.3 s against 15 ms on the city demo, docs/architecture.md)."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def current_q(on: dt.date) -> Q:
    """Key persons in their category on ``on``, of a category in use."""
    return Q(since__lte=on) & (Q(until__isnull=True) | Q(until__gte=on)) & Q(category__active=True)


def with_due(qs: QuerySet[KeyPerson], on: dt.date) -> QuerySet[KeyPerson]:
    """``qs`` annotated with ``last_visit_at`` and ``due_on`` as of ``on`` (module docstring):
    one correlated subquery on the indexed (household, visit) pairs."""
    last_visit = (
        VisitHousehold.objects.filter(
            household_id=OuterRef("household_id"),
            visit__at__date__gte=OuterRef("since"),
            visit__at__date__lte=on,
        )
        .order_by()
        .values("household_id")
        .annotate(last=Max("visit__at"))
        .values("last")
    )
    base = Coalesce(TruncDate("last_visit_at", tzinfo=timezone.get_default_timezone()), F("since"))
    due = CombinedExpression(base, "+", F("category__visit_every_days"), output_field=DateField())
    return qs.annotate(last_visit_at=Subquery(last_visit)).annotate(due_on=due)


def due_key_persons(on: dt.date) -> QuerySet[KeyPerson]:
    """Every key person due for a visit on ``on`` (``due_on <= on``), annotated with
    ``due_on`` and ``last_visit_at``, with household, grid and category."""
    return (
        with_due(KeyPerson.objects.filter(current_q(on)), on)
        .filter(due_on__lte=on)
        .select_related("household__grid__village__town", "category")
        .defer(
            "household__location",
            "household__grid__geom",
            "household__grid__village__geom",
            "household__grid__village__town__geom",
        )
    )


Workers = list[int] | QuerySet


def _leader_grids(workers: Workers, on: dt.date) -> QuerySet:
    return (
        RoleAssignment.objects.active(on)
        .filter(worker_id__in=workers, role=Role.GRID_LEADER)
        .values("grid_id")
    )


def _staff_villages(workers: Workers, on: dt.date) -> QuerySet:
    return (
        RoleAssignment.objects.active(on)
        .filter(worker_id__in=workers, role__in=STAFF_ROLES)
        .values("village_id")
    )


def responsible_q(workers: Workers, on: dt.date) -> Q:
    """Key persons one of ``workers`` (ids, or a subquery of ids) must visit on ``on`` (module
    docstring), as subqueries on their role assignments that day."""
    grids = _leader_grids(workers, on)
    villages = _staff_villages(workers, on)
    # The households any rule could reach, each branch an indexed column = ANY(ARRAY(...)),
    # so that the planner starts from them (a bitmap OR of index scans) rather than from
    # every key person, or every household, of the city.
    units = TenHouseholdUnit.objects.filter(
        central_household__party_member__worker_id__in=workers
    ).values("id")
    candidates = Household.objects.filter(
        Q(EqualsAny(F("grid_id"), ArraySubquery(grids)))
        | Q(
            EqualsAny(
                F("grid_id"),
                ArraySubquery(Grid.objects.filter(village_id__in=villages).values("id")),
            )
        )
        | Q(EqualsAny(F("ten_household_unit_id"), ArraySubquery(units)))
    ).values("id")
    return Q(EqualsAny(F("household_id"), ArraySubquery(candidates))) & (
        Q(category__visitor=Visitor.GRID_LEADER, household__grid_id__in=grids)
        | Q(category__visitor=Visitor.CENTRAL_HOUSEHOLD, **{f"{CENTRAL_WORKER}_id__in": workers})
        | Q(
            category__visitor=Visitor.CENTRAL_HOUSEHOLD,
            household__grid_id__in=grids,
            **{f"{CENTRAL_WORKER}__isnull": True},
        )
        | Q(category__visitor=Visitor.VILLAGE_STAFF, household__grid__village_id__in=villages)
    )


def due_for_user_queryset(user: Any, on: dt.date) -> QuerySet[KeyPerson]:
    """The key persons due on ``on`` that ``user``'s worker must visit, most overdue first."""
    worker = worker_of(user)
    worker_id = worker.pk if worker is not None else None
    if worker_id is None:
        return KeyPerson.objects.none()
    return (
        due_key_persons(on)
        .filter(responsible_q([worker_id], on))
        .order_by("due_on", "household__address", "id")
    )


def due_count_queryset(user: Any, on: dt.date) -> QuerySet:
    """The same key persons as ``due_for_user_queryset``, one row each (``pk``): the header's
    badge counts them together with the cases in one query (``incidents.todo_extra``). The
    worker is found inside the query (no query of its own)."""
    if not user.is_authenticated:
        return KeyPerson.objects.none().values("pk")
    worker = Worker.objects.filter(user=user).values("id")[:1]
    return (
        with_due(KeyPerson.objects.filter(current_q(on)).filter(responsible_q(worker, on)), on)
        .filter(due_on__lte=on)
        .order_by()
        .values("pk")
    )


def household_key_of(code: str | None, pk: int) -> str:
    """The key of a household's file in URLs: its county number, else ``~<id>`` (a household
    entered here and never imported has no number; a number with a "/" cannot be one path
    segment)."""
    if code and "/" not in code:
        return code
    return f"~{pk}"


def household_key(household: Household) -> str:
    return household_key_of(household.code, household.pk)


def household_file_url(household: Household) -> str:
    return reverse("household-file", args=[household_key(household)])


def visit_form_url(household: Household) -> str:
    """The visit form (``/field/visit/``, presence.views_visits) for this household."""
    return "/field/visit/?" + urlencode({"household": household_key(household)})


def shown_name(key_person: KeyPerson, *, visible: bool) -> str:
    """The key person's name (the person, else the head of household) as the viewer may see
    it: the roles that visit households read it, others ``王**`` (gridmap.personal_data)."""
    name = key_person.person_name or key_person.household.head_name
    personal_data.mark_answer()
    return name if visible else personal_data.mask_name(name)


def todo_item(key_person: KeyPerson, *, on: dt.date, visible: bool) -> dict[str, Any]:
    """One key person due, as a to-do item (the API answers it, /todo/ draws it as text)."""
    household = key_person.household
    due_on: dt.date = key_person.due_on  # type: ignore[attr-defined]
    who = shown_name(key_person, visible=visible)
    text = gettext(MSG_TODO) % {
        "category": key_person.category.name,
        "who": who,
        "address": household.address,
        "due": due_on.isoformat(),
    }
    return {
        "kind": TODO_KIND,
        "id": key_person.pk,
        "household": household_key(household),
        "category": key_person.category.name,
        "who": who,
        "address": household.address,
        "grid": household.grid.code if household.grid else None,
        "due_on": due_on,
        "overdue": due_on < on,
        "days_overdue": max(0, (on - due_on).days),
        "last_visit_at": key_person.last_visit_at,  # type: ignore[attr-defined]
        "text": text,
        "url": household_file_url(household),
        "visit_url": visit_form_url(household),
        "actions": [{"label": gettext("Log a visit"), "url": visit_form_url(household)}],
    }


def due_for_user(user: Any, on: dt.date | None = None) -> list[dict[str, Any]]:
    """The to-do items of the key persons ``user`` must visit, due on ``on`` (today)."""
    on = on or timezone.localdate()
    visible = can_see_personal_data(user)
    return [todo_item(kp, on=on, visible=visible) for kp in due_for_user_queryset(user, on)]


def todo_items(user: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """The to-do source's items (``incidents.todo_extra``): ``due_for_user`` on ``now``'s
    local day."""
    return due_for_user(user, timezone.localdate(now))


def todo_count_queryset(user: Any, now: dt.datetime) -> QuerySet:
    """The to-do source's rows for the badge (``incidents.todo_extra``)."""
    return due_count_queryset(user, timezone.localdate(now))


def overdue_key_persons(on: dt.date) -> QuerySet[KeyPerson]:
    """Key persons not visited within their interval on ``on`` (``due_on < on``)."""
    return due_key_persons(on).filter(due_on__lt=on)


# Who is responsible for each overdue key person (the rows of ``o``: key person, visitor kind,
# grid, village, central household's worker), as one statement: grid leaders (and the
# central households' fallback), central households, village staff; one row per (key person,
# worker), counted per worker.
_BY_WORKER_SQL = """
WITH o(id, visitor, grid_id, village_id, central) AS ({overdue})
SELECT worker_id, count(DISTINCT id) FROM (
    SELECT o.id, ra.worker_id FROM o
      JOIN {role_assignment} ra ON ra.grid_id = o.grid_id AND ra.role = %s
                               AND ra.period @> %s::date
     WHERE o.visitor = %s OR (o.visitor = %s AND o.central IS NULL)
    UNION ALL
    SELECT o.id, o.central FROM o WHERE o.visitor = %s AND o.central IS NOT NULL
    UNION ALL
    SELECT o.id, ra.worker_id FROM o
      JOIN {role_assignment} ra ON ra.village_id = o.village_id AND ra.role = ANY(%s)
                               AND ra.period @> %s::date
     WHERE o.visitor = %s
) r
WHERE worker_id = ANY(%s)
GROUP BY worker_id
"""


def overdue_count_by_worker(worker_ids: list[int], on: dt.date) -> dict[int, int]:
    """How many key persons each worker of ``worker_ids`` must visit and has let pass their
    interval on ``on`` (every id present, zeros too), in one query: the overdue key persons
    these workers could be responsible for, then who is (module docstring)."""
    counts = dict.fromkeys(worker_ids, 0)
    if not worker_ids:
        return counts
    overdue = (
        with_due(KeyPerson.objects.filter(current_q(on)), on)
        .filter(due_on__lt=on)
        .filter(responsible_q(list(worker_ids), on))
        .order_by()
        .values_list(
            "id",
            "category__visitor",
            "household__grid_id",
            "household__grid__village_id",
            f"{CENTRAL_WORKER}_id",
        )
    )
    sql, params = overdue.query.sql_with_params()
    statement = _BY_WORKER_SQL.format(overdue=sql, **tables(role_assignment=RoleAssignment))
    args = [
        *params,
        str(Role.GRID_LEADER), on, str(Visitor.GRID_LEADER), str(Visitor.CENTRAL_HOUSEHOLD),
        str(Visitor.CENTRAL_HOUSEHOLD),
        [str(r) for r in STAFF_ROLES], on, str(Visitor.VILLAGE_STAFF),
        list(worker_ids),
    ]  # fmt: skip
    with connection.cursor() as cur:
        cur.execute(statement, args)
        for worker_id, n in cur.fetchall():
            counts[worker_id] = n
    return counts


def overdue_in_area(area_code: str, on: dt.date) -> QuerySet[KeyPerson]:
    """Key persons overdue on ``on`` whose household's grid code starts with ``area_code``
    (a place code or a code prefix: coverage's ``area_prefix``), oldest due date first."""
    return (
        overdue_key_persons(on)
        .filter(household__grid__code__startswith=area_code)
        .order_by("due_on", "household__grid__code", "id")
    )


def current_categories(household: Household, on: dt.date) -> QuerySet[KeyPerson]:
    """The household's key-person rows current on ``on``, with their due dates."""
    return (
        with_due(KeyPerson.objects.filter(current_q(on), household=household), on)
        .select_related("category")
        .order_by("due_on", "id")
    )


# --- writes -----------------------------------------------------------------------------------
@transaction.atomic
def key_person_add(
    *,
    household: Household,
    category: CareCategory,
    since: dt.date | None = None,
    person_name: str = "",
    note: str = "",
) -> tuple[KeyPerson, bool]:
    """Put a household (or one person of it) in a care category from ``since`` (today).
    Already there (a current row of the same category and person): that row, ``False``."""
    existing = KeyPerson.objects.filter(
        household=household, category=category, person_name=person_name, until__isnull=True
    ).first()
    if existing is not None:
        return existing, False
    key_person = KeyPerson(
        household=household,
        category=category,
        person_name=person_name,
        note=note,
        since=since or timezone.localdate(),
    )
    key_person.full_clean()
    key_person.save()
    return key_person, True


@transaction.atomic
def key_person_end(key_person: KeyPerson, *, until: dt.date | None = None) -> KeyPerson:
    """End a key person's time in its category on ``until`` (today, inclusive)."""
    key_person = KeyPerson.objects.select_for_update().get(pk=key_person.pk)
    if key_person.until is not None:
        raise ValidationError(gettext(MSG_NOT_CURRENT))
    until = until or timezone.localdate()
    if until < key_person.since:
        raise ValidationError(gettext(MSG_UNTIL_BEFORE_SINCE))
    key_person.until = until
    key_person.save(update_fields=["until"])
    return key_person


_T = tables(
    key_person=KeyPerson, category=CareCategory, household=Household, grid=Grid,
    village=Village, town=Town, district=District,
)  # fmt: skip

# One INSERT ... SELECT: every tagged household in scope gets a current key person of the
# category its tag means (the household's district's own category with that code, else the
# global one), unless it has one already (the partial unique constraint).
_FROM_TAGS_SQL = """
INSERT INTO {key_person} (household_id, category_id, person_name, note, since)
SELECT DISTINCT ON (h.id, m.code) h.id, c.id, '', '', %(since)s::date
  FROM {household} h
  JOIN {grid} g ON g.id = h.grid_id
  JOIN {village} v ON v.id = g.village_id
  JOIN {town} t ON t.id = v.town_id
  JOIN unnest(%(tags)s::text[], %(codes)s::text[]) AS m(tag, code) ON m.tag = ANY(h.tags)
  JOIN {category} c ON c.code = m.code AND c.active
                   AND (c.district_id IS NULL OR c.district_id = t.district_id)
 WHERE (%(all)s OR h.id = ANY(%(ids)s::bigint[]))
   AND NOT EXISTS (SELECT 1 FROM {key_person} k
                    JOIN {category} kc ON kc.id = k.category_id
                   WHERE k.household_id = h.id AND kc.code = m.code AND k.until IS NULL
                     AND k.person_name = '')
 ORDER BY h.id, m.code, c.district_id NULLS LAST
ON CONFLICT DO NOTHING
"""


def key_persons_from_tags(
    *, household_ids: list[int] | None = None, since: dt.date | None = None
) -> int:
    """Make the current ``KeyPerson`` rows that households' tags call for (``TAG_CATEGORIES``:
    留守老人 -> left_behind_elderly ...), for ``household_ids`` (every household when None),
    from ``since`` (today). Set-based (one statement); returns the rows made. Households in no
    grid are skipped (their district, hence their category, is unknown)."""
    tags = list(TAG_CATEGORIES)
    params = {
        "since": since or timezone.localdate(),
        "tags": [str(t) for t in tags],
        "codes": [TAG_CATEGORIES[t] for t in tags],
        "all": household_ids is None,
        "ids": list(household_ids or []),
    }
    with connection.cursor() as cur:
        cur.execute(_FROM_TAGS_SQL.format(**_T), params)
        return cur.rowcount
