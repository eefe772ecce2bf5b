"""A large batch of new households is written the bulk way (``gridmap.sql.bulk_loaded``):
the location and hash indexes and the foreign keys are dropped, the rows inserted, and all of
them come back with the same definitions; the rows are the same as the row-by-row way's."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from gridmap.sql import bulk_loaded
from households.models import Household
from imports.handlers import households as handler
from imports.pipeline import run_import
from tests.imports.test_pipeline import HEADER_EN, row, write_csv
from tests.imports.test_pipeline import points as points  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db(transaction=False)

TABLE = Household._meta.db_table


def schema() -> tuple[list, list]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [TABLE]
        )
        indexes = cur.fetchall()
        cur.execute(
            """SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint
                WHERE conrelid = %s::regclass ORDER BY 1""",
            [TABLE],
        )
        return indexes, cur.fetchall()


def stored(prefix: str) -> list[tuple]:
    return sorted(
        Household.objects.filter(code__startswith=prefix).values_list(
            "code", "head_name", "id_number_hash", "phone_hash", "grid_id", "size", "tags"
        )
    )


def test_a_bulk_import_stores_the_same_rows_and_keeps_the_schema(tmp_path, points, monkeypatch):
    before = schema()
    p = points[0]
    rows = [row(f"B{i:03d}", p, phone=f"1380000{i:04d}") for i in range(1, 40)]
    path = write_csv(tmp_path / "h.csv", HEADER_EN, rows)
    # Row by row (rolled back), then the bulk way.
    with transaction.atomic():
        result = run_import("households", path, commit=True)
        assert result.new == 39
        row_by_row = stored("B")
        transaction.set_rollback(True)
    monkeypatch.setattr(handler, "BULK_MIN_ROWS", 10)
    monkeypatch.setattr(handler, "BULK_SHARE", 1000)
    calls = []
    real = handler.bulk_loaded

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(handler, "bulk_loaded", spy)
    result = run_import("households", path, commit=True)
    assert calls, "the bulk way was not taken"
    assert result.new == 39
    assert stored("B") == row_by_row
    assert schema() == before


def test_the_foreign_keys_come_back_validating():
    """A key added back checks every row: a household in no grid that exists is refused."""
    lost = f"UPDATE {TABLE} SET grid_id = -1 WHERE id = (SELECT min(id) FROM {TABLE})"
    with pytest.raises(IntegrityError), transaction.atomic():  # noqa: SIM117
        with bulk_loaded(Household, ["location"]), connection.cursor() as cur:
            cur.execute(lost)


def test_an_error_inside_rolls_the_transaction_back_with_the_indexes():
    before = schema()
    with pytest.raises(ZeroDivisionError), transaction.atomic():  # noqa: SIM117
        with bulk_loaded(Household, ["location", "phone_hash"]):
            1 / 0  # noqa: B018
    assert schema() == before


def test_the_keyed_hashes_are_compared_bytewise():
    """Every keyed-hash column has the C collation (``KeyedHashField``), in the database as in
    the model."""
    from django.apps import apps

    from gridmap.crypto import KeyedHashField

    fields = [
        (m._meta.db_table, f.column)
        for m in apps.get_models()
        for f in m._meta.concrete_fields
        if isinstance(f, KeyedHashField)
    ]
    assert len(fields) >= 4
    with connection.cursor() as cur:
        for table, column in fields:
            cur.execute(
                """SELECT c.collname FROM pg_attribute a JOIN pg_collation c
                        ON c.oid = a.attcollation
                    WHERE a.attrelid = %s::regclass AND a.attname = %s""",
                [table, column],
            )
            assert cur.fetchone()[0] == "C", (table, column)
