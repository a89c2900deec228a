"""A merge export's key check (connectors/postgres/merge_keys.py, merge.py) against the real
server: DuckDB hashes the keys where both sides compare them alike, PostgreSQL checks the rest;
NULL and duplicate keys are refused whichever finds them, a shared hash is no duplicate, and a
refused merge leaves the target as it was."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from pgserver import PgDatabase
from psycopg import sql
from test_postgres_pipelines import pipeline, project, run  # noqa: F401 - the fixture
from test_postgres_write import _target, _write

from sqlflowc.connectors.postgres import merge_keys
from sqlflowc.connectors.postgres.catalog import copy_columns, table_columns
from sqlflowc.connectors.postgres.merge import merge_staged
from sqlflowc.connectors.postgres.merge_keys import KeyHashes, hashable
from sqlflowc.connectors.postgres.params import SourceParams
from sqlflowc.connectors.postgres.session import connection, target_of
from sqlflowc.connectors.postgres.write import WriteRefused, WriteSpec, _map, _staging


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("bigint", "1::INTEGER", True),
        ("integer", "1::UTINYINT", True),
        ("numeric", "1::BIGINT", True),
        ("numeric(12,2)", "1.5::DECIMAL(12,2)", True),
        ("numeric(12,3)", "1.5::DECIMAL(10,2)", True),
        ("numeric(12,1)", "1.5::DECIMAL(12,2)", False),  # rounds: 1.51 and 1.52 collide
        ("integer", "1.5::DECIMAL(12,2)", False),
        ("text", "'a'", True),
        ("varchar", "'a'", True),
        ("varchar(3)", "'a'", False),  # 'abc ' and 'abc  ' both become 'abc'
        ("char(3)", "'a'", False),  # trailing spaces do not count
        ('text COLLATE "ci"', "'a'", False),  # 'A' = 'a'
        ("date", "DATE '2024-01-01'", True),
        ("timestamp", "TIMESTAMP '2024-01-01'", True),
        ("timestamp(0)", "TIMESTAMP '2024-01-01'", False),  # rounds to the second
        ("timestamptz", "TIMESTAMPTZ '2024-01-01 00:00:00+00'", True),
        ("uuid", "uuid()", True),
        ("boolean", "true", True),
        ("double precision", "1.5::DOUBLE", False),  # -0 = 0
        ("jsonb", "'{}'::JSON", False),
        ("positive", "1::INTEGER", False),  # a domain
    ],
)
def test_keys_are_hashed_only_where_both_sides_compare_them_alike(
    pg_db: PgDatabase, column: str, value: str, expected: bool
) -> None:
    pg_db.run(
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
        "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)",
        f"CREATE TABLE t (k {column}, v int)",
    )
    transfers = _map(duckdb.connect(), f"SELECT {value} AS k, 1 AS v")
    spec = WriteSpec(target=_target(), mode="merge", keys=("k",))
    params = SourceParams(dsn=pg_db.dsn, table="unused")
    with connection(params, target_of(params)) as conn, conn.transaction():
        staging = _staging(conn, spec, transfers)
        columns = copy_columns(conn, f"pg_temp.{staging}")
        assert hashable(columns, ["k"], transfers) is expected


@pytest.mark.parametrize(
    ("column", "query", "shown"),
    [
        ("char(3)", "SELECT * FROM (VALUES ('a', 1), ('a ', 2)) v(k, v)", "'a  ' (2 rows)"),
        ("varchar(1)", "SELECT * FROM (VALUES ('a', 1), ('a  ', 2)) v(k, v)", "'a' (2 rows)"),
        (
            "timestamp(0)",
            "SELECT * FROM (VALUES (TIMESTAMP '2024-01-01 00:00:00.1', 1), "
            "(TIMESTAMP '2024-01-01 00:00:00.2', 2)) v(k, v)",
            "2024-01-01 00:00:00 (2 rows)",
        ),
    ],
)
def test_keys_equal_only_in_postgres_are_refused(
    pg_db: PgDatabase, column: str, query: str, shown: str
) -> None:
    """Distinct in DuckDB, equal once in the target's column type: PostgreSQL checks them."""
    kept = "'2024-01-02'" if column.startswith("timestamp") else "'z'"
    pg_db.run(f"CREATE TABLE t (k {column}, v int)", f"INSERT INTO t VALUES ({kept}, 0)")
    before = pg_db.rows("SELECT k::text, v FROM t")
    with pytest.raises(WriteRefused) as caught:
        _write(
            pg_db, duckdb.connect(), query, WriteSpec(target=_target(), mode="merge", keys=("k",))
        )
    assert "duplicate keys (k)" in caught.value.message and shown in caught.value.message
    assert pg_db.rows("SELECT k::text, v FROM t") == before


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        # both rows match a row of the target: PostgreSQL's MERGE would fail on its own
        ("('eu', DATE '2024-01-01', 1), ('eu', DATE '2024-01-01', 2)", ["('eu', 2024-01-01)"]),
        # both rows are new: PostgreSQL's MERGE would insert both
        ("('us', DATE '2024-01-09', 1), ('us', DATE '2024-01-09', 2)", ["('us', 2024-01-09)"]),
        (
            "('eu', NULL, 1), ('us', DATE '2024-01-02', 2)",
            ["NULL key (region, day)", "('eu', NULL)"],
        ),
    ],
)
def test_null_and_duplicate_keys_are_refused_and_the_target_kept(
    pg_db: PgDatabase, rows: str, words: list[str]
) -> None:
    pg_db.run(
        "CREATE TABLE t (region text, day date, v int)",
        "INSERT INTO t VALUES ('eu', '2024-01-01', 0), ('us', '2024-01-02', 0)",
    )
    query = f"SELECT * FROM (VALUES {rows}, ('eu', DATE '2024-01-05', 3)) r(region, day, v)"
    spec = WriteSpec(target=_target(), mode="merge", keys=("region", "day"))
    with pytest.raises(WriteRefused) as caught:
        _write(pg_db, duckdb.connect(), query, spec)
    for word in words:
        assert word in caught.value.message
    assert pg_db.rows("SELECT region, day::text, v FROM t ORDER BY 1") == [
        ("eu", "2024-01-01", 0),
        ("us", "2024-01-02", 0),
    ]


def test_keys_past_the_hash_budget_are_checked_by_postgres(
    pg_db: PgDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(merge_keys, "HASHED_ROWS_MAX", 3)
    pg_db.run("CREATE TABLE t (id int, v int)", "INSERT INTO t VALUES (1, 0)")
    spec = WriteSpec(target=_target(), mode="merge", keys=("id",))
    duck = duckdb.connect()
    with pytest.raises(WriteRefused, match=r"duplicate keys \(id\): 4 \(2 rows\)"):
        _write(
            pg_db,
            duck,
            "SELECT * FROM (VALUES (1, 1), (2, 2), (3, 3), (4, 4), (4, 5)) v(id, v)",
            spec,
        )
    assert pg_db.rows("SELECT * FROM t") == [(1, 0)]
    counts = _write(pg_db, duck, "SELECT range::INTEGER AS id, 7 AS v FROM range(1, 6)", spec)
    assert (counts.inserted, counts.updated) == (4, 1)


def test_two_keys_sharing_a_hash_merge_as_two_rows(pg_db: PgDatabase) -> None:
    """A repeated hash only makes PostgreSQL look at the keys: distinct keys are merged."""
    pg_db.run("CREATE TABLE t (id int, v int)", "INSERT INTO t VALUES (1, 0)")
    duck = duckdb.connect()
    query = "SELECT * FROM (VALUES (1, 10), (2, 20)) r(id, v)"
    transfers = _map(duck, query)
    spec = WriteSpec(target=_target(), mode="merge", keys=("id",))
    hashes = KeyHashes()
    hashes.add(pa.array([42, 42], pa.uint64()))  # as if DuckDB hashed 1 and 2 alike
    params = SourceParams(dsn=pg_db.dsn, table="unused")
    with connection(params, target_of(params)) as conn, conn.transaction():
        staging = sql.Identifier(_staging(conn, spec, transfers))
        conn.execute(sql.SQL("INSERT INTO {} VALUES (1, 10), (2, 20)").format(staging))
        existing = table_columns(conn, _target()) or []
        inserted = merge_staged(conn, spec, transfers, existing, staging, plain=True, hashes=hashes)
    assert inserted == 1
    assert pg_db.rows("SELECT * FROM t ORDER BY id") == [(1, 10), (2, 20)]


def test_a_merge_with_duplicate_keys_fails_at_its_statement(project, pg_db: PgDatabase) -> None:  # noqa: F811
    pg_db.run(
        "CREATE TABLE analytics_totals (id int, v int)",
        "INSERT INTO analytics_totals VALUES (1, 0)",
    )
    sf = pipeline(
        project,
        "CREATE TABLE totals AS SELECT * FROM (VALUES (1, 1), (1, 2), (2, 3)) v(id, v);\n"
        'EXPORT SELECT * FROM totals TO "warehouse" TYPE POSTGRES\n'
        '  OPTIONS {"table": "analytics_totals", "mode": "merge", "key": ["id"]};\n',
    )
    failed = run(project, "run", sf)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0, out
    assert "pipelines/p.sf:2:1" in out
    assert "duplicate keys (id): 1 (2 rows); a merge needs one row per key" in out
    assert "Traceback" not in out
    assert pg_db.rows("SELECT * FROM analytics_totals") == [(1, 0)]
