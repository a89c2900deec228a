"""Writing DuckDB rows into PostgreSQL (connectors/postgres/write.py) against the real server:
every type exact, the round trip PostgreSQL → DuckDB → PostgreSQL, the modes and their counts,
and a failure at any point leaving the target as it was."""

from __future__ import annotations

import threading
import time

import duckdb
import psycopg
import pytest
from pgserver import PgDatabase
from test_postgres_read import READ_CASES, _read, _table

from sqlflowc.connectors.postgres.params import SourceParams, TableName
from sqlflowc.connectors.postgres.read import ReadSpec
from sqlflowc.connectors.postgres.session import connection, target_of
from sqlflowc.connectors.postgres.write import WriteCounts, WriteRefused, WriteSpec, write_rows

# (DuckDB type, PostgreSQL type of the created column, [(DuckDB literal, PostgreSQL literal)])
WRITE_CASES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("BOOLEAN", "boolean", [("true", "true"), ("false", "false")]),
    ("TINYINT", "smallint", [("-128", "-128"), ("127", "127")]),
    ("SMALLINT", "smallint", [("-32768", "-32768")]),
    ("UTINYINT", "smallint", [("255", "255")]),
    ("USMALLINT", "integer", [("65535", "65535")]),
    ("INTEGER", "integer", [("-2147483648", "-2147483648")]),
    ("UINTEGER", "bigint", [("4294967295", "4294967295")]),
    ("BIGINT", "bigint", [("9223372036854775807", "9223372036854775807")]),
    ("UBIGINT", "numeric(20,0)", [("18446744073709551615", "18446744073709551615")]),
    (
        "HUGEINT",
        "numeric(39,0)",
        [("-170141183460469231731687303715884105728", "-170141183460469231731687303715884105728")],
    ),
    (
        "DECIMAL(38,10)",
        "numeric(38,10)",
        [("-1234567890123456789012345678.0123456789", "-1234567890123456789012345678.0123456789")],
    ),
    ("DECIMAL(4,4)", "numeric(4,4)", [("0.0001", "0.0001")]),
    (
        "FLOAT",
        "real",
        [
            ("'NaN'", "'NaN'"),
            ("'inf'", "'Infinity'"),
            ("'-0.0'", "'-0'"),
            ("3.4028235e38", "3.4028235e38"),
            ("0.1", "0.1"),
            ("1e-45", "1e-45"),
        ],
    ),
    (
        "DOUBLE",
        "double precision",
        [
            ("'NaN'", "'NaN'"),
            ("'-inf'", "'-Infinity'"),
            ("'-0.0'", "'-0'"),
            ("5e-324", "5e-324"),
            ("0.1", "0.1"),
            ("1.7976931348623157e308", "1.7976931348623157e308"),
        ],
    ),
    (
        "VARCHAR",
        "text",
        [
            ("''", "''"),
            ("'NULL'", "'NULL'"),
            ("'\\.'", "'\\.'"),
            ("'a' || chr(10) || 'b' || chr(13) || chr(10) || 'c'", "E'a\\nb\\r\\nc'"),
            ("'say \"hi\", it''s'", "'say \"hi\", it''s'"),
            ("'back\\slash'", "E'back\\\\slash'"),
            ("'é 漢字 🎉'", "'é 漢字 🎉'"),
            ("'  '", "'  '"),
        ],
    ),
    ("BLOB", "bytea", [("'\\x00\\xFFA'::BLOB", "'\\x00ff41'"), ("''::BLOB", "''")]),
    (
        "DATE",
        "date",
        [
            ("'2024-02-29'", "'2024-02-29'"),
            ("'4713-01-01 (BC)'", "'4713-01-01 BC'"),
            ("'infinity'", "'infinity'"),
            ("'-infinity'", "'-infinity'"),
        ],
    ),
    (
        "TIME",
        "time without time zone",
        [("'24:00:00'", "'24:00:00'"), ("'00:00:00.000001'", "'00:00:00.000001'")],
    ),
    ("TIMETZ", "time with time zone", [("'12:34:56.5+05:30'", "'12:34:56.5+05:30'")]),
    (
        "TIMESTAMP",
        "timestamp without time zone",
        [
            ("'2024-01-01 12:34:56.789012'", "'2024-01-01 12:34:56.789012'"),
            ("'0044-03-15 (BC) 12:30:00'", "'0044-03-15 12:30:00 BC'"),
            ("'infinity'", "'infinity'"),
        ],
    ),
    (
        "TIMESTAMP_MS",
        "timestamp without time zone",
        [("'2024-01-01 12:34:56.789'", "'2024-01-01 12:34:56.789'")],
    ),
    (
        "TIMESTAMPTZ",
        "timestamp with time zone",
        [
            ("'2024-01-01 12:34:56.789012+05:30'", "'2024-01-01 07:04:56.789012+00'"),
            ("'-infinity'", "'-infinity'"),
        ],
    ),
    (
        "INTERVAL",
        "interval",
        [
            (
                "INTERVAL '1 year 2 months -3 days 04:05:06.789'",
                "'1 year 2 mons -3 days +04:05:06.789'",
            ),
            ("INTERVAL '-1 microsecond'", "'-00:00:00.000001'"),
        ],
    ),
    (
        "UUID",
        "uuid",
        [("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'")],
    ),
    (
        "JSON",
        "jsonb",
        [('\'{"b": 1, "a": [1, 2.50, null]}\'', '\'{"a": [1, 2.50, null], "b": 1}\'')],
    ),
    ("INTEGER[]", "integer[]", [("[1, NULL, 3]", "'{1,NULL,3}'"), ("[]", "'{}'")]),
    (
        "VARCHAR[]",
        "text[]",
        [
            (
                "['a,b', 'c\"d', NULL, 'NULL', '', 'x\\y', '{}']",
                "ARRAY['a,b', 'c\"d', NULL, 'NULL', '', E'x\\\\y', '{}']",
            )
        ],
    ),
    (
        "DATE[]",
        "date[]",
        [("['0044-03-15 (BC)', 'infinity']::DATE[]", "ARRAY['0044-03-15 BC'::date, 'infinity']")],
    ),
    ("BLOB[]", "bytea[]", [("['\\x01'::BLOB, NULL]", "ARRAY['\\x01'::bytea, NULL]")]),
    ("STRUCT(a INTEGER, b VARCHAR)", "jsonb", [("{'a': 1, 'b': 'x'}", '\'{"a": 1, "b": "x"}\'')]),
]


def _write(
    db: PgDatabase, duck: duckdb.DuckDBPyConnection, query: str, spec: WriteSpec
) -> WriteCounts:
    params = SourceParams(dsn=db.dsn, table="unused")
    with connection(params, target_of(params)) as conn:
        return write_rows(conn, duck, query, spec)


def _target(name: str = "t") -> TableName:
    return TableName("public", name)


def test_every_duckdb_type_is_written_exactly(pg_db: PgDatabase) -> None:
    duck = duckdb.connect()
    columns = ", ".join(f"c{i} {t}" for i, (t, _, _) in enumerate(WRITE_CASES))
    duck.execute(f"CREATE TABLE src (id INTEGER, {columns})")
    n = 0
    for i, (duck_type, _, values) in enumerate(WRITE_CASES):
        for lit, _ in values:
            n += 1
            duck.execute(f"INSERT INTO src (id, c{i}) VALUES ({n}, CAST({lit} AS {duck_type}))")
        n += 1
        duck.execute(f"INSERT INTO src (id) VALUES ({n})")
    counts = _write(pg_db, duck, "SELECT * FROM src", WriteSpec(target=_target()))
    assert counts == WriteCounts(n, n, 0, True)
    types = dict(
        pg_db.rows(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 't'::regclass AND attnum > 0"
        )
    )
    problems = []
    for i, (duck_type, pg_type, values) in enumerate(WRITE_CASES):
        column = f"c{i}"
        if types[column] != pg_type:
            problems.append(f"{duck_type}: created as {types[column]}, expected {pg_type}")
            continue
        got = [
            r[0]
            for r in pg_db.rows(
                f"SELECT {column}::text FROM t WHERE {column} IS NOT NULL ORDER BY id"
            )
        ]
        want = [
            pg_db.rows(f"SET TimeZone = 'UTC'; SELECT ({lit})::{pg_type}::text")[0][0]
            if False
            else _pg_text(pg_db, lit, pg_type)
            for _, lit in values
        ]
        if got != want:
            problems.append(f"{duck_type}: got {got}, expected {want}")
        nulls = pg_db.rows(f"SELECT count(*) FROM t WHERE {column} IS NULL")[0][0]
        if nulls != n - len(values):
            problems.append(f"{duck_type}: {nulls} NULLs, expected {n - len(values)}")
    assert problems == []


def _pg_text(db: PgDatabase, literal: str, pg_type: str) -> str:
    with db.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        row = conn.execute(f"SELECT (({literal})::{pg_type})::text").fetchone()  # type: ignore[arg-type]
        assert row is not None
        return str(row[0])


def test_postgres_to_duckdb_to_postgres_round_trips_every_type(pg_db: PgDatabase) -> None:
    _table(pg_db, READ_CASES)
    pg_db.run("CREATE TABLE back (LIKE t)")
    duck = duckdb.connect()
    _read(pg_db, ReadSpec(table=_target()), duck)
    counts = _write(
        pg_db, duck, "SELECT * FROM r", WriteSpec(target=_target("back"), mode="append")
    )
    total = pg_db.rows("SELECT count(*) FROM t")[0][0]
    assert counts.inserted == total
    columns = ", ".join(f"c{i}::text" for i in range(len(READ_CASES)))
    differ = pg_db.rows(
        f"(SELECT id, {columns} FROM t EXCEPT SELECT id, {columns} FROM back) UNION ALL "
        f"(SELECT id, {columns} FROM back EXCEPT SELECT id, {columns} FROM t)"
    )
    assert differ == []


def test_replace_keeps_a_table_of_the_same_shape_and_rebuilds_another(pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO t VALUES (1, 'old'), (2, 'older')",
        "CREATE INDEX t_name ON t (name)",
    )
    duck = duckdb.connect()
    counts = _write(
        pg_db, duck, "SELECT 7::INTEGER AS id, 'new' AS name", WriteSpec(target=_target())
    )
    assert counts == WriteCounts(1, 1, 0, False)
    assert pg_db.rows("SELECT * FROM t") == [(7, "new")]
    assert pg_db.rows("SELECT indexname FROM pg_indexes WHERE tablename = 't' ORDER BY 1") == [
        ("t_name",),
        ("t_pkey",),
    ]
    counts = _write(
        pg_db, duck, "SELECT 'x' AS code, 1.5::DOUBLE AS v", WriteSpec(target=_target())
    )
    assert counts == WriteCounts(1, 1, 0, True)
    assert pg_db.rows("SELECT code, v FROM t") == [("x", 1.5)]


def test_append_checks_columns_like_a_local_load(pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE t (id bigint NOT NULL, amount numeric(12,2), note text DEFAULT 'none')",
        "INSERT INTO t VALUES (1, 1.50, 'first')",
    )
    duck = duckdb.connect()
    counts = _write(
        pg_db,
        duck,
        "SELECT 2::INTEGER AS id, 2.25::DECIMAL(10,2) AS amount",
        WriteSpec(target=_target(), mode="append"),
    )
    assert counts == WriteCounts(1, 1, 0, False)
    assert pg_db.rows("SELECT * FROM t ORDER BY id") == [
        (1, __import__("decimal").Decimal("1.50"), "first"),
        (2, __import__("decimal").Decimal("2.25"), "none"),
    ]
    for query, words in [
        ("SELECT 3 AS id, 1.0::DOUBLE AS amount", ["amount", "DOUBLE", "DECIMAL(12,2)"]),
        ("SELECT 3 AS id, 'x' AS extra", ["extra", "no column"]),
        ("SELECT 1.5::DECIMAL(12,2) AS amount", ["id", "NOT NULL"]),
    ]:
        with pytest.raises(WriteRefused) as caught:
            _write(pg_db, duck, query, WriteSpec(target=_target(), mode="append"))
        for word in words:
            assert word in caught.value.message
    assert pg_db.rows("SELECT count(*) FROM t") == [(2,)]
    counts = _write(
        pg_db,
        duck,
        "SELECT 3 AS id, 'x' AS extra",
        WriteSpec(target=_target(), mode="append", policy="evolve"),
    )
    assert pg_db.rows("SELECT id, extra FROM t ORDER BY id") == [(1, None), (2, None), (3, "x")]


def test_merge_updates_matched_rows_inserts_the_rest_and_counts_exactly(pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE t (day date, region text, sales int, note text)",
        "INSERT INTO t VALUES ('2024-01-01', 'eu', 1, 'keep'), ('2024-01-01', 'us', 2, 'keep')",
    )
    duck = duckdb.connect()
    query = (
        "SELECT * FROM (VALUES (DATE '2024-01-01', 'eu', 10), (DATE '2024-01-02', 'eu', 20)) "
        "v(day, region, sales)"
    )
    spec = WriteSpec(target=_target(), mode="merge", keys=("day", "region"))
    assert _write(pg_db, duck, query, spec) == WriteCounts(2, 1, 1, False)
    assert pg_db.rows("SELECT day::text, region, sales, note FROM t ORDER BY day, region") == [
        ("2024-01-01", "eu", 10, "keep"),
        ("2024-01-01", "us", 2, "keep"),
        ("2024-01-02", "eu", 20, None),
    ]
    assert _write(pg_db, duck, query, spec) == WriteCounts(2, 0, 2, False)
    new = _write(
        pg_db, duck, query, WriteSpec(target=_target("fresh"), mode="merge", keys=("day", "region"))
    )
    assert new == WriteCounts(2, 2, 0, True)


@pytest.mark.parametrize("table", ["plain", "partitioned", "uncounted"])
def test_merge_counts_exactly_however_postgres_merges(pg_db: PgDatabase, table: str) -> None:
    """A plain table is merged by MERGE INTO (its counts read from the transaction's counters);
    a partitioned one, or one whose counters are off, by UPDATE ... RETURNING + INSERT."""
    if table == "partitioned":
        pg_db.run(
            "CREATE TABLE t (id int, region text, v int) PARTITION BY LIST (region)",
            "CREATE TABLE t_eu PARTITION OF t FOR VALUES IN ('eu')",
            "CREATE TABLE t_us PARTITION OF t FOR VALUES IN ('us')",
        )
    else:
        pg_db.run("CREATE TABLE t (id int, region text, v int)")
    if table == "uncounted":
        pg_db.run(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET track_counts = off', "
            "current_database()); END $$"
        )
    pg_db.run(
        "INSERT INTO t SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, 0 "
        "FROM generate_series(1, 10) g"
    )
    duck = duckdb.connect()
    # 6..10 exist and are updated, each into the other region (partition); 11..15 are new
    query = (
        "SELECT g::INTEGER AS id, CASE WHEN g % 2 = 0 THEN 'us' ELSE 'eu' END AS region, "
        "g::INTEGER AS v "
        "FROM range(6, 16) r(g)"
    )
    spec = WriteSpec(target=_target(), mode="merge", keys=("id",))
    assert _write(pg_db, duck, query, spec) == WriteCounts(10, 5, 5, False)
    assert pg_db.rows("SELECT count(*), sum(v) FROM t") == [(15, sum(range(6, 16)))]
    assert _write(pg_db, duck, query, spec) == WriteCounts(10, 0, 10, False)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (
            "SELECT * FROM (VALUES (1, 'a'), (1, 'b'), (2, 'c')) v(id, s)",
            ["duplicate keys", "1 (2 rows)"],
        ),
        ("SELECT * FROM (VALUES (1, 'a'), (NULL, 'b')) v(id, s)", ["NULL key", "NULL"]),
    ],
)
def test_merge_refuses_null_and_duplicate_keys_and_writes_nothing(
    pg_db: PgDatabase, query: str, words: list[str]
) -> None:
    pg_db.run("CREATE TABLE t (id int, s text)", "INSERT INTO t VALUES (1, 'old')")
    with pytest.raises(WriteRefused) as caught:
        _write(
            pg_db, duckdb.connect(), query, WriteSpec(target=_target(), mode="merge", keys=("id",))
        )
    for word in words:
        assert word in caught.value.message
    assert pg_db.rows("SELECT * FROM t") == [(1, "old")]


def test_fail_mode_only_creates(pg_db: PgDatabase) -> None:
    duck = duckdb.connect()
    assert _write(
        pg_db, duck, "SELECT 1 AS a", WriteSpec(target=TableName("analytics", "daily"), mode="fail")
    ).created
    assert pg_db.rows("SELECT a FROM analytics.daily") == [(1,)]
    with pytest.raises(WriteRefused, match="already exists"):
        _write(
            pg_db,
            duck,
            "SELECT 2 AS a",
            WriteSpec(target=TableName("analytics", "daily"), mode="fail"),
        )


def test_views_and_unwritable_types_are_refused(pg_db: PgDatabase) -> None:
    pg_db.run("CREATE VIEW v AS SELECT 1 AS a")
    duck = duckdb.connect()
    with pytest.raises(WriteRefused, match="is a view"):
        _write(pg_db, duck, "SELECT 1 AS a", WriteSpec(target=_target("v")))
    with pytest.raises(WriteRefused, match=r'column "ns".*TIMESTAMP_NS'):
        _write(
            pg_db,
            duck,
            "SELECT TIMESTAMP_NS '2024-01-01 00:00:00.000000001' AS ns",
            WriteSpec(target=_target()),
        )
    with pytest.raises(WriteRefused, match='"a"'):
        _write(pg_db, duck, "SELECT 1 AS a, 2 AS a", WriteSpec(target=_target()))


def test_a_failing_query_or_a_bad_value_leaves_the_target_as_it_was(pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE t (id int PRIMARY KEY, v varchar(3))", "INSERT INTO t VALUES (1, 'old')"
    )
    duck = duckdb.connect()
    duck.execute("CREATE TABLE src AS SELECT range::INTEGER AS id, 'ok' AS v FROM range(2, 200000)")
    failing = "SELECT id, CASE WHEN id = 150000 THEN error('boom') ELSE v END AS v FROM src"
    for mode in ("replace", "append"):
        with pytest.raises(duckdb.Error, match="boom"):
            _write(pg_db, duck, failing, WriteSpec(target=_target(), mode=mode))  # type: ignore[arg-type]
        assert pg_db.rows("SELECT * FROM t") == [(1, "old")]
    with pytest.raises(psycopg.errors.StringDataRightTruncation):
        _write(
            pg_db,
            duck,
            "SELECT id, 'toolong' AS v FROM src",
            WriteSpec(target=_target(), mode="append"),
        )
    with pytest.raises(psycopg.errors.UniqueViolation):
        _write(
            pg_db, duck, "SELECT 1 AS id, 'dup' AS v", WriteSpec(target=_target(), mode="append")
        )
    assert pg_db.rows("SELECT * FROM t") == [(1, "old")]


def test_a_backend_terminated_mid_copy_leaves_the_target_as_it_was(pg_db: PgDatabase) -> None:
    pg_db.run("CREATE TABLE t (id bigint, s text)", "INSERT INTO t VALUES (1, 'old')")
    duck = duckdb.connect()
    duck.execute(
        "CREATE TABLE src AS SELECT range AS id, repeat('x', 200) AS s FROM range(2, 1500000)"
    )
    params = SourceParams(dsn=pg_db.dsn, table="unused")
    for mode in ("replace", "append"):
        with connection(params, target_of(params)) as conn:
            killer = threading.Thread(target=_terminate_soon, args=(pg_db, conn.info.backend_pid))
            killer.start()
            try:
                with pytest.raises(psycopg.OperationalError):
                    write_rows(
                        conn, duck, "SELECT * FROM src", WriteSpec(target=_target(), mode=mode)
                    )  # type: ignore[arg-type]
            finally:
                killer.join()
        assert pg_db.rows("SELECT * FROM t") == [(1, "old")]


def _terminate_soon(db: PgDatabase, pid: int) -> None:
    time.sleep(0.3)
    db.rows("SELECT pg_terminate_backend(%s)", [pid])


def test_a_nul_character_is_refused_naming_the_column(pg_db: PgDatabase) -> None:
    pg_db.run("CREATE TABLE t (id int, ok text, bad text)", "INSERT INTO t VALUES (0, 'old', '')")
    duck = duckdb.connect()
    duck.execute("CREATE TABLE src AS SELECT 1 AS id, 'fine' AS ok, 'a' || chr(0) || 'b' AS bad")
    with pytest.raises(WriteRefused) as caught:
        _write(pg_db, duck, "SELECT * FROM src", WriteSpec(target=_target(), mode="append"))
    assert caught.value.message.startswith('column "bad": a value holds the NUL character')
    assert pg_db.rows("SELECT * FROM t") == [(0, "old", "")]
