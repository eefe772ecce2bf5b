"""Migration operations shared by the apps."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrentlyWhenPossible(AddIndexConcurrently):
    """``CREATE INDEX CONCURRENTLY`` (no write lock on a county's million rows) when the
    migration runs outside a transaction, as ``migrate`` runs a non-atomic migration; a plain
    ``CREATE INDEX`` when a caller holds a transaction open (tests that migrate inside theirs),
    where PostgreSQL refuses the concurrent form."""

    def _ensure_not_in_transaction(self, schema_editor: Any) -> None:
        return None

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.in_atomic_block:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.in_atomic_block:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)
