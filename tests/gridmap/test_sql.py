from django.db import connection

from gridmap.sql import column, table, tables
from grids.models import Grid, Village
from households.models import Household


def test_table_is_the_quoted_db_table():
    assert table(Grid) == '"grids_grid"'
    assert table(Household) == connection.ops.quote_name(Household._meta.db_table)


def test_tables_by_keyword_format_into_sql():
    names = tables(grid=Grid, village=Village)
    assert names == {"grid": '"grids_grid"', "village": '"grids_village"'}
    sql = "SELECT g.id FROM {grid} g JOIN {village} v ON v.id = g.village_id".format(**names)
    assert sql == 'SELECT g.id FROM "grids_grid" g JOIN "grids_village" v ON v.id = g.village_id'


def test_column_is_the_quoted_db_column():
    assert column(Grid, "village") == '"village_id"'
    assert column(Grid, "code") == '"code"'


def test_the_names_are_those_postgresql_knows(db):
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM {grid} WHERE {village} IS NULL".format(
                grid=table(Grid), village=column(Grid, "village")
            )
        )
        assert cur.fetchone() == (0,)
