"""INCREMENTAL BY: the window, LOOKBACK, typed macros, the high-water mark and re-runs."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import sql
from sqlflowc.api import compile_source, run
from sqlflowc.backend.plan import CreateTable, Incremental
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.executor import RunResult
from sqlflowc.runtime.load_modes import LoadCounts, run_load

PIPELINE = (
    "CREATE TABLE daily MODE INCREMENTAL BY ts LOOKBACK '1 day' AS\n"
    "SELECT id, ts, amount FROM events WHERE ts BETWEEN @start_dt AND @end_dt;\n"
)


def run_text(text: str, db: Path, tmp_path: Path) -> RunResult:
    comp = compile_source(
        text, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={}, database=str(db)
    )
    return run(comp.plan, database=str(db))


def table(db: Path, name: str = "daily") -> list[tuple[Any, ...]]:
    return sql(db, f"SELECT * FROM {name} ORDER BY ALL")


def state(db: Path) -> list[tuple[Any, ...]]:
    return sql(db, "SELECT * FROM _sqlflow_state ORDER BY target")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "db.duckdb"
    sql(
        path,
        "CREATE TABLE events (id INTEGER, ts TIMESTAMP, amount INTEGER)",
        "INSERT INTO events VALUES (1, '2024-01-01 10:00', 10), (2, '2024-01-02 10:00', 20), "
        "(3, '2024-01-03 10:00', 30)",
    )
    return path


def test_first_run_loads_everything_and_stores_the_high_water_mark(
    db: Path, tmp_path: Path
) -> None:
    result = run_text(PIPELINE, db, tmp_path)
    assert result.ok, result.failures
    assert [r[0] for r in table(db)] == [1, 2, 3]
    ((target, column, high_water, _),) = state(db)
    assert (target, column, str(high_water)) == ("daily", "ts", "2024-01-03 10:00:00")
    load = result.outcome("table_daily").load
    assert load is not None and load.created and load.inserted == 3


def test_rerun_with_no_new_data_changes_nothing(db: Path, tmp_path: Path) -> None:
    assert run_text(PIPELINE, db, tmp_path).ok
    before, before_state = table(db), state(db)
    result = run_text(PIPELINE, db, tmp_path)
    assert result.ok, result.failures
    assert table(db) == before and state(db) == before_state
    load = result.outcome("table_daily").load
    assert load is not None and load.inserted == load.deleted == 2  # the window: Jan 2 onwards


def test_late_data_within_lookback_is_corrected_and_older_changes_are_not(
    db: Path, tmp_path: Path
) -> None:
    assert run_text(PIPELINE, db, tmp_path).ok
    sql(
        db,
        "UPDATE events SET amount = 21 WHERE id = 2",  # late correction, inside the lookback
        "UPDATE events SET amount = 11 WHERE id = 1",  # older than the lookback: not re-read
        "INSERT INTO events VALUES (4, '2024-01-04 09:00', 40), (5, '2024-01-02 12:00', 25)",
    )
    result = run_text(PIPELINE, db, tmp_path)
    assert result.ok, result.failures
    assert [(r[0], r[2]) for r in table(db)] == [(1, 10), (2, 21), (3, 30), (4, 40), (5, 25)]
    assert str(state(db)[0][2]) == "2024-01-04 09:00:00"
    load = result.outcome("table_daily").load
    assert load is not None and (load.inserted, load.deleted) == (4, 2)


def test_macros_are_typed_and_bound_to_the_window(db: Path, tmp_path: Path) -> None:
    text = (
        "CREATE TABLE w MODE INCREMENTAL BY ts LOOKBACK '36 hours' AS\n"
        "SELECT ts, @start_dt AS s, @end_dt AS e, @start_date AS sd, @end_date AS ed\n"
        "FROM events WHERE ts BETWEEN @start_dt AND @end_dt;\n"
    )
    assert run_text(text, db, tmp_path).ok
    types = sql(db, "SELECT DISTINCT typeof(s), typeof(e), typeof(sd), typeof(ed) FROM w")
    assert types == [("TIMESTAMP", "TIMESTAMP", "DATE", "DATE")]
    assert sql(db, "SELECT DISTINCT CAST(s AS VARCHAR), CAST(sd AS VARCHAR) FROM w") == [
        ("-infinity", "-infinity")
    ]
    assert run_text(text, db, tmp_path).ok
    window = sql(
        db, "SELECT CAST(s AS VARCHAR), CAST(sd AS VARCHAR) FROM w WHERE ts > '2024-01-02'"
    )
    assert set(window) == {("2024-01-01 22:00:00", "2024-01-01")}


def test_rows_outside_the_window_are_never_written(db: Path, tmp_path: Path) -> None:
    text = (
        "CREATE TABLE daily MODE INCREMENTAL BY ts AS\n"
        "SELECT id, ts, amount FROM events WHERE ts >= @start_date;\n"
    )
    assert run_text(text, db, tmp_path).ok
    sql(db, "INSERT INTO events VALUES (9, '2999-01-01', 90), (10, NULL, 100)")
    result = run_text(text, db, tmp_path)
    assert result.ok, result.failures
    # Jan 3 was re-read from the start of its day; the future and NULL rows are not in any window.
    assert [r[0] for r in table(db)] == [1, 2, 3]


def test_incremental_with_key_merges_inside_the_window(db: Path, tmp_path: Path) -> None:
    text = (
        "CREATE TABLE latest MODE INCREMENTAL BY ts KEY (id) AS\n"
        "SELECT id, ts, amount FROM events WHERE ts BETWEEN @start_dt AND @end_dt;\n"
    )
    assert run_text(text, db, tmp_path).ok
    sql(db, "UPDATE events SET ts = '2024-01-05 00:00', amount = 33 WHERE id = 3")  # id 3 changed
    result = run_text(text, db, tmp_path)
    assert result.ok, result.failures
    assert [(r[0], r[2]) for r in table(db, "latest")] == [(1, 10), (2, 20), (3, 33)]
    load = result.outcome("table_latest").load
    assert load is not None and (load.inserted, load.updated) == (0, 1)


def test_incremental_key_duplicates_in_the_window_are_rejected(db: Path, tmp_path: Path) -> None:
    text = (
        "CREATE TABLE latest MODE INCREMENTAL BY ts KEY (id) AS\n"
        "SELECT id, ts, amount FROM events WHERE ts BETWEEN @start_dt AND @end_dt;\n"
    )
    sql(db, "INSERT INTO events VALUES (3, '2024-01-05 00:00', 33)")
    result = run_text(text, db, tmp_path)
    assert not result.ok and result.failures[0].code is Code.SOURCE_DUPLICATE_KEYS
    assert sql(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'latest'") == [(0,)]


def test_a_date_by_column_works_with_date_macros(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    sql(
        db,
        "CREATE TABLE sales AS SELECT DATE '2024-03-01' + i::INT AS day, i AS n FROM range(5) r(i)",
    )
    text = (
        "CREATE TABLE by_day MODE INCREMENTAL BY day LOOKBACK '1 day' AS\n"
        "SELECT day, sum(n) AS total FROM sales WHERE day BETWEEN @start_date AND @end_date "
        "GROUP BY day;\n"
    )
    assert run_text(text, db, tmp_path).ok
    sql(db, "INSERT INTO sales VALUES (DATE '2024-03-05', 100), (DATE '2024-03-06', 7)")
    assert run_text(text, db, tmp_path).ok
    assert table(db, "by_day")[-3:] == [
        (datetime.date(2024, 3, 4), 3),
        (datetime.date(2024, 3, 5), 104),
        (datetime.date(2024, 3, 6), 7),
    ]


def test_a_failed_incremental_run_keeps_table_and_state(db: Path, tmp_path: Path) -> None:
    assert run_text(PIPELINE, db, tmp_path).ok
    before, before_state = table(db), state(db)
    sql(
        db,
        "ALTER TABLE events ALTER COLUMN amount TYPE VARCHAR",
        "INSERT INTO events VALUES (4, '2024-01-04', 'lots')",
    )
    comp = compile_source(
        PIPELINE, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={}, database=None
    )
    result = run(comp.plan, database=str(db))
    assert not result.ok and result.failures[0].code is Code.SCHEMA_TYPE_MISMATCH
    assert table(db) == before and state(db) == before_state


def test_dropping_the_target_starts_again_from_the_beginning(db: Path, tmp_path: Path) -> None:
    assert run_text(PIPELINE, db, tmp_path).ok
    sql(db, "DROP TABLE daily")
    result = run_text(PIPELINE, db, tmp_path)
    assert result.ok, result.failures
    assert [r[0] for r in table(db)] == [1, 2, 3]


def test_the_plan_shows_the_window_statements(db: Path, tmp_path: Path) -> None:
    comp = compile_source(PIPELINE, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={})
    step = comp.plan.steps[0]
    assert isinstance(step, CreateTable) and isinstance(step.mode, Incremental)
    assert step.mode.parameters == ("end_dt", "start_dt")
    assert step.mode.lookback == "1 day" and step.mode.state_key == "daily"
    text = "\n".join(step.sql)
    assert "ts BETWEEN CAST($start_dt AS TIMESTAMP) AND CAST($end_dt AS TIMESTAMP)" in text
    assert 'DELETE FROM daily WHERE "ts" BETWEEN' in text
    assert 'INSERT OR REPLACE INTO "_sqlflow_state"' in text
    assert "@start_dt" not in text


class Recording:
    """A DuckDB connection that keeps the text of every statement it runs."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements: list[str] = []

    def execute(self, query: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        self.statements.append(query)
        return self.con.execute(query, params) if params is not None else self.con.execute(query)


def load_recorded(db: Path, tmp_path: Path, text: str) -> tuple[LoadCounts, list[str]]:
    """Run the one INCREMENTAL step of `text` as the executor does (one transaction); its
    counts and the statements it ran."""
    comp = compile_source(
        text, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={}, database=str(db)
    )
    (step,) = comp.plan.steps
    assert isinstance(step, CreateTable) and isinstance(step.mode, Incremental)
    with duckdb.connect(str(db)) as con:
        recording = Recording(con)
        con.execute("BEGIN TRANSACTION")
        counts = run_load(recording, step.target, step.mode, step.sql[0])  # type: ignore[arg-type]
        con.execute("COMMIT")
    return counts, recording.statements


def test_a_projection_of_another_table_is_inserted_without_a_copy(db: Path, tmp_path: Path) -> None:
    """Its rows go straight from the query into the table after the window's delete, as by
    hand; the counts, the rows and the high-water mark are those of the copy it replaces."""
    assert run_text(PIPELINE, db, tmp_path).ok
    sql(db, "INSERT INTO events VALUES (4, '2024-01-04 09:00', 40), (5, '2023-12-01', 5)")
    counts, statements = load_recorded(db, tmp_path, PIPELINE)
    assert not [s for s in statements if s.startswith("CREATE TEMPORARY")]
    assert (counts.inserted, counts.deleted) == (3, 2)  # Jan 2 onwards: 2 replaced, 1 new
    assert [r[0] for r in table(db)] == [1, 2, 3, 4]  # the row of December is before the window
    assert str(state(db)[0][2]) == "2024-01-04 09:00:00"
    # nothing new: the mark stays, the window's rows are written again
    counts, _ = load_recorded(db, tmp_path, PIPELINE)
    assert (counts.inserted, counts.deleted) == (2, 2)
    assert str(state(db)[0][2]) == "2024-01-04 09:00:00"


@pytest.mark.parametrize(
    "query",
    [
        # the target itself: the window's delete would change what it reads
        "SELECT id, ts, amount + 1 AS amount FROM daily WHERE ts BETWEEN @start_dt AND @end_dt",
        # a view (of the target) can hide anything
        "SELECT id, ts, amount FROM daily_view WHERE ts BETWEEN @start_dt AND @end_dt",
        # not a projection of one table
        "SELECT d.id, d.ts, d.amount + 1 AS amount FROM daily AS d JOIN events USING (id) "
        "WHERE d.ts BETWEEN @start_dt AND @end_dt",
    ],
)
def test_any_other_query_is_copied_before_the_delete(db: Path, tmp_path: Path, query: str) -> None:
    sql(
        db,
        "CREATE TABLE daily AS SELECT * FROM events",
        "CREATE VIEW daily_view AS SELECT id, ts, amount + 1 AS amount FROM daily",
    )
    text = f"CREATE TABLE daily MODE INCREMENTAL BY ts AS\n{query};\n"
    counts, statements = load_recorded(db, tmp_path, text)
    assert [s.split(" AS ")[0] for s in statements if s.startswith("CREATE TEMPORARY")] == [
        'CREATE TEMPORARY TABLE "_sqlflow_stage_table_daily"'
    ]
    assert (counts.inserted, counts.deleted) == (3, 3)  # read before the delete: all of it again
    assert [(r[0], r[2]) for r in table(db)] == [(1, 11), (2, 21), (3, 31)]
    assert str(state(db)[0][2]) == "2024-01-03 10:00:00"
