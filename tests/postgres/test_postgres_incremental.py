"""`LOAD t FROM pg_source MODE INCREMENTAL BY col`: the high-water mark is pushed into
PostgreSQL's query as a bound parameter, so only new rows cross the wire — counted on the server
by a view whose every output row bumps a sequence — and the end state equals a full load's."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pytest
from pgserver import PgDatabase
from test_postgres_pipelines import duck, pipeline, project, run

from sqlflowc.connectors.postgres.params import TableName
from sqlflowc.connectors.postgres.read import ReadSpec, WatermarkFilter, open_rows

__all__ = ["project"]  # the fixture, shared with the pipeline tests

SOURCE_ROWS = 2000


@pytest.fixture
def events(pg_db: PgDatabase) -> PgDatabase:
    """`events`: a view over `events_base` whose every row sent bumps the sequence `sent`."""
    pg_db.run(
        "CREATE SEQUENCE sent",
        "CREATE TABLE events_base (id int PRIMARY KEY, updated_at timestamptz, "
        "amount numeric(12,2), note text)",
        "INSERT INTO events_base SELECT g, TIMESTAMPTZ '2024-01-01 00:00:00+00' "
        "+ g * INTERVAL '1 minute', g * 0.5, 'n' || g "
        f"FROM generate_series(1, {SOURCE_ROWS}) g",
        "CREATE FUNCTION seen(x int) RETURNS int LANGUAGE plpgsql VOLATILE AS "
        "$$ BEGIN PERFORM nextval('sent'); RETURN x; END $$",
        "CREATE VIEW events AS SELECT seen(id) AS id, updated_at, amount, note FROM events_base",
    )
    return pg_db


def sent(db: PgDatabase) -> int:
    """Rows the view has sent since the last call."""
    rows = db.rows("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM sent")
    db.run("SELECT setval('sent', 1, false)")
    return int(rows[0][0])


def full_load(db: PgDatabase) -> list[tuple[object, ...]]:
    return sorted(db.rows("SELECT id, updated_at, amount, note FROM events_base"))


def loaded(project: Path, table: str = "events") -> list[tuple[object, ...]]:
    return sorted(duck(project, f"SELECT id, updated_at, amount, note FROM {table}"))


def test_only_new_rows_cross_the_wire_and_the_result_equals_a_full_load(
    project: Path, events: PgDatabase
) -> None:
    sf = pipeline(
        project,
        'SOURCE events FROM "warehouse" OPTIONS {"table": "events"};\n'
        "LOAD events FROM events MODE INCREMENTAL BY updated_at;\n",
    )
    sent(events)
    first = run(project, "run", sf)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "created, inserted 2,000" in first.stdout
    assert sent(events) == SOURCE_ROWS
    events.run(
        "INSERT INTO events_base SELECT g, TIMESTAMPTZ '2024-06-01 00:00:00+00' "
        "+ g * INTERVAL '1 second', g, 'new' FROM generate_series(3001, 3040) g"
    )
    second = run(project, "run", sf)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "inserted 40" in second.stdout
    assert sent(events) == 40
    third = run(project, "run", sf)
    assert third.returncode == 0, third.stdout + third.stderr
    assert sent(events) == 0
    assert loaded(project) == full_load(events)
    assert duck(project, "SELECT typeof(updated_at) FROM events LIMIT 1") == [
        ("TIMESTAMP WITH TIME ZONE",)
    ]


def test_key_and_lookback_pick_up_updated_rows(project: Path, events: PgDatabase) -> None:
    sf = pipeline(
        project,
        'SOURCE events FROM "warehouse" OPTIONS {"table": "events"};\n'
        "LOAD by_key FROM events MODE INCREMENTAL BY updated_at KEY (id);\n"
        "LOAD by_window FROM events MODE INCREMENTAL BY updated_at LOOKBACK '10 minutes';\n",
    )
    first = run(project, "run", sf)
    assert first.returncode == 0, first.stdout + first.stderr
    sent(events)
    # Five old rows change (and move past the mark); three rows land inside the lookback.
    events.run(
        "UPDATE events_base SET note = 'changed', updated_at = TIMESTAMPTZ "
        "'2024-03-01 00:00:00+00' + id * INTERVAL '1 second' WHERE id <= 5",
        "INSERT INTO events_base SELECT g, TIMESTAMPTZ '2024-03-01 00:00:00+00' "
        "- g * INTERVAL '1 minute', 1, 'late' FROM generate_series(4001, 4003) g",
    )
    second = run(project, "run", sf)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "inserted 3, updated 5" in second.stdout  # by_key: late rows new, changed rows matched
    # by_key read the 5 changed and 3 late rows; by_window those and the 11 rows of the last
    # 10 minutes before (both ends inclusive).
    assert sent(events) == (5 + 3) + (5 + 3 + 11)
    assert loaded(project, "by_key") == full_load(events)
    assert duck(project, "SELECT count(*), count(DISTINCT id) FROM by_window") == [
        (SOURCE_ROWS + 3 + 5, SOURCE_ROWS + 3)  # the changed rows' old versions stay
    ]


def test_an_integer_column_and_a_query_source(project: Path, pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE t (id bigint, name text)",
        "INSERT INTO t SELECT g, 'O''Brien ' || g FROM generate_series(1, 100) g",
    )
    sf = pipeline(
        project,
        'SOURCE t FROM "warehouse" OPTIONS {"query": "SELECT id, name FROM t WHERE id % 2 = 0"};\n'
        "LOAD ids FROM t MODE INCREMENTAL BY id;\n"
        "LOAD names FROM t MODE INCREMENTAL BY name;\n",
    )
    assert run(project, "run", sf).returncode == 0
    pg_db.run("INSERT INTO t VALUES (102, 'zz'), (103, 'odd'), (104, 'O''Brien 99z')")
    second = run(project, "run", sf)
    assert second.returncode == 0, second.stdout + second.stderr
    assert duck(project, "SELECT max(id), count(*) FROM ids") == [(104, 52)]
    assert duck(project, "SELECT count(*) FROM names") == [(52,)]


def test_the_watermark_is_bound_never_spliced(pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE t (name text, at date)",
        "INSERT INTO t VALUES ('a''b', '2024-01-01'), ('a''c', '2024-01-02'), ('B', NULL)",
    )
    conn = __import__("psycopg").connect(pg_db.dsn, autocommit=True)
    duck_con = duckdb.connect()
    spec = ReadSpec(table=TableName("public", "t"), watermark=WatermarkFilter("name", "a'b"))
    rows = open_rows(conn, spec)
    try:
        activity = pg_db.rows(
            "SELECT query FROM pg_stat_activity WHERE query LIKE %s AND datname = "
            "current_database()",
            ["COPY%"],
        )
        duck_con.register("r", rows.reader)
        got = duck_con.execute("SELECT name FROM r").fetchall()
    finally:
        rows.close()
        conn.close()
    assert got == [("a'c",)]  # byte order: 'B' < 'a''b' < 'a''c'
    assert activity and all("a'b" not in q and "a''b" not in q for (q,) in activity)
    assert any("current_setting('sqlflowc.after')" in q for (q,) in activity)
    conn = __import__("psycopg").connect(pg_db.dsn, autocommit=True)
    by_date = ReadSpec(
        table=TableName("public", "t"),
        watermark=WatermarkFilter("at", datetime.datetime(2024, 1, 1, 12), inclusive=True),
    )
    rows = open_rows(conn, by_date)
    try:
        duck_con.register("r", rows.reader)
        assert duck_con.execute("SELECT name FROM r").fetchall() == [("a'c",)]
    finally:
        rows.close()
        conn.close()
