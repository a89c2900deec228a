"""Every load is one transaction: a load that fails midway, or a process killed during a large
MERGE, leaves the target (and the incremental state) exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import sql
from sqlflowc.api import compile_source, run
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.executor import RunResult


def snapshot(db: Path, table: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The table's rows (sorted) and its columns with types and constraints."""
    return (
        sql(db, f"SELECT * FROM {table} ORDER BY ALL"),
        sql(
            db,
            "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
            f"WHERE table_name = '{table}' ORDER BY column_index",
        ),
    )


def run_text(text: str, db: Path, tmp_path: Path, **kwargs: Any) -> RunResult:
    comp = compile_source(
        text,
        str(tmp_path / "p.sf"),
        project_dir=tmp_path,
        environ={},
        database=str(tmp_path / "not-this.duckdb"),  # compile-time checks must not catch it
        **kwargs,
    )
    return run(comp.plan, database=str(db))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "db.duckdb"
    sql(
        path,
        "CREATE TABLE t (id INTEGER, name VARCHAR NOT NULL, qty INTEGER CHECK (qty >= 0))",
        "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)",
    )
    return path


@pytest.mark.parametrize(
    ("pipeline", "policy", "code"),
    [
        # the DELETE of ids 1 and 2 has run when the INSERT breaks the CHECK constraint
        (
            "CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM "
            "(VALUES (1, 'x', 5), (2, 'y', -1), (9, 'z', 9)) v(id, name, qty);",
            "strict",
            Code.STEP_FAILED,
        ),
        # MERGE INTO (the source lacks `qty`) breaks NOT NULL on an inserted row
        (
            "CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM "
            "(VALUES (1, 'x'), (8, NULL)) v(id, name);",
            "strict",
            Code.STEP_FAILED,
        ),
        # evolve has added a column and widened another when the insert fails
        (
            "CREATE TABLE t MODE APPEND AS SELECT 7::BIGINT AS id, 'n' AS name, -5 AS qty, "
            "'new' AS note;",
            "evolve",
            Code.STEP_FAILED,
        ),
        (
            "CREATE TABLE t MODE MERGE KEY (id) AS SELECT 1 AS id UNION ALL SELECT 1;",
            "strict",
            Code.SOURCE_DUPLICATE_KEYS,
        ),
        (
            "CREATE TABLE t MODE APPEND AS SELECT 1 AS id, 'x' AS name, 'many' AS qty;",
            "strict",
            Code.SCHEMA_TYPE_MISMATCH,
        ),
    ],
)
def test_a_load_failing_midway_leaves_the_table_as_it_was(
    db: Path, tmp_path: Path, pipeline: str, policy: str, code: Code
) -> None:
    before = snapshot(db, "t")
    result = run_text(pipeline + "\n", db, tmp_path, schema_policy=policy)
    assert not result.ok and result.failures[0].code is code, result.failures
    assert snapshot(db, "t") == before
    assert sql(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_sqlflow%'") == [
        (0,)
    ]


def test_a_failed_incremental_load_keeps_rows_and_high_water_mark(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    sql(
        db,
        "CREATE TABLE events AS SELECT i AS id, TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS ts, "
        "i AS qty FROM range(48) r(i)",
    )
    text = (
        "CREATE TABLE hourly MODE INCREMENTAL BY ts LOOKBACK '6 hours' AS "
        "SELECT * FROM events WHERE ts BETWEEN @start_dt AND @end_dt;\n"
    )
    assert run_text(text, db, tmp_path).ok
    # DuckDB cannot add a CHECK to a table: rebuild it with one.
    sql(
        db,
        "CREATE TABLE hourly2 (id BIGINT, ts TIMESTAMP, qty BIGINT CHECK (qty >= 0))",
        "INSERT INTO hourly2 SELECT * FROM hourly",
        "DROP TABLE hourly",
        "ALTER TABLE hourly2 RENAME TO hourly",
        "UPDATE events SET qty = -1 WHERE id = 47",  # inside the lookback: re-read, then rejected
    )
    before, state = snapshot(db, "hourly"), sql(db, "SELECT * FROM _sqlflow_state")
    result = run_text(text, db, tmp_path)
    assert not result.ok
    assert snapshot(db, "hourly") == before
    assert sql(db, "SELECT * FROM _sqlflow_state") == state


_KILL_ROWS = 4_000_000


@pytest.mark.slow
def test_killing_the_process_during_a_large_merge_leaves_the_old_table(tmp_path: Path) -> None:
    db = tmp_path / "target" / "sqlflow.duckdb"
    db.parent.mkdir()
    sql(
        db,
        "CREATE TABLE t AS SELECT i AS id, i * 2 AS v, 'old ' || i AS note "
        f"FROM range({_KILL_ROWS}) r(i)",
        f"CREATE TABLE src AS SELECT i + {_KILL_ROWS // 2} AS id, i * 3 AS v, 'new ' || i AS note "
        f"FROM range({_KILL_ROWS}) r(i)",
        "CHECKPOINT",
    )
    fingerprint = "SELECT count(*), sum(id), sum(v), sum(hash(note)) FROM t"
    before = sql(db, fingerprint)
    (tmp_path / "p.sf").write_text(
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM src;\n", encoding="utf-8"
    )
    sqlflowc = Path(sys.executable).parent / "sqlflowc"
    proc = subprocess.Popen(
        [str(sqlflowc), "run", str(tmp_path / "p.sf"), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("running "), first + (proc.stderr.read() if proc.stderr else "")
    time.sleep(0.7)  # the step (staging 4M rows, checks, delete, insert) takes well over that
    assert proc.poll() is None, "the MERGE finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rest = proc.stdout.read()
    assert "table_t" not in rest  # no step line: it was killed mid-step
    assert sql(db, fingerprint) == before
    assert sql(db, "SELECT count(*) FROM t WHERE note LIKE 'new%'") == [(0,)]
    # and the database is healthy: the same MERGE now runs to the end
    result = run(
        compile_source(
            (tmp_path / "p.sf").read_text(), str(tmp_path / "p.sf"), project_dir=tmp_path
        ).plan,
        database=str(db),
    )
    assert result.ok, result.failures
    load = result.outcome("table_t").load
    assert load is not None and (load.inserted, load.updated) == (_KILL_ROWS // 2, _KILL_ROWS // 2)
