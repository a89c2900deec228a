"""Reading PostgreSQL into DuckDB (connectors/postgres/read.py) against the real server: every
mapped type exact, types without a counterpart refused by column, projections, watermarks,
and a backend killed mid-COPY."""

from __future__ import annotations

import threading
import time
from typing import Any

import duckdb
import psycopg
import pytest
from pgserver import PgDatabase

from sqlflowc.connectors.postgres.params import SourceParams, TableName
from sqlflowc.connectors.postgres.read import (
    NoSuchRelation,
    ReadRefused,
    ReadSpec,
    WatermarkFilter,
    open_rows,
)
from sqlflowc.connectors.postgres.session import connection, target_of

# (PostgreSQL type, DuckDB type, [(PostgreSQL literal, DuckDB literal), ...]): each value read
# must equal the DuckDB literal exactly (compared as DuckDB prints them, so -0.0 is not 0.0).
READ_CASES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("smallint", "SMALLINT", [("-32768", "-32768"), ("32767", "32767")]),
    ("integer", "INTEGER", [("-2147483648", "-2147483648"), ("2147483647", "2147483647")]),
    (
        "bigint",
        "BIGINT",
        [
            ("-9223372036854775808", "-9223372036854775808"),
            ("9223372036854775807", "9223372036854775807"),
        ],
    ),
    (
        "numeric(38,10)",
        "DECIMAL(38,10)",
        [
            ("1234567890123456789012345678.0123456789", "1234567890123456789012345678.0123456789"),
            ("-0.0000000001", "-0.0000000001"),
            ("0", "0"),
        ],
    ),
    ("numeric(12,2)", "DECIMAL(12,2)", [("9999999999.99", "9999999999.99"), ("-0.01", "-0.01")]),
    ("numeric(5,-2)", "DECIMAL(7,0)", [("1234500", "1234500")]),
    ("numeric(3,5)", "DECIMAL(5,5)", [("0.00123", "0.00123")]),
    (
        "real",
        "FLOAT",
        [
            ("'NaN'", "'NaN'"),
            ("'Infinity'", "'Infinity'"),
            ("'-Infinity'", "'-Infinity'"),
            ("'-0'", "'-0.0'"),
            ("3.4028235e38", "3.4028235e38"),
            ("1e-45", "1e-45"),
            ("0.1", "0.1"),
        ],
    ),
    (
        "double precision",
        "DOUBLE",
        [
            ("'NaN'", "'NaN'"),
            ("'Infinity'", "'Infinity'"),
            ("'-Infinity'", "'-Infinity'"),
            ("'-0'", "'-0.0'"),
            ("1.7976931348623157e308", "1.7976931348623157e308"),
            ("5e-324", "5e-324"),
            ("0.1", "0.1"),
            ("123456789.12345679", "123456789.12345679"),
        ],
    ),
    (
        "text",
        "VARCHAR",
        [
            ("''", "''"),
            ("'NULL'", "'NULL'"),
            ("'NaN'", "'NaN'"),
            (
                "E'line 1\\nline 2\\r\\nline 3\\n'",
                "'line 1' || chr(10) || 'line 2' || chr(13) || chr(10) || 'line 3' || chr(10)",
            ),
            ("'say \"hi\", it''s'", "'say \"hi\", it''s'"),
            ("E'back\\\\slash \\\\N \\\\.'", "'back\\slash \\N \\.'"),
            ("'\\.'", "'\\.'"),
            ("'  padded  '", "'  padded  '"),
            ("'é 漢字 🎉'", "'é 漢字 🎉'"),
            ("E'tab\\there'", "'tab' || chr(9) || 'here'"),
        ],
    ),
    ("varchar(5)", "VARCHAR", [("'abc'", "'abc'")]),
    ("char(4)", "VARCHAR", [("'ab'", "'ab  '")]),
    ("char(3)[]", "VARCHAR[]", [("ARRAY['a'::char(3), '', NULL]", "['a  ', '   ', NULL]")]),
    ("boolean", "BOOLEAN", [("true", "true"), ("false", "false")]),
    (
        "date",
        "DATE",
        [
            ("'2024-02-29'", "'2024-02-29'"),
            ("'4713-01-01 BC'", "'4713-01-01 (BC)'"),
            ("'0001-12-31 BC'", "'0001-12-31 (BC)'"),
            ("'0001-01-01'", "'0001-01-01'"),
            ("'infinity'", "'infinity'"),
            ("'-infinity'", "'-infinity'"),
            ("'5874897-12-31'", "'5874897-12-31'"),
        ],
    ),
    (
        "timestamp",
        "TIMESTAMP",
        [
            ("'2024-01-01 12:34:56.789012'", "'2024-01-01 12:34:56.789012'"),
            ("'4713-01-01 00:00:00 BC'", "'4713-01-01 (BC) 00:00:00'"),
            ("'0044-03-15 12:30:00.5 BC'", "'0044-03-15 (BC) 12:30:00.5'"),
            ("'infinity'", "'infinity'"),
            ("'-infinity'", "'-infinity'"),
            ("'10000-01-01 00:00:00'", "'10000-01-01 00:00:00'"),
        ],
    ),
    (
        "timestamptz",
        "TIMESTAMP WITH TIME ZONE",
        [
            ("'2024-01-01 12:34:56.789012+05:30'", "'2024-01-01 07:04:56.789012+00'"),
            ("'2024-07-01 00:00:00 America/New_York'", "'2024-07-01 04:00:00+00'"),
            ("'0044-03-15 12:00:00+00 BC'", "'0044-03-15 (BC) 12:00:00+00'"),
            ("'infinity'", "'infinity'"),
            ("'-infinity'", "'-infinity'"),
        ],
    ),
    (
        "time",
        "TIME",
        [
            ("'00:00:00'", "'00:00:00'"),
            ("'23:59:59.999999'", "'23:59:59.999999'"),
            ("'24:00:00'", "'24:00:00'"),
        ],
    ),
    (
        "timetz",
        "TIME WITH TIME ZONE",
        [("'12:34:56.5+05:30'", "'12:34:56.5+05:30'"), ("'00:00:00-11'", "'00:00:00-11'")],
    ),
    (
        "interval",
        "INTERVAL",
        [
            ("'1 year 2 months 3 days 04:05:06.789'", "'1 year 2 months 3 days 04:05:06.789'"),
            ("'-1 year -2 mons +3 days -04:05:06'", "'-1 year -2 months 3 days -04:05:06'"),
            ("'0.000001 seconds'", "'00:00:00.000001'"),
            ("'-7 days'", "'-7 days'"),
            ("'178000000 years'", "'178000000 years'"),
            ("'0'", "'00:00:00'"),
        ],
    ),
    (
        "uuid",
        "UUID",
        [
            ("'00000000-0000-0000-0000-000000000000'", "'00000000-0000-0000-0000-000000000000'"),
            ("'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
        ],
    ),
    (
        "json",
        "JSON",
        [
            (
                '\'{"b": 1,  "a": [1, 2.50, null, "x\\ny"]}\'',
                '\'{"b": 1,  "a": [1, 2.50, null, "x\\ny"]}\'',
            )
        ],
    ),
    (
        "jsonb",
        "JSON",
        [
            ('\'{"b": 1, "a": [1, 2.50]}\'', '\'{"a": [1, 2.50], "b": 1}\''),
            ("'\"text\"'", "'\"text\"'"),
        ],
    ),
    (
        "bytea",
        "BLOB",
        [("'\\x00ff41'", "'\\x00\\xFFA'"), ("''", "''"), ("'\\x0a0d2c22'", "'\\x0A\\x0D,\"'")],
    ),
    ("integer[]", "INTEGER[]", [("'{1,NULL,3}'", "[1, NULL, 3]"), ("'{}'", "[]")]),
    (
        "text[]",
        "VARCHAR[]",
        [
            (
                "ARRAY['a,b', 'c\"d', NULL, 'NULL', '', E'x\\\\y', E'new\\nline']",
                "['a,b', 'c\"d', NULL, 'NULL', '', 'x\\y', 'new' || chr(10) || 'line']",
            )
        ],
    ),
    (
        "date[]",
        "DATE[]",
        [
            (
                "ARRAY['2024-01-01'::date, '0044-03-15 BC', 'infinity', NULL]",
                "['2024-01-01', '0044-03-15 (BC)', 'infinity', NULL]::DATE[]",
            )
        ],
    ),
    (
        "numeric(10,2)[]",
        "DECIMAL(10,2)[]",
        [("'{1.50,-2.25,NULL}'", "[1.50, -2.25, NULL]::DECIMAL(10,2)[]")],
    ),
    (
        "timestamptz[]",
        "TIMESTAMP WITH TIME ZONE[]",
        [
            (
                "ARRAY['2024-01-01 00:00:00+02'::timestamptz]",
                "['2023-12-31 22:00:00+00']::TIMESTAMPTZ[]",
            )
        ],
    ),
    ("mood", "VARCHAR", [("'sad'", "'sad'"), ("'very happy'", "'very happy'")]),
    ("money_amount", "DECIMAL(12,2)", [("12.34", "12.34")]),
    ("inet", "VARCHAR", [("'192.168.0.1/24'", "'192.168.0.1/24'")]),
]


def _table(db: PgDatabase, cases: list[tuple[str, str, list[tuple[str, str]]]]) -> int:
    """Table `t` with a column per case and one row per value (NULLs in the other rows)."""
    db.run(
        "CREATE TYPE mood AS ENUM ('sad', 'very happy')",
        "CREATE DOMAIN money_amount AS numeric(12,2) CHECK (VALUE > 0)",
    )
    columns = ", ".join(f"c{i} {pg_type}" for i, (pg_type, _, _) in enumerate(cases))
    statements = [f"CREATE TABLE t (id serial PRIMARY KEY, {columns})"]
    for i, (_, _, values) in enumerate(cases):
        for pg_literal, _ in values:
            statements.append(f"INSERT INTO t (c{i}) VALUES ({pg_literal})")
        statements.append(f"INSERT INTO t (c{i}) VALUES (NULL)")
    db.run(*statements)
    return sum(len(v) + 1 for _, _, v in cases)


def _read(db: PgDatabase, spec: ReadSpec, into: duckdb.DuckDBPyConnection) -> list[str]:
    """Read `spec` into DuckDB table `r`; the warnings."""
    params = SourceParams(dsn=db.dsn, table="unused")
    with connection(params, target_of(params)) as conn:
        rows = open_rows(conn, spec)
        try:
            into.register("pg", rows.reader)
            into.execute(f"CREATE OR REPLACE TABLE r AS {rows.query('pg')}")
            into.unregister("pg")
        finally:
            rows.close()
        return rows.warnings


def test_every_mapped_type_is_read_exactly(pg_db: PgDatabase) -> None:
    total = _table(pg_db, READ_CASES)
    duck = duckdb.connect()
    warnings = _read(pg_db, ReadSpec(table=TableName("public", "t")), duck)
    assert warnings == []
    assert duck.execute("SELECT count(*) FROM r").fetchall() == [(total,)]
    types = dict(duck.execute("SELECT column_name, column_type FROM (DESCRIBE r)").fetchall())
    problems = []
    for i, (pg_type, duck_type, values) in enumerate(READ_CASES):
        column = f"c{i}"
        if types[column] != duck_type:
            problems.append(f"{pg_type}: read as {types[column]}, expected {duck_type}")
            continue
        got = [
            r[0]
            for r in duck.execute(
                f"SELECT CAST({column} AS VARCHAR) FROM r WHERE {column} IS NOT NULL ORDER BY id"
            ).fetchall()
        ]
        want = [
            duck.execute(f"SELECT CAST(CAST({lit} AS {duck_type}) AS VARCHAR)").fetchall()[0][0]
            for _, lit in values
        ]
        if got != want:
            problems.append(f"{pg_type}: got {got}, expected {want}")
        nulls = duck.execute(f"SELECT count(*) FROM r WHERE {column} IS NULL").fetchall()[0][0]
        if nulls != total - len(values):
            problems.append(f"{pg_type}: {nulls} NULLs, expected {total - len(values)}")
    assert problems == []


def test_null_and_empty_text_stay_apart(pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE t (id int, s text)",
        "INSERT INTO t VALUES (1, NULL), (2, ''), (3, 'NULL'), (4, ' '), (5, '\"\"')",
    )
    duck = duckdb.connect()
    _read(pg_db, ReadSpec(table=TableName("public", "t")), duck)
    assert duck.execute("SELECT id, s, s IS NULL FROM r ORDER BY id").fetchall() == [
        (1, None, True),
        (2, "", False),
        (3, "NULL", False),
        (4, " ", False),
        (5, '""', False),
    ]


@pytest.mark.parametrize(
    ("pg_type", "value", "words"),
    [
        ("money", "12.34", ["c", "money", "::text"]),
        ("int4range", "'[1,5)'", ["c", "range type"]),
        ("pair", "ROW(1, 'a')", ["c", "composite type"]),
    ],
)
def test_types_without_a_counterpart_are_refused_naming_the_column(
    pg_db: PgDatabase, pg_type: str, value: str, words: list[str]
) -> None:
    pg_db.run(
        "CREATE TYPE pair AS (a int, b text)",
        f"CREATE TABLE t (id int, c {pg_type})",
        f"INSERT INTO t VALUES (1, {value})",
    )
    with pytest.raises(ReadRefused) as caught:
        _read(pg_db, ReadSpec(table=TableName("public", "t")), duckdb.connect())
    message = str(caught.value)
    assert 'column "c"' in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("pg_type", "value", "words"),
    [
        ("int[]", "'{{1,2},{3,4}}'", ['column "c"', "multi-dimensional"]),
        ("numeric(12,2)", "'NaN'", ['column "c"', "numeric(12,2)", "NaN"]),
        ("timestamp", "'294270-01-01 00:00:00'", ['column "c"', "timestamp", "294270"]),
        ("numeric", "1e400", ['column "c"', "numeric", "DOUBLE"]),
        ("numeric", "1e-400", ['column "c"', "numeric", "DOUBLE"]),
    ],
)
def test_values_without_a_counterpart_fail_naming_the_column(
    pg_db: PgDatabase, pg_type: str, value: str, words: list[str]
) -> None:
    pg_db.run(
        f"CREATE TABLE t (id int, c {pg_type})",
        f"INSERT INTO t SELECT g, CASE WHEN g = 3 THEN {value}::{pg_type} END "
        "FROM generate_series(1, 5) g",
    )
    duck = duckdb.connect()
    duck.execute("CREATE TABLE r (keep int)")
    with pytest.raises((duckdb.Error, ReadRefused)) as caught:
        _read(pg_db, ReadSpec(table=TableName("public", "t")), duck)
    for word in words:
        assert word in str(caught.value)


def test_numeric_without_precision_reads_as_double_with_a_warning(pg_db: PgDatabase) -> None:
    pg_db.run("CREATE TABLE t (n numeric)", "INSERT INTO t VALUES (1.5), ('NaN'), (NULL), (-0.0)")
    duck = duckdb.connect()
    warnings = _read(pg_db, ReadSpec(table=TableName("public", "t")), duck)
    assert warnings == [
        'column "n": numeric without a precision is read as DOUBLE (about 15 significant digits)'
    ]
    assert duck.execute("SELECT typeof(n), CAST(n AS VARCHAR) FROM r").fetchall() == [
        ("DOUBLE", "1.5"),
        ("DOUBLE", "nan"),
        ("DOUBLE", None),
        ("DOUBLE", "0.0"),
    ]


def test_query_projection_and_watermark_are_pushed_to_postgres(pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE orders (id int, updated_at timestamp, note text)",
        "INSERT INTO orders SELECT g, TIMESTAMP '2024-01-01' + g * INTERVAL '1 day', 'n' || g "
        "FROM generate_series(1, 10) g",
    )
    duck = duckdb.connect()
    spec = ReadSpec(
        table=TableName("public", "orders"),
        columns=["updated_at", "id"],
        watermark=WatermarkFilter("updated_at", "2024-01-08 00:00:00"),
    )
    _read(pg_db, spec, duck)
    assert duck.execute("SELECT * FROM r ORDER BY id").fetchall() == [
        (__import__("datetime").datetime(2024, 1, 9), 8),
        (__import__("datetime").datetime(2024, 1, 10), 9),
        (__import__("datetime").datetime(2024, 1, 11), 10),
    ]
    inclusive = ReadSpec(
        query="SELECT id, updated_at FROM orders WHERE id % 2 = 0;",
        watermark=WatermarkFilter("updated_at", "2024-01-09 00:00:00", inclusive=True),
    )
    _read(pg_db, inclusive, duck)
    assert duck.execute("SELECT id FROM r ORDER BY id").fetchall() == [(8,), (10,)]


def test_a_missing_table_and_a_bad_query_fail_before_any_row(pg_db: PgDatabase) -> None:
    with pytest.raises(NoSuchRelation, match=r'"public\.nope"'):
        _read(pg_db, ReadSpec(table=TableName("public", "nope")), duckdb.connect())
    with pytest.raises(psycopg.errors.UndefinedColumn):
        _read(pg_db, ReadSpec(query="SELECT nope FROM pg_class"), duckdb.connect())
    with pytest.raises(ReadRefused, match="'x'"):
        _read(pg_db, ReadSpec(query="SELECT 1 AS a", columns=["x"]), duckdb.connect())
    with pytest.raises(ReadRefused, match='two columns are named "a"'):
        _read(pg_db, ReadSpec(query="SELECT 1 AS a, 2 AS a"), duckdb.connect())


def test_batches_are_bounded_by_batch_size(pg_db: PgDatabase) -> None:
    pg_db.run(
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS s FROM generate_series(1, 25000) g"
    )
    params = SourceParams(dsn=pg_db.dsn, table="t")
    with connection(params, target_of(params)) as conn:
        rows = open_rows(conn, ReadSpec(table=TableName("public", "t"), batch_size=4096))
        sizes = [b.num_rows for b in rows.reader]
        rows.close()
    assert sum(sizes) == 25000
    assert max(sizes) <= 4096


def test_a_backend_terminated_mid_copy_fails_the_read_and_keeps_the_cause(
    pg_db: PgDatabase,
) -> None:
    pg_db.run(
        "CREATE TABLE t AS SELECT g AS id, repeat(md5(g::text), 8) AS s "
        "FROM generate_series(1, 400000) g"
    )
    params = SourceParams(dsn=pg_db.dsn, table="t")
    duck = duckdb.connect()
    duck.execute("CREATE TABLE r AS SELECT 1 AS kept")
    with connection(params, target_of(params)) as conn:
        rows = open_rows(conn, ReadSpec(table=TableName("public", "t"), batch_size=1000))
        duck.register("pg", rows.reader)
        killer = threading.Thread(target=_terminate_soon, args=(pg_db,))
        killer.start()
        try:
            with pytest.raises(Exception) as caught:
                duck.execute(f"CREATE OR REPLACE TABLE r AS {rows.query('pg')}")
        finally:
            killer.join()
            rows.close()
    assert isinstance(rows.failure, psycopg.errors.AdminShutdown | psycopg.OperationalError)
    assert "terminat" in str(rows.failure) or "connection" in str(rows.failure)
    assert caught.value is not None
    assert duck.execute("SELECT * FROM r").fetchall() == [(1,)]


def _terminate_soon(db: PgDatabase) -> None:
    """Terminate the backend running the read's COPY (its own connection), 0.2 s in."""
    time.sleep(0.2)
    db.rows(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND query LIKE 'COPY (SELECT%%'"
    )


def _unused(*_: Any) -> None:
    pass
