"""Query expressions the ORM does not spell.

``InArray(F("pk"), queryset)`` is ``pk = ANY(ARRAY(<queryset>))``: the queryset (one column,
not correlated with the outer row) runs once, as an InitPlan, and its array is a condition
an index can answer. Inside an ``OR`` that matters twice over. ``EXISTS (...)`` there is a
subplan per row, which keeps PostgreSQL from combining the ``OR``'s indexes (BitmapOr), and
the planner guesses that half the table passes it: a grid worker's 290 cases of 1,000,000
were planned as 500,931, so their list walked the whole date index (0.9 s) and counted by a
sequential scan. ``= ANY(ARRAY(...))`` is estimated as the few rows it is.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, F, Func, QuerySet, Subquery


class InArray(Func):
    """``(<column> = ANY(ARRAY(<subquery>)))``, a condition for ``filter()`` and ``Q``."""

    output_field = BooleanField()

    def __init__(self, column: F, values: QuerySet[Any]) -> None:
        super().__init__(column, Subquery(values))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        (column, column_params), (values, values_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        # The subquery compiles with its own parentheses.
        return f"({column} = ANY(ARRAY{values}))", [*column_params, *values_params]
