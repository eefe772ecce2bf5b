"""The history of a case is append-only: a trigger refuses UPDATE and DELETE on its events
(and attachments). A new kind's migration adds it with ``append_only(table, ...)``::

    operations = [..., *append_only("errands_errandevent")]

Only maintenance (tests, benchmarks, replacing demo data) removes a case, through its kind's
purge function, which switches the triggers off inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import connection, migrations, transaction

from gridmap.sql import table as sql_table
from inbox.services import notifications_delete_about

if TYPE_CHECKING:
    from .kinds import CaseKind

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION gridmap_history_is_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'The case history cannot be edited or deleted (% on %).', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def trigger_name(table: str) -> str:
    return f"{table}_append_only"[:63]


def append_only(*tables: str) -> list[migrations.RunSQL]:
    """Migration operations that make ``tables`` append-only (and undo it on reverse)."""
    operations = [migrations.RunSQL(FUNCTION_SQL, migrations.RunSQL.noop)]
    for table in tables:
        name = trigger_name(table)
        operations.append(
            migrations.RunSQL(
                f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION gridmap_history_is_append_only();",
                f"DROP TRIGGER IF EXISTS {name} ON {table};",
            )
        )
    return operations


def purge_cases(kind: CaseKind, ids: Iterable[int]) -> int:
    """Delete cases of ``kind`` with their history, their inbox entries and whatever hangs off
    them (maintenance only: tests, benchmarks, replacing demo data; never a user action). The
    append-only triggers of the history tables are switched off inside this transaction only.
    Returns how many cases were deleted."""
    ids = list(ids)
    if not ids:
        return 0
    history = [kind.event_model]
    if kind.attachment_model is not None:
        history.insert(0, kind.attachment_model)
    with transaction.atomic(), connection.cursor() as cursor:
        # Foreign keys checked at once, so no trigger event is pending at ALTER TABLE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for model in history:
            cursor.execute(f"ALTER TABLE {sql_table(model)} DISABLE TRIGGER USER")
        if kind.attachment_model is not None:
            kind.attachment_model.objects.filter(
                **{f"event__{kind.case_field}_id__in": ids}
            ).delete()
        kind.event_model.objects.filter(**{f"{kind.case_field}_id__in": ids}).delete()
        for model in history:
            cursor.execute(f"ALTER TABLE {sql_table(model)} ENABLE TRIGGER USER")
        # Back to Django's deferred foreign keys for the rest of the caller's transaction.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        _, per_model = kind.model.objects.filter(pk__in=ids).delete()
        # Their inbox entries (which name the case as data: subject type = the kind's name).
        notifications_delete_about(subject_type=kind.name, subject_ids=ids)
    return per_model.get(kind.model._meta.label, 0)
