"""The history of a case is append-only: a trigger refuses UPDATE and DELETE on its events
(and attachments). A new kind's migration adds it with ``append_only(table, ...)``::

    operations = [..., *append_only("errands_errandevent")]

Only maintenance (tests, benchmarks, replacing demo data) removes a case, through its kind's
purge function, which switches the triggers off inside its own transaction.
"""

from __future__ import annotations

from django.db import migrations

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
