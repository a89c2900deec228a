"""MERGE's key checks and its two ways of reading the source, on real DuckDB databases.

A MERGE whose source is a projection of one table reads that table twice (its keys into a small
copy, then every column straight into the target) instead of copying every column first
(`runtime/rereadable.py`); any other source is copied. Both ways must make every check — NULL and
duplicate keys in the source, duplicate keys in the target among the rows the source touches —
and report exact counts, and a failure must leave the target as it was. Distinct keys are
counted with a bitmap for a single integer key whose values lie close together, else hashed:
both ways are tested at their edges.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import rows
from sqlflowc.api import compile_source, run
from sqlflowc.backend.plan import Merge
from sqlflowc.diagnostics import Code
from sqlflowc.runtime.executor import RunResult
from sqlflowc.runtime.load_modes import LoadCounts, LoadError, run_load
from sqlflowc.runtime.rereadable import rereadable
from sqlflowc.sqlbuild import loads as sql


def run_text(text: str, db: Path, tmp_path: Path) -> RunResult:
    plan = compile_source(text, str(tmp_path / "p.sf"), project_dir=tmp_path, environ={}).plan
    return run(plan, database=str(db))


def setup(db: Path, *statements: str) -> None:
    with duckdb.connect(str(db)) as con:
        for s in statements:
            con.execute(s)


class Recording:
    """A DuckDB connection that keeps the text of every statement it runs."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements: list[str] = []

    def execute(self, query: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        self.statements.append(query)
        return self.con.execute(query, params) if params is not None else self.con.execute(query)


def merge(
    db: Path, query: str, keys: tuple[str, ...] = ("id",), target: str = "t"
) -> tuple[LoadCounts, list[str]]:
    """Run one MERGE of `query` into `target` as the executor does (one transaction, rolled
    back on failure); its counts and the statements it ran."""
    stage = "_sqlflow_stage_test"
    mode = Merge(stage=stage, schema_policy="strict", keys=keys)
    with duckdb.connect(str(db)) as con:
        recording = Recording(con)
        con.execute("BEGIN TRANSACTION")
        try:
            counts = run_load(recording, target, mode, sql.stage_table(stage, query))  # type: ignore[arg-type]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return counts, recording.statements


def reread(statements: list[str]) -> bool:
    """Whether the merge read its source twice (a view, and a copy of its keys only) rather
    than copying it whole."""
    made = [s.split(" AS ")[0] for s in statements if s.startswith("CREATE TEMPORARY")]
    if made == ['CREATE TEMPORARY TABLE "_sqlflow_stage_test"']:
        return False
    assert made == [
        'CREATE TEMPORARY VIEW "_sqlflow_stage_test"',
        'CREATE TEMPORARY TABLE "_sqlflow_stage_test_keys"',
    ]
    return True


TARGET = "CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) v(id, name)"
SOURCE = "CREATE TABLE s AS SELECT * FROM (VALUES (3, 'C'), (4, 'd'), (5, 'e')) v(id, name)"


# ---------------------------------------------------------------------------- which sources


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM s", True),
        ("FROM s", True),
        ("SELECT id, upper(name) AS name FROM s WHERE id > 1 AND name IS NOT NULL", True),
        ("SELECT * EXCLUDE (name) REPLACE (id * 2 AS id) FROM main.s", True),
        ("SELECT id, CASE WHEN id BETWEEN 1 AND 3 THEN 'x' END AS name FROM s", True),
        ("SELECT id, name || '!' AS name, now() AS at FROM s WHERE id IN (3, 4)", True),
        ("SELECT CAST(id AS BIGINT) AS id, name FROM s", True),
        ("SELECT * FROM v(x)", False),  # a view can hide anything
        ("SELECT * FROM t", False),  # the target: the delete changes it
        ("SELECT id, name FROM t WHERE id > 1", False),
        ("SELECT id, random() AS r FROM s", False),
        ("SELECT nextval('seq') AS id, name FROM s", False),
        ("SELECT id, twice(id) AS name FROM s", False),  # a macro
        ("SELECT * FROM s LIMIT 2", False),
        ("SELECT DISTINCT * FROM s", False),
        ("SELECT * FROM s ORDER BY id", False),
        ("SELECT id, count(*) AS n FROM s GROUP BY id", False),
        ("SELECT id, row_number() OVER () AS n FROM s", False),
        ("SELECT * FROM s WHERE id IN (SELECT id FROM u)", False),
        ("SELECT * FROM s JOIN u USING (id)", False),
        ("SELECT * FROM s UNION ALL SELECT * FROM u", False),
        ("WITH x AS (SELECT * FROM s) SELECT * FROM x", False),
        ("SELECT * FROM (SELECT * FROM s) q", False),
        ("SELECT * FROM read_csv('s.csv')", False),
        ("SELECT * FROM 's.csv'", False),
        ("SELECT * FROM range(3) r(id)", False),
        ("SELECT * FROM s USING SAMPLE 50%", False),
        ("SELECT * FROM s WHERE id = $1", False),
        ("SELECT * FROM missing", False),
        ("SELECT * FROM s; SELECT 1", False),
        ("SELEC nothing", False),
    ],
)
def test_only_a_projection_of_one_table_is_read_twice(query: str, expected: bool) -> None:
    with duckdb.connect() as con:
        con.execute(TARGET)
        con.execute(SOURCE)
        con.execute("CREATE TABLE u AS SELECT * FROM s")
        con.execute("CREATE VIEW v AS SELECT * FROM s")
        con.execute("CREATE SEQUENCE seq")
        con.execute("CREATE MACRO twice(x) AS x * 2")
        assert rereadable(con, query, "t") is expected


def test_a_python_function_is_never_read_twice() -> None:
    with duckdb.connect() as con:
        con.execute(SOURCE)
        # registered as sqlflowc registers a UDF (DuckDB lists it as a built-in function)
        con.create_function("python_udfs.m.shout", lambda s: s.upper(), ["VARCHAR"], "VARCHAR")
        assert not rereadable(con, 'SELECT id, "python_udfs.m.shout"(name) AS name FROM s', "t")
        assert rereadable(con, "SELECT id, upper(name) AS name FROM s", "t")


def test_a_view_shadowing_a_table_name_in_another_schema_keeps_the_copy() -> None:
    with duckdb.connect() as con:
        con.execute(SOURCE)
        con.execute("CREATE SCHEMA other")
        con.execute("CREATE VIEW other.s AS SELECT 1 AS id")
        assert not rereadable(con, "SELECT * FROM s", "t")
        assert not rereadable(con, "SELECT * FROM s", "other.S")


def test_parameters_are_allowed_only_when_asked_for() -> None:
    """INCREMENTAL's query has the window's parameters: one value each for the statement."""
    query = "SELECT id, name FROM s WHERE id BETWEEN CAST($lo AS INTEGER) AND $hi"
    with duckdb.connect() as con:
        con.execute(SOURCE)
        assert not rereadable(con, query, "t")
        assert rereadable(con, query, "t", parameters=True)
        assert not rereadable(con, query.replace("FROM s", "FROM t"), "t", parameters=True)
        unstable = "SELECT id, random() AS r FROM s WHERE id > $lo"
        assert not rereadable(con, unstable, "t", parameters=True)


def test_incremental_query_gives_back_exactly_what_was_staged() -> None:
    query = "SELECT * FROM s -- a comment\nWHERE x > 1"
    staged = sql.incremental_stage("st", query, "ts")
    assert sql.incremental_query(staged, "st", "ts") == query
    assert sql.incremental_query(staged, "other", "ts") is None
    assert sql.incremental_query(staged, "st", "other") is None
    assert sql.incremental_query(sql.stage_table("st", query), "st", "ts") is None


def test_staged_query_gives_back_exactly_what_was_staged() -> None:
    query = "SELECT * FROM s -- a comment"
    assert sql.staged_query(sql.stage_table("st", query), "st") == query
    assert sql.staged_query(sql.stage_table("st", query), "other") is None
    assert sql.staged_query(sql.stage_view("st", query), "st") is None


# ---------------------------------------------------------------------------- both ways


SOURCES = {
    "read twice": "SELECT * FROM s",
    "copied": "SELECT * FROM (SELECT * FROM s) AS q",
}


@pytest.mark.parametrize("way", list(SOURCES))
def test_merge_counts_exactly_either_way(tmp_path: Path, way: str) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, TARGET, SOURCE)
    counts, statements = merge(db, SOURCES[way])
    assert reread(statements) is (way == "read twice")
    assert (counts.inserted, counts.updated) == (2, 1)
    assert rows(db, "SELECT * FROM t ORDER BY id") == [
        (1, "a"),
        (2, "b"),
        (3, "C"),
        (4, "d"),
        (5, "e"),
    ]
    assert rows(db, "SELECT count(*) FROM duckdb_tables() WHERE temporary") == [(0,)]
    assert rows(db, "SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal") == [
        (0,)
    ]


@pytest.mark.parametrize("way", list(SOURCES))
@pytest.mark.parametrize(
    ("bad", "code", "shown"),
    [
        (
            "INSERT INTO s VALUES (4, 'again'), (4, 'thrice')",
            Code.SOURCE_DUPLICATE_KEYS,
            "4 (3 rows)",
        ),
        ("INSERT INTO s VALUES (NULL, 'no key')", Code.SOURCE_NULL_KEYS, "NULL"),
        ("INSERT INTO t VALUES (3, 'c twice')", Code.TARGET_DUPLICATE_KEYS, "3 (2 rows)"),
    ],
)
def test_every_key_check_is_made_either_way_and_nothing_is_written(
    tmp_path: Path, way: str, bad: str, code: Code, shown: str
) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, TARGET, SOURCE, bad)
    before = rows(db, "SELECT * FROM t ORDER BY ALL")
    with pytest.raises(LoadError) as caught:
        merge(db, SOURCES[way])
    assert caught.value.code is code and shown in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert rows(db, "SELECT * FROM t ORDER BY ALL") == before
    assert rows(db, "SELECT count(*) FROM duckdb_tables() WHERE temporary") == [(0,)]


def test_duplicate_target_keys_the_source_does_not_touch_are_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, TARGET, SOURCE, "INSERT INTO t VALUES (1, 'a twice')")
    counts, statements = merge(db, "SELECT * FROM s")
    assert reread(statements)
    assert (counts.inserted, counts.updated) == (2, 1)
    assert rows(db, "SELECT id, count(*) FROM t GROUP BY id ORDER BY id") == [
        (1, 2),
        (2, 1),
        (3, 1),
        (4, 1),
        (5, 1),
    ]


def test_a_merge_of_a_table_into_itself_reads_a_copy(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, TARGET)
    counts, statements = merge(db, "SELECT id, upper(name) AS name FROM t WHERE id > 1")
    assert not reread(statements)
    assert (counts.inserted, counts.updated) == (0, 2)
    assert rows(db, "SELECT * FROM t ORDER BY id") == [(1, "a"), (2, "B"), (3, "C")]


def test_a_source_lacking_target_columns_is_merged_in_place_when_read_twice(
    tmp_path: Path,
) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, TARGET, "ALTER TABLE t ADD COLUMN qty INTEGER DEFAULT 7", SOURCE)
    counts, statements = merge(db, "SELECT id, name FROM s")
    assert reread(statements) and any(s.startswith("MERGE INTO") for s in statements)
    assert (counts.inserted, counts.updated) == (2, 1)
    assert rows(db, "SELECT * FROM t ORDER BY id") == [
        (1, "a", 7),
        (2, "b", 7),
        (3, "C", 7),
        (4, "d", 7),
        (5, "e", 7),
    ]


def test_a_missing_target_is_created_from_a_source_read_twice(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, SOURCE)
    counts, statements = merge(db, "SELECT * FROM s", target="fresh")
    assert reread(statements) and counts.created and (counts.inserted, counts.updated) == (3, 0)
    assert rows(db, "SELECT * FROM fresh ORDER BY id") == [(3, "C"), (4, "d"), (5, "e")]


def test_composite_and_text_keys_read_twice(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(
        db,
        "CREATE TABLE t AS SELECT * FROM (VALUES (1, 'x', 1), (1, 'y', 2)) v(a, b, n)",
        "CREATE TABLE s AS SELECT * FROM (VALUES (1, 'y', 20), (2, 'y', 30)) v(a, b, n)",
        "CREATE TABLE words AS SELECT 'w' || i AS word, i AS n FROM range(5) r(i)",
        "CREATE TABLE w AS SELECT * FROM words WHERE n < 2",
    )
    counts, statements = merge(db, "SELECT * FROM s", keys=("a", "b"))
    assert reread(statements) and (counts.inserted, counts.updated) == (1, 1)
    counts, _ = merge(db, "SELECT * FROM words", keys=("word",), target="w")
    assert (counts.inserted, counts.updated) == (3, 2)
    setup(db, "INSERT INTO s VALUES (2, 'y', 31)", "INSERT INTO words VALUES ('w4', 9)")
    with pytest.raises(LoadError, match=r"\(2, 'y'\) \(2 rows\)"):
        merge(db, "SELECT * FROM s", keys=("a", "b"))
    with pytest.raises(LoadError, match=r"'w4' \(2 rows\)"):
        merge(db, "SELECT * FROM words", keys=("word",), target="w")


# ---------------------------------------------------------------------------- distinct keys


@pytest.mark.parametrize(
    ("kind", "values", "bitmap"),
    [
        ("BIGINT", "range(1000) r(x)", True),
        ("INTEGER", "range(-500, 500) r(x)", True),
        ("TINYINT", "range(-128, 128) r(x)", True),
        ("UBIGINT", "(VALUES (0), (9223372036854775807), (18446744073709551615)) v(x)", False),
        ("BIGINT", "(VALUES (-9223372036854775808), (0), (9223372036854775807)) v(x)", False),
        ("BIGINT", "(VALUES (-3), (0), (1048570)) v(x)", True),  # close enough together
        ("HUGEINT", "range(1000) r(x)", False),
        ("DECIMAL(10, 2)", "range(1000) r(x)", False),
    ],
)
def test_duplicate_integer_keys_are_found_with_or_without_a_bitmap(
    tmp_path: Path, kind: str, values: str, bitmap: bool
) -> None:
    db = tmp_path / "db.duckdb"
    setup(
        db,
        f"CREATE TABLE t (id {kind}, v INTEGER)",
        f"CREATE TABLE s AS SELECT CAST(x AS {kind}) AS id, 1 AS v FROM {values}",
    )
    counts, statements = merge(db, "SELECT * FROM s")
    used_bitmap = any("BITSTRING_AGG" in s for s in statements)
    assert used_bitmap is bitmap
    loaded = rows(db, "SELECT count(*) FROM s")[0][0]
    assert (counts.inserted, counts.updated) == (loaded, 0)
    counts, _ = merge(db, "SELECT * FROM s")  # every key matches now
    assert (counts.inserted, counts.updated) == (0, loaded)
    # the largest key twice: a duplicate at the bitmap's last bit
    setup(db, "INSERT INTO s SELECT max(id), 2 FROM s")
    with pytest.raises(LoadError) as caught:
        merge(db, "SELECT * FROM s")
    assert caught.value.code is Code.SOURCE_DUPLICATE_KEYS and "(2 rows)" in str(caught.value)
    # and the smallest key twice in the target: a duplicate among the touched target rows
    setup(db, "DELETE FROM s WHERE v = 2", "INSERT INTO t SELECT min(id), 3 FROM t")
    with pytest.raises(LoadError) as caught:
        merge(db, "SELECT * FROM s")
    assert caught.value.code is Code.TARGET_DUPLICATE_KEYS and "(2 rows)" in str(caught.value)


def test_an_empty_source_merges_nothing(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, TARGET, "CREATE TABLE s AS SELECT * FROM t LIMIT 0")
    counts, _ = merge(db, "SELECT * FROM s")
    assert (counts.inserted, counts.updated) == (0, 0)
    assert rows(db, "SELECT count(*) FROM t") == [(3,)]


# ---------------------------------------------------------------------------- end to end


def test_a_pipeline_merge_from_a_table_counts_and_checks_like_any_other(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    setup(db, TARGET, SOURCE)
    text = "CREATE TABLE t MODE MERGE KEY (id) AS SELECT * FROM s;\n"
    result = run_text(text, db, tmp_path)
    assert result.ok, result.failures
    load = result.outcome("table_t").load
    assert load is not None and (load.inserted, load.updated) == (2, 1)
    setup(db, "INSERT INTO s VALUES (5, 'again')")
    result = run_text(text, db, tmp_path)
    assert not result.ok and result.failures[0].code is Code.SOURCE_DUPLICATE_KEYS
    assert rows(db, "SELECT count(*) FROM t") == [(5,)]
