"""APPEND and MERGE end to end on a real DuckDB file: by-name inserts, keys, counts, schemas.

Each test compiles a pipeline and runs it with the executor; checks made at run time are tested
on plans compiled before the database had the table (so the compile-time check could not see
it), which is what a plan compiled ahead of a run meets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import rows
from sqlflowc.api import compile_source, run
from sqlflowc.backend.plan import Plan
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.executor import RunEvent, RunResult, StepStatus, format_event


def plan_of(text: str, tmp_path: Path, **kwargs: Any) -> Plan:
    return compile_source(
        text, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={}, **kwargs
    ).plan


def run_text(text: str, db: Path, tmp_path: Path, **kwargs: Any) -> RunResult:
    return run(plan_of(text, tmp_path, **kwargs), database=str(db))


def setup(db: Path, *statements: str) -> None:
    con = duckdb.connect(str(db))
    try:
        for s in statements:
            con.execute(s)
    finally:
        con.close()


def failure(result: RunResult) -> tuple[Code, str, str]:
    assert not result.ok
    f = result.failures[0]
    return f.code, f.message, f.help


# ---------------------------------------------------------------------------- APPEND


def test_append_matches_columns_by_name_never_by_position(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    result = run_text(
        "CREATE TABLE t AS SELECT 1 AS id, 'a' AS name, 10 AS qty;\n"
        "CREATE TABLE t MODE APPEND AS SELECT 20 AS qty, 'b' AS name, 2 AS id;\n"
        "CREATE TABLE t MODE APPEND AS SELECT 3 AS id;\n",  # missing nullable columns: NULL
        db,
        tmp_path,
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT * FROM t ORDER BY id") == [
        (1, "a", 10),
        (2, "b", 20),
        (3, None, None),
    ]
    assert result.outcome("table_t_2").rows == 1
    assert result.outcome("table_t_2").load is not None


def test_append_creates_a_missing_target_and_reruns_add_rows(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    text = "CREATE TABLE t MODE APPEND AS SELECT * FROM range(3) r(i);\n"
    for n in (3, 6):
        assert run_text(text, db, tmp_path).ok
        assert rows(db, "SELECT count(*) FROM t") == [(n,)]


def test_append_safe_widening_is_accepted(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, "CREATE TABLE t (id BIGINT, amount DECIMAL(18, 4), ts TIMESTAMP, x DOUBLE)")
    result = run_text(
        "CREATE TABLE t MODE APPEND AS SELECT 1::INTEGER AS id, 2.5::DECIMAL(9, 2) AS amount, "
        "DATE '2024-01-02' AS ts, 1.5::FLOAT AS x;\n",
        db,
        tmp_path,
        database=str(tmp_path / "elsewhere.duckdb"),
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT typeof(id), typeof(amount), CAST(ts AS VARCHAR) FROM t") == [
        ("BIGINT", "DECIMAL(18,4)", "2024-01-02 00:00:00")
    ]


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        ("SELECT 1 AS id, 'x' AS note", Code.SCHEMA_EXTRA_COLUMN, ["`note`", "VARCHAR", "evolve"]),
        ("SELECT 'one' AS id", Code.SCHEMA_TYPE_MISMATCH, ["`id`", "INTEGER", "VARCHAR", "CAST"]),
        ("SELECT 1::BIGINT AS id", Code.SCHEMA_NARROWING, ["`id`", "INTEGER", "BIGINT", "evolve"]),
        ("SELECT 'x' AS note2", Code.SCHEMA_MISSING_COLUMN, ["`id`", "NOT NULL"]),
    ],
)
def test_append_schema_problems_at_run_time_write_nothing(
    tmp_path: Path, query: str, code: Code, words: list[str]
) -> None:
    db = tmp_path / "db.duckdb"
    setup(
        db, "CREATE TABLE t (id INTEGER NOT NULL, note2 VARCHAR)", "INSERT INTO t VALUES (7, 'k')"
    )
    result = run_text(
        f"CREATE TABLE t MODE APPEND AS {query};\n",
        db,
        tmp_path,
        database=str(tmp_path / "elsewhere.duckdb"),
    )
    got, message, help = failure(result)
    assert got is code
    assert "`t`" in message and "nothing was written" in message
    for word in words:
        assert word in message + help
    assert rows(db, "SELECT * FROM t") == [(7, "k")]
    assert rows(db, "SELECT count(*) FROM duckdb_columns() WHERE table_name = 't'") == [(2,)]


def test_append_evolve_adds_and_widens_columns(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, "CREATE TABLE t (id INTEGER, v SMALLINT)", "INSERT INTO t VALUES (1, 5)")
    events: list[RunEvent] = []
    plan = plan_of(
        "CREATE TABLE t MODE APPEND AS SELECT 2::BIGINT AS id, 'n' AS note, 70000 AS v;\n",
        tmp_path,
        schema_policy="evolve",
    )
    result = run(plan, database=str(db), events=events.append)
    assert result.ok, result.failures
    assert rows(db, "SELECT id, v, note FROM t ORDER BY id") == [(1, 5, None), (2, 70000, "n")]
    assert rows(db, "SELECT typeof(id), typeof(v) FROM t LIMIT 1") == [("BIGINT", "INTEGER")]
    line = format_event(events[-1], ascii_only=True)
    assert "added column `note` VARCHAR" in line and "widened `id` to BIGINT" in line


def test_append_into_a_view_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, "CREATE VIEW v AS SELECT 1 AS id")
    result = run_text(
        "CREATE TABLE v MODE APPEND AS SELECT 2 AS id;\n",
        db,
        tmp_path,
        database=str(tmp_path / "elsewhere.duckdb"),
    )
    assert failure(result)[0] is Code.TARGET_NOT_A_TABLE


# ---------------------------------------------------------------------------- MERGE


MERGE_SETUP = (
    "CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30)) "
    "v(id, name, qty);\n"
)


@pytest.mark.parametrize(
    "clause",
    [
        "MERGE KEY (id)",
        "UPSERT KEY (id)",
        "UPSERT KEY id",
        "MERGE MERGE_KEYS (id)",
        "MERGE MERGE_KEYS id",
    ],
)
def test_merge_every_spelling_updates_and_inserts_with_exact_counts(
    tmp_path: Path, clause: str
) -> None:
    db = tmp_path / "db.duckdb"
    events: list[RunEvent] = []
    plan = plan_of(
        MERGE_SETUP + f"CREATE TABLE t MODE {clause} AS SELECT * FROM "
        "(VALUES (2, 'B', 21), (4, 'd', 40), (5, 'e', 50)) v(id, name, qty);\n",
        tmp_path,
    )
    result = run(plan, database=str(db), events=events.append)
    assert result.ok, result.failures
    assert rows(db, "SELECT * FROM t ORDER BY id") == [
        (1, "a", 10),
        (2, "B", 21),
        (3, "c", 30),
        (4, "d", 40),
        (5, "e", 50),
    ]
    load = result.outcome("table_t_2").load
    assert load is not None and (load.inserted, load.updated) == (2, 1)
    assert "(inserted 2, updated 1)" in format_event(events[-1], ascii_only=True)


def test_merge_on_composite_keys_matches_all_columns_together(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    result = run_text(
        "CREATE TABLE t AS SELECT * FROM (VALUES (1, 'x', 1), (1, 'y', 2), (2, 'x', 3)) "
        "v(a, b, v);\n"
        "CREATE TABLE t MODE MERGE KEY (a, b) AS SELECT * FROM "
        "(VALUES (1, 'y', 20), (2, 'y', 40), (2, 'x', 30)) v(a, b, v);\n",
        db,
        tmp_path,
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT * FROM t ORDER BY a, b") == [
        (1, "x", 1),
        (1, "y", 20),
        (2, "x", 30),
        (2, "y", 40),
    ]
    load = result.outcome("table_t_2").load
    assert load is not None and (load.inserted, load.updated) == (1, 2)


def test_merge_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    text = "CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM range(4) r(id);\n"
    assert run_text(text, db, tmp_path).ok
    second = run_text(text, db, tmp_path)
    assert second.ok
    load = second.outcome("table_t").load
    assert load is not None and (load.inserted, load.updated) == (0, 4)
    assert rows(db, "SELECT count(*), count(DISTINCT id) FROM t") == [(4, 4)]


def test_merge_when_the_source_lacks_target_columns_keeps_them(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(
        db,
        "CREATE TABLE t (id INTEGER, name VARCHAR, qty INTEGER DEFAULT 0)",
        "INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20)",
    )
    result = run_text(
        "CREATE TABLE t MODE MERGE KEY (id) AS "
        "SELECT * FROM (VALUES (2, 'B'), (3, 'c')) v(id, name);\n",
        db,
        tmp_path,
        database=str(tmp_path / "elsewhere.duckdb"),
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT * FROM t ORDER BY id") == [(1, "a", 10), (2, "B", 20), (3, "c", 0)]
    load = result.outcome("table_t").load
    assert load is not None and (load.inserted, load.updated) == (1, 1)


def test_merge_of_key_columns_only_inserts_the_new_keys(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    result = run_text(
        "CREATE TABLE t AS SELECT 1 AS id, 'a' AS name;\n"
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM (VALUES (1), (2)) v(id);\n",
        db,
        tmp_path,
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT * FROM t ORDER BY id") == [(1, "a"), (2, None)]


@pytest.mark.parametrize(
    ("source", "code", "shown"),
    [
        (
            "(VALUES (1, 'x'), (NULL, 'y'), (3, 'z')) v(id, name)",
            Code.SOURCE_NULL_KEYS,
            ["NULL"],
        ),
        (
            "(VALUES (1, 'x'), (1, 'y'), (2, 'z'), (2, 'w'), (2, 'q')) v(id, name)",
            Code.SOURCE_DUPLICATE_KEYS,
            ["1 (2 rows)", "2 (3 rows)"],
        ),
    ],
)
def test_merge_rejects_bad_source_keys_before_writing(
    tmp_path: Path, source: str, code: Code, shown: list[str]
) -> None:
    db = tmp_path / "db.duckdb"
    assert run_text(MERGE_SETUP, db, tmp_path).ok
    before = rows(db, "SELECT * FROM t ORDER BY id")
    result = run_text(
        f"CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM {source};\n", db, tmp_path
    )
    got, message, help = failure(result)
    assert got is code
    for text in shown:
        assert text in message
    assert "nothing was written" in message and help
    assert rows(db, "SELECT * FROM t ORDER BY id") == before


def test_merge_shows_at_most_five_duplicate_keys_of_a_composite_key(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    result = run_text(
        "CREATE TABLE t MODE MERGE KEY (a, b) AS "
        "SELECT i % 7 AS a, 'k' || (i % 7) AS b FROM range(30) r(i);\n",
        db,
        tmp_path,
    )
    code, message, _ = failure(result)
    assert code is Code.SOURCE_DUPLICATE_KEYS
    assert message.count(" rows)") == 5 and "(0, 'k0') (5 rows)" in message
    assert "(first 5)" in message
    assert rows(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'") == [(0,)]


def test_merge_into_a_target_with_duplicate_keys_fails_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, "CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (1, 'a2'), (2, 'b')) v(id, name)")
    result = run_text(
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT 1 AS id, 'new' AS name;\n", db, tmp_path
    )
    code, message, help = failure(result)
    assert code is Code.TARGET_DUPLICATE_KEYS and "1 (2 rows)" in message and "`t`" in help
    assert rows(db, "SELECT * FROM t ORDER BY id, name") == [(1, "a"), (1, "a2"), (2, "b")]


def test_merge_key_missing_from_the_target_is_a_run_time_error(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, "CREATE TABLE t (id INTEGER, name VARCHAR)")
    result = run_text(
        "CREATE TABLE t MODE MERGE KEY (id, code) AS SELECT 1 AS id, 'x' AS code;\n",
        db,
        tmp_path,
        database=str(tmp_path / "elsewhere.duckdb"),
    )
    code, message, help = failure(result)
    assert code is Code.KEY_COLUMN_MISSING and "`code`" in message and "table `t`" in message
    assert "`id`, `name`" in help


def test_merge_key_types_must_be_compatible(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, "CREATE TABLE t (id INTEGER, name VARCHAR)")
    result = run_text(
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT 'one' AS id, 'x' AS name;\n",
        db,
        tmp_path,
        database=str(tmp_path / "elsewhere.duckdb"),
    )
    assert failure(result)[0] is Code.SCHEMA_TYPE_MISMATCH


def test_load_from_a_source_merges_by_key(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("id,name\n1,Ann\n2,Bob\n", encoding="utf-8")
    db = tmp_path / "db.duckdb"
    text = (
        'SOURCE people_csv TYPE CSV PARAMS {"path": "people.csv"};\n'
        "LOAD people FROM people_csv MODE UPSERT KEY id;\n"
    )
    assert run_text(text, db, tmp_path).ok
    (tmp_path / "people.csv").write_text("id,name\n2,Bobby\n3,Cy\n", encoding="utf-8")
    result = run_text(text, db, tmp_path)
    assert result.ok, result.failures
    assert rows(db, "SELECT * FROM people ORDER BY id") == [(1, "Ann"), (2, "Bobby"), (3, "Cy")]
    load = result.outcome("load_people").load
    assert load is not None and (load.inserted, load.updated) == (1, 1)


def test_a_load_step_never_adds_constraints_to_its_target(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    assert run_text(
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM range(3) r(id);\n", db, tmp_path
    ).ok
    assert rows(db, "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 't'") == [(0,)]
    assert rows(db, "SELECT count(*) FROM duckdb_tables() WHERE temporary") == [(0,)]


def test_outcome_of_a_failed_load_step_is_skipped_downstream(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    result = run_text(
        "CREATE TABLE t MODE MERGE KEY (id) AS SELECT 1 AS id UNION ALL SELECT 1;\n"
        "CREATE TABLE u AS SELECT * FROM t;\n",
        db,
        tmp_path,
    )
    assert result.outcome("table_u").status is StepStatus.SKIPPED


def test_merge_into_a_table_a_foreign_key_references_updates_in_place(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(
        db,
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR)",
        "INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob')",
        "CREATE TABLE orders (order_id INTEGER, customer_id INTEGER REFERENCES customers(id))",
        "INSERT INTO orders VALUES (10, 1)",
    )
    result = run_text(
        "CREATE TABLE customers MODE MERGE KEY (id) AS "
        "SELECT * FROM (VALUES (1, 'Annie'), (3, 'Cy')) v(id, name);\n",
        db,
        tmp_path,
    )
    assert result.ok, result.failures
    assert rows(db, "SELECT * FROM customers ORDER BY id") == [(1, "Annie"), (2, "Bob"), (3, "Cy")]
    load = result.outcome("table_customers").load
    assert load is not None and (load.inserted, load.updated) == (1, 1)
